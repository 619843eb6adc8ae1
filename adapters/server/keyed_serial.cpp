#include "adapters/server/keyed_serial.hpp"

#include "adapters/server/log.hpp"

#include <atomic>
#include <exception>
#include <memory>

namespace backtalk::server {

namespace {

// Where a job stands, between the runner's thread and the one finishing it.
enum : int { running = 0, finished_inline = 1, returned_unfinished = 2, finished_later = 3 };

}  // namespace

void KeyedSerialRunner::run(const std::string& key, Job job) {
    run_async(key, [job = std::move(job)](const Finished& finished) {
        try {
            job();
        } catch (...) {
            finished();
            throw;
        }
        finished();
    });
}

void KeyedSerialRunner::run_async(const std::string& key, AsyncJob job) {
    {
        std::lock_guard lock(mutex_);
        auto [entry, idle] = waiting_.try_emplace(key);
        if (!idle) {
            entry->second.push_back(std::move(job));
            return;
        }
    }
    drive(key, std::move(job));
}

void KeyedSerialRunner::drive(const std::string& key, AsyncJob job) {
    // A loop rather than recursion for jobs that finish at once: a key with
    // thousands queued must not take as many stack frames.
    for (;;) {
        auto state = std::make_shared<std::atomic<int>>(running);
        Finished finished = [this, key, state] {
            int expected = running;
            if (state->compare_exchange_strong(expected, finished_inline)) return;
            expected = returned_unfinished;
            if (!state->compare_exchange_strong(expected, finished_later)) return;  // called twice
            if (auto next = take_next(key)) drive(key, std::move(*next));
        };
        try {
            job(finished);
        } catch (const std::exception& error) {
            log(LogLevel::error, "channel job failed", {{"error", error.what()}});
            int expected = running;
            state->compare_exchange_strong(expected, finished_inline);
        }
        int expected = running;
        if (state->compare_exchange_strong(expected, returned_unfinished)) return;  // it goes on when finished
        auto next = take_next(key);
        if (!next) return;
        job = std::move(*next);
    }
}

std::optional<KeyedSerialRunner::AsyncJob> KeyedSerialRunner::take_next(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto entry = waiting_.find(key);
    if (entry->second.empty()) {
        waiting_.erase(entry);
        return std::nullopt;
    }
    AsyncJob job = std::move(entry->second.front());
    entry->second.pop_front();
    return job;
}

std::size_t KeyedSerialRunner::busy_keys() const {
    std::lock_guard lock(mutex_);
    return waiting_.size();
}

}  // namespace backtalk::server
