// The route table. Route modules (the gateway, REST, Telegram, admin) each
// register their handlers at startup; the HTTP session only looks them up,
// so a new module never touches the session classes.
//
//   router.add(http::verb::get, "/healthz", [](const Request& r, const RequestContext&) {
//       return make_response(r, http::status::ok, "{}", "application/json"); });
//   router.add_async(http::verb::post, "/api/v1/chat", handler);  // respond() later
//   router.add(http::verb::get, "/api/v1/conversations/*", handler);  // a prefix
//
// HEAD is answered by the GET handler without a body unless a HEAD route is
// registered. Security headers are added to every response by the server.
#pragma once

#include "adapters/server/connection_limits.hpp"
#include "adapters/server/http_types.hpp"

#include <boost/beast/core/tcp_stream.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::server {

class Router {
public:
    using Handler = std::function<Response(const Request&, const RequestContext&)>;
    using AsyncHandler = std::function<void(const Request&, const RequestContext&, Respond)>;

    struct WebSocketRoute {
        // A refusal (403, 503...) or nothing to accept the upgrade.
        std::function<std::optional<Response>(const Request&, const RequestContext&)> admit;
        // Takes over the connection: its socket, the upgrade request and its
        // lease on the connection limits. Called on the connection's strand.
        std::function<void(boost::beast::tcp_stream, Request, ConnectionLease, RequestContext)> open;
    };

    // `path` is exact, or a prefix when it ends in "/*". Throws
    // std::logic_error when the method and path are taken already.
    void add(http::verb method, std::string path, Handler handler);
    void add_async(http::verb method, std::string path, AsyncHandler handler);
    void add_websocket(std::string path, WebSocketRoute route);
    // Drops every route. The server calls it when it is done, since handlers
    // often hold what holds the router.
    void clear();

    struct Match {
        const AsyncHandler* handler = nullptr;  // null: no route for this method
        bool strip_body = false;                // HEAD served by a GET handler
        std::string allow;                      // methods the path does take, for 405
    };
    Match find(http::verb method, std::string_view path) const;
    const WebSocketRoute* find_websocket(std::string_view path) const;

private:
    struct PathRoutes {
        std::map<http::verb, AsyncHandler> by_method;
    };
    const PathRoutes* find_path(std::string_view path) const;

    std::map<std::string, PathRoutes, std::less<>> exact_;
    std::vector<std::pair<std::string, PathRoutes>> prefixes_;  // longest first
    std::map<std::string, WebSocketRoute, std::less<>> websockets_;
};

}  // namespace backtalk::server
