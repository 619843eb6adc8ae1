#include "adapters/server/keyed_serial.hpp"

#include "adapters/server/log.hpp"

#include <exception>

namespace backtalk::server {

void KeyedSerialRunner::run(const std::string& key, Job job) {
    {
        std::lock_guard lock(mutex_);
        auto [entry, idle] = waiting_.try_emplace(key);
        if (!idle) {
            entry->second.push_back(std::move(job));
            return;
        }
    }
    for (;;) {
        try {
            job();
        } catch (const std::exception& error) {
            log(LogLevel::error, "channel job failed", {{"error", error.what()}});
        }
        std::lock_guard lock(mutex_);
        auto entry = waiting_.find(key);
        if (entry->second.empty()) {
            waiting_.erase(entry);
            return;
        }
        job = std::move(entry->second.front());
        entry->second.pop_front();
    }
}

std::size_t KeyedSerialRunner::busy_keys() const {
    std::lock_guard lock(mutex_);
    return waiting_.size();
}

}  // namespace backtalk::server
