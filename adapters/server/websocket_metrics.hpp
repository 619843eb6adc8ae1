// The WebSocket chat's own counters, made with its route so that /metrics
// lists each at 0 from the start: "alert on any increase" then sees the
// first refusal or protocol error too, not only the second.
#pragma once

#include "adapters/server/metrics.hpp"

namespace backtalk::server {

struct WebSocketMetrics {
    explicit WebSocketMetrics(MetricsRegistry& registry);

    Counter& refused_origin;
    Counter& log_pauses;
    Counter& oversize;
    Counter& protocol_errors;
    Counter& slow;
};

}  // namespace backtalk::server
