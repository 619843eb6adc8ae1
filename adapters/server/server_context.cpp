#include "adapters/server/server_context.hpp"

#include "adapters/server/http_types.hpp"

#include <algorithm>
#include <stdexcept>

namespace backtalk::server {

ServerContext::ServerContext(ServerOptions server_options)
    : options(std::move(server_options)),
      csp(content_security_policy(options.frame_ancestors)),
      limits(std::make_shared<ConnectionLimits>(options.max_connections,
                                                options.max_connections_per_address)),
      open_http_connections(metrics.gauge("backtalk_open_connections", "Open client connections",
                                          {{"kind", "http"}})),
      open_websockets(metrics.gauge("backtalk_open_connections", "Open client connections",
                                    {{"kind", "websocket"}})),
      refused_over_limit(metrics.counter("backtalk_connections_refused_total",
                                         "Connections refused with 503 because a cap was reached")),
      accept_errors(metrics.counter("backtalk_accept_errors_total", "Failed accepts (e.g. out of descriptors)")),
      http_timeouts(metrics.counter("backtalk_http_timeouts_total",
                                    "HTTP connections closed for not finishing a request in time")) {
    for (const http::status status : {http::status::internal_server_error, http::status::service_unavailable}) {
        http_responses(static_cast<unsigned>(status));
    }
}

Counter& ServerContext::http_responses(unsigned status) {
    return metrics.counter("backtalk_http_responses_total", "HTTP responses by status code",
                           {{"code", std::to_string(status)}});
}

bool ServerContext::origin_allowed(std::string_view origin) const {
    std::string normalised;
    try {
        normalised = normalise_origin(origin);
    } catch (const std::invalid_argument&) {
        return false;  // "null" or garbage: not a web origin we can allow
    }
    return std::any_of(allowed_origins.begin(), allowed_origins.end(), [&](const std::string& allowed) {
        return allowed == "*" || allowed == normalised;
    });
}

}  // namespace backtalk::server
