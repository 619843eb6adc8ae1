// The store's reader thread: work that reads the store and may wait on it
// (a session read back after the conversation left memory) runs here, in the
// order it was posted, never on a network thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

namespace backtalk::store::detail {

class SessionReader {
public:
    // `report`: a line for the operator when a job throws.
    explicit SessionReader(std::function<void(std::string_view)> report);
    ~SessionReader();  // stop()
    SessionReader(const SessionReader&) = delete;
    SessionReader& operator=(const SessionReader&) = delete;

    // Queues `job`; jobs run one at a time in the order posted. Jobs answer
    // their own callers and should not throw; one that does is reported.
    // False once stopped: the job is not run.
    bool post(std::function<void()> job);
    // Runs every job posted so far, then stops the thread. Idempotent.
    void stop();

private:
    void run();

    std::function<void(std::string_view)> report_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace backtalk::store::detail
