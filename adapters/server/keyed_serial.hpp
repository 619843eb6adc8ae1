// Runs jobs one at a time per key, in the order they were submitted, without
// ever making a thread wait for another: a job whose key is busy is queued,
// and the thread running that key's current job runs it next. Telegram uses
// a chat as the key (one chat's updates in order), REST a session.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace backtalk::server {

class KeyedSerialRunner {
public:
    using Job = std::function<void()>;

    // Runs `job` now on this thread if no job of `key` is running, else
    // queues it. Jobs must not throw; one that does is logged and dropped.
    void run(const std::string& key, Job job);

    // Keys with a job running or queued.
    std::size_t busy_keys() const;

private:
    mutable std::mutex mutex_;
    // A key is present while one of its jobs runs; the deque holds the rest.
    std::unordered_map<std::string, std::deque<Job>> waiting_;
};

}  // namespace backtalk::server
