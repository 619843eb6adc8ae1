// The conversation figures every channel reports the same way: turns, turn
// latency, errors by code and outcomes by triage level.
#pragma once

#include "adapters/core/conversations.hpp"
#include "adapters/server/metrics.hpp"
#include "bot/reply.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::server {

class TurnMetrics {
public:
    TurnMetrics(MetricsRegistry& registry, std::string channel);

    // One client object handled in `latency`. `last_outcome` is the level
    // this conversation was last counted with, so an outcome repeated on a
    // later reply is counted once.
    void record_turn(const std::vector<OutObject>& objects, std::chrono::nanoseconds latency,
                     std::optional<Level>& last_outcome);
    // An error the channel produced itself (rate_limited, bad_json for a
    // binary frame).
    void count_error(std::string_view code);

private:
    Counter& outcomes(Level level);
    Counter& errors(std::string_view code);

    MetricsRegistry& registry_;
    std::string channel_;
    Counter& turns_;
    Histogram& latency_;
};

}  // namespace backtalk::server
