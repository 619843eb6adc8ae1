// One outbound HTTP POST on a fresh connection, as a coroutine: resolve,
// connect, TLS (verified against the system's trust store and the host
// name) when the endpoint is https, write, read the answer. Used by the Bot
// API client and the emergency alerts; each runs it on an io_context of its
// own, never on a network thread of the server.
#pragma once

#include "adapters/server/bot_api_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace backtalk::server {

// A transport error, or the status, body and Retry-After of the answer.
struct HttpExchange {
    boost::system::error_code error;
    unsigned status = 0;
    std::string body;
    std::string retry_after_header;
};

struct HttpPost {
    std::string target;  // path (and query) on the endpoint
    std::vector<std::pair<std::string, std::string>> headers;  // besides Host, User-Agent, Content-Type
    std::string body;    // sent as application/json
};

// Everything passed must outlive the call (co_await it at once, with named
// arguments: GCC 12 can destroy a temporary in a co_await expression
// twice). `tls` is only used for an https endpoint.
boost::asio::awaitable<HttpExchange> http_post(const BotApiEndpoint& endpoint, const HttpPost& post,
                                               std::chrono::seconds timeout, boost::asio::ssl::context& tls);

}  // namespace backtalk::server
