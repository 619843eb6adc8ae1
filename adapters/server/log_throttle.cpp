#include "adapters/server/log_throttle.hpp"

namespace backtalk::server {

std::optional<std::uint64_t> LogThrottle::admit(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (last_written_ && now - *last_written_ < interval_) {
        ++held_back_;
        return std::nullopt;
    }
    last_written_ = now;
    const std::uint64_t held_back = held_back_;
    held_back_ = 0;
    return held_back;
}

}  // namespace backtalk::server
