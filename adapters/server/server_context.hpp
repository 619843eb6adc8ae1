// What the listener, the sessions and the route modules share: the options,
// the routes, the metrics, the connection caps and the open sessions. Made
// by the Server; everything it holds is safe to use from any thread once
// run() has started (the routes and origins are only read from then on).
#pragma once

#include "adapters/server/connection_limits.hpp"
#include "adapters/server/metrics.hpp"
#include "adapters/server/router.hpp"
#include "adapters/server/server_options.hpp"
#include "adapters/server/session_registry.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::server {

struct ServerContext {
    explicit ServerContext(ServerOptions server_options);

    // True for an allowed Origin header value; compares normalised.
    bool origin_allowed(std::string_view origin) const;

    const ServerOptions options;
    std::vector<std::string> allowed_origins;  // normalised; set by Server::listen()
    const std::string csp;
    Router router;
    MetricsRegistry metrics;
    const std::shared_ptr<ConnectionLimits> limits;
    SessionRegistry sessions;

    // Every metric family the server itself keeps is made here, so /metrics
    // lists it at 0 from the start and "alert on any increase" sees the
    // first event too.
    Gauge& open_http_connections;
    Gauge& open_websockets;
    Counter& refused_over_limit;
    Counter& accept_errors;
    Counter& http_timeouts;

    // Responses by status code: the 5xx codes the server sends exist from
    // the start (they are the ones to alert on), others on first use.
    Counter& http_responses(unsigned status);
};

}  // namespace backtalk::server
