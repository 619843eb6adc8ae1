#include "adapters/server/server.hpp"

#include "adapters/server/io_context_pool.hpp"
#include "adapters/server/listener.hpp"
#include "adapters/server/log.hpp"
#include "adapters/server/server_context.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <stdexcept>

namespace backtalk::server {

namespace net = boost::asio;

struct Server::Impl {
    explicit Impl(ServerOptions options)
        : context(std::make_shared<ServerContext>(std::move(options))),
          contexts(context->options.threads),
          control(net::make_strand(contexts.first())),
          signals(control, SIGINT, SIGTERM),
          reload_signals(control, SIGHUP),
          stop_timer(control) {}
    // Route handlers hold shared state that holds the context, and so the
    // router: break the cycle.
    ~Impl() { context->router.clear(); }

    // The stop sequence; runs on the control strand, once.
    void begin_stop();
    void wait_for_sessions(std::chrono::steady_clock::time_point deadline);
    void wait_for_reload_signal();

    std::shared_ptr<ServerContext> context;
    IoContextPool contexts;
    net::strand<net::io_context::executor_type> control;
    net::signal_set signals;
    net::signal_set reload_signals;
    std::function<void()> reload;
    net::steady_timer stop_timer;
    std::shared_ptr<Listener> listener;
    ListenAddress bound;
    bool stopping = false;
};

void Server::Impl::begin_stop() {
    if (stopping) return;
    stopping = true;
    log_event("stopping");
    signals.cancel();
    reload_signals.cancel();
    if (listener) listener->stop();
    context->sessions.stop_all();
    contexts.release();
    wait_for_sessions(std::chrono::steady_clock::now() + context->options.shutdown_grace);
}

// Polls until every session has closed, or cuts the rest at the deadline:
// a client that never answers the close handshake must not hold up the stop.
void Server::Impl::wait_for_sessions(std::chrono::steady_clock::time_point deadline) {
    const auto open = context->sessions.size();
    if (open == 0) return;
    if (std::chrono::steady_clock::now() >= deadline) {
        log_event("cutting " + std::to_string(open) + " connections that did not close in time");
        contexts.stop();
        return;
    }
    stop_timer.expires_after(std::chrono::milliseconds(20));
    stop_timer.async_wait([this, deadline](boost::system::error_code error) {
        if (!error) wait_for_sessions(deadline);
    });
}

void Server::Impl::wait_for_reload_signal() {
    reload_signals.async_wait([this](boost::system::error_code error, int) {
        if (error) return;  // cancelled: stopping
        log_event("reload requested (SIGHUP)");
        if (reload) reload();
        wait_for_reload_signal();
    });
}

Server::Server(ServerOptions options) {
    validate(options);
    impl_ = std::make_unique<Impl>(std::move(options));
}

Server::~Server() = default;

ListenAddress Server::listen() {
    auto& context = *impl_->context;
    boost::system::error_code error;
    const auto address = net::ip::make_address(context.options.listen.host, error);
    if (error) throw std::runtime_error("cannot listen on " + context.options.listen.host + ": not an IP address");
    impl_->listener = std::make_shared<Listener>(impl_->contexts, impl_->context);
    const auto endpoint = impl_->listener->open({address, context.options.listen.port});
    impl_->bound = ListenAddress{endpoint.address().to_string(), endpoint.port()};

    // The server's own origin stays allowed when others are added: its demo
    // page and /admin are served from it, and adding the clinic's site must
    // not lock them out (it did, and backtalk's own page got 403).
    context.allowed_origins = own_origins(impl_->bound);
    for (const auto& configured : context.options.allowed_origins) {
        std::string origin = normalise_origin(configured);
        if (std::find(context.allowed_origins.begin(), context.allowed_origins.end(), origin) ==
            context.allowed_origins.end()) {
            context.allowed_origins.push_back(std::move(origin));
        }
    }
    return impl_->bound;
}

Router& Server::router() { return impl_->context->router; }
MetricsRegistry& Server::metrics() { return impl_->context->metrics; }
std::shared_ptr<ServerContext> Server::context() { return impl_->context; }

void Server::run() {
    if (!impl_->listener) throw std::logic_error("Server::run() before listen()");
    impl_->signals.async_wait([impl = impl_.get()](boost::system::error_code error, int) {
        if (!error) impl->begin_stop();
    });
    impl_->wait_for_reload_signal();
    impl_->listener->run();

    const auto& bound = impl_->bound;
    const bool v6 = bound.host.find(':') != std::string::npos;
    std::cout << "backtalk listening on http://" << (v6 ? "[" + bound.host + "]" : bound.host) << ':'
              << bound.port << std::endl;
    log_event("started with " + std::to_string(impl_->context->options.threads) + " threads");

    impl_->contexts.run();
    log_event("stopped");
}

void Server::on_reload_signal(std::function<void()> handler) { impl_->reload = std::move(handler); }

void Server::request_stop() {
    net::post(impl_->control, [impl = impl_.get()] { impl->begin_stop(); });
}

}  // namespace backtalk::server
