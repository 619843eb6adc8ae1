// `backtalk serve --retention-days N`: conversations last active more than
// N days ago are purged from the log (messages, session snapshots, channel
// bindings), once at start and then every `interval`, on a thread of its own
// so that a slow purge never holds up a network thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace backtalk::store {
class Store;
}

namespace backtalk {

struct RetentionOptions {
    std::chrono::hours keep{0};  // how long after its last activity a conversation is kept
    std::chrono::milliseconds interval{std::chrono::hours(1)};
};

// What one purge did: conversations removed, or why it failed.
struct RetentionReport {
    bool ok = true;
    std::size_t removed = 0;
    std::string error;
};

class RetentionSweeper {
public:
    // Starts sweeping `store`. `now_ms` is the wall clock (milliseconds since
    // the epoch); `report` is called on the sweeper's thread after each purge.
    RetentionSweeper(store::Store& store, RetentionOptions options, std::function<std::int64_t()> now_ms,
                     std::function<void(const RetentionReport&)> report);
    ~RetentionSweeper();  // stops; waits for a purge in progress
    RetentionSweeper(const RetentionSweeper&) = delete;
    RetentionSweeper& operator=(const RetentionSweeper&) = delete;

private:
    void run();

    store::Store& store_;
    const RetentionOptions options_;
    const std::function<std::int64_t()> now_ms_;
    const std::function<void(const RetentionReport&)> report_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace backtalk
