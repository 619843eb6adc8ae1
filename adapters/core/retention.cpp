#include "adapters/core/retention.hpp"

#include "store/store.hpp"

#include <exception>
#include <pthread.h>
#include <stdexcept>

namespace backtalk {

RetentionSweeper::RetentionSweeper(store::Store& store, RetentionOptions options,
                                   std::function<std::int64_t()> now_ms,
                                   std::function<void(const RetentionReport&)> report)
    : store_(store), options_(options), now_ms_(std::move(now_ms)), report_(std::move(report)) {
    if (options_.keep.count() <= 0) throw std::invalid_argument("retention must keep conversations for some time");
    if (options_.interval.count() <= 0) throw std::invalid_argument("retention needs an interval");
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "backtalk-retain");
        run();
    });
}

RetentionSweeper::~RetentionSweeper() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void RetentionSweeper::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        RetentionReport result;
        try {
            const auto keep_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.keep).count();
            result.removed = store_.purge_before(now_ms_() - keep_ms);
        } catch (const std::exception& error) {
            // The database is failing; the next round tries again.
            result.ok = false;
            result.error = error.what();
        }
        report_(result);
        lock.lock();
        wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
    }
}

}  // namespace backtalk
