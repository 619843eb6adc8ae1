// The HTTP and WebSocket server: a pool of threads, each running an
// io_context of its own (io_context_pool.hpp), one listener, and the route
// table that route modules fill before run(). It knows nothing about
// conversations; the gateway and later channels plug in as routes (see
// router.hpp).
#pragma once

#include "adapters/server/server_options.hpp"

#include <functional>
#include <memory>

namespace backtalk::server {

class MetricsRegistry;
class Router;
struct ServerContext;

class Server {
public:
    explicit Server(ServerOptions options);  // throws std::invalid_argument on bad options
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Opens the listening socket. Throws std::runtime_error with a clear
    // message (address in use, permission). Returns the bound address, with
    // the real port when 0 was asked for; from here on the allowed origins
    // are known.
    ListenAddress listen();

    // Add routes after listen() and before run().
    Router& router();
    MetricsRegistry& metrics();
    // Shared with sessions and route modules; lives as long as any of them.
    std::shared_ptr<ServerContext> context();

    // Prints "backtalk listening on http://HOST:PORT" to stdout and serves
    // until SIGINT, SIGTERM or request_stop(); then stops accepting, closes
    // every WebSocket with 1001 (going away), waits up to the shutdown grace
    // for them and returns once every thread has joined.
    void run();

    // Starts the graceful stop from any thread.
    void request_stop();

    // Called on SIGHUP (reload the rules), off the network threads' hot
    // path: on the server's control strand. Set before run().
    void on_reload_signal(std::function<void()> handler);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace backtalk::server
