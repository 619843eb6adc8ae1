// One log line per interval for an event that can come in floods (a
// misconfigured site refused on every page view), with a count of the
// lines held back, so the journal shows the problem without filling up.
// Safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace backtalk::server {

class LogThrottle {
public:
    using Clock = std::chrono::steady_clock;

    explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

    // When a line may be written at `now`: how many were held back since the
    // last one written. Empty: hold this one back too.
    std::optional<std::uint64_t> admit(Clock::time_point now);

private:
    const Clock::duration interval_;
    std::mutex mutex_;
    std::optional<Clock::time_point> last_written_;
    std::uint64_t held_back_ = 0;
};

}  // namespace backtalk::server
