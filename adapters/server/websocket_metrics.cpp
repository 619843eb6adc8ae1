#include "adapters/server/websocket_metrics.hpp"

namespace backtalk::server {

WebSocketMetrics::WebSocketMetrics(MetricsRegistry& registry)
    : refused_origin(registry.counter("backtalk_websocket_refused_total", "WebSocket upgrades refused, by reason",
                                      {{"reason", "origin"}})),
      log_pauses(registry.counter("backtalk_websocket_log_pauses_total",
                                  "2 ms pauses before reading a chat's next message while the log writer was behind")),
      oversize(registry.counter("backtalk_websocket_oversize_total",
                                "WebSockets closed with 1009 for an oversized message")),
      protocol_errors(registry.counter("backtalk_websocket_protocol_errors_total",
                                       "WebSockets closed for breaking the protocol (1002, 1007)")),
      slow(registry.counter("backtalk_websocket_slow_total", "WebSockets closed because the outbound queue was full")) {}

}  // namespace backtalk::server
