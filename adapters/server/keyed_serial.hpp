// Runs jobs one at a time per key, in the order they were submitted, without
// ever making a thread wait for another: a job whose key is busy is queued,
// and the thread that finishes that key's current job runs it next. Telegram
// uses a chat as the key (one chat's updates in order), REST a session.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace backtalk::server {

class KeyedSerialRunner {
public:
    using Job = std::function<void()>;
    // Call once when the job is done, from any thread: a job that answers
    // later (its turn waits for the store's reader thread) holds its key
    // until then.
    using Finished = std::function<void()>;
    using AsyncJob = std::function<void(Finished)>;

    // Runs `job` now on this thread if no job of `key` is running, else
    // queues it. Jobs must not throw; one that does is logged and dropped.
    void run(const std::string& key, Job job);
    // The same for a job that is done when it calls its Finished (one that
    // throws before calling it counts as done). The runner must outlive it.
    void run_async(const std::string& key, AsyncJob job);

    // Keys with a job running or queued.
    std::size_t busy_keys() const;

private:
    // Runs `job` and those queued behind it while they finish before
    // returning; one that finishes later goes on from its own thread.
    void drive(const std::string& key, AsyncJob job);
    // The key's next job, or nothing (and the key is idle).
    std::optional<AsyncJob> take_next(const std::string& key);

    mutable std::mutex mutex_;
    // A key is present while one of its jobs runs; the deque holds the rest.
    std::unordered_map<std::string, std::deque<AsyncJob>> waiting_;
};

}  // namespace backtalk::server
