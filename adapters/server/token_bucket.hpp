// The per-connection message rate limit: a token bucket refilled at `rate`
// tokens per second up to `burst`. The caller passes the time, so tests need
// no clock.
#pragma once

#include <algorithm>
#include <chrono>

namespace backtalk::server {

class TokenBucket {
public:
    using Clock = std::chrono::steady_clock;

    TokenBucket(double rate_per_second, double burst, Clock::time_point now)
        : rate_(rate_per_second), burst_(burst), tokens_(burst), last_(now) {}

    // Takes one token if there is one.
    bool try_take(Clock::time_point now) {
        const std::chrono::duration<double> elapsed = now - last_;
        if (elapsed.count() > 0) {
            tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
            last_ = now;
        }
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

private:
    double rate_;
    double burst_;
    double tokens_;
    Clock::time_point last_;
};

}  // namespace backtalk::server
