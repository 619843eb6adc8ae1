#include "adapters/server/listener.hpp"

#include "adapters/server/http_session.hpp"
#include "adapters/server/io_context_pool.hpp"
#include "adapters/server/log.hpp"
#include "adapters/server/server_context.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <stdexcept>

namespace backtalk::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

Listener::Listener(IoContextPool& contexts, std::shared_ptr<ServerContext> context)
    : contexts_(contexts),
      acceptor_(net::make_strand(contexts.first())),
      retry_timer_(acceptor_.get_executor()),
      context_(std::move(context)) {}

tcp::endpoint Listener::open(const tcp::endpoint& endpoint) {
    const auto fail = [&](const char* step, const beast::error_code& error) {
        throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ':' +
                                 std::to_string(endpoint.port()) + ": " + step + ": " + error.message());
    };
    beast::error_code error;
    acceptor_.open(endpoint.protocol(), error);
    if (error) fail("open", error);
    acceptor_.set_option(net::socket_base::reuse_address(true), error);
    if (error) fail("set_option", error);
    acceptor_.bind(endpoint, error);
    if (error) fail("bind", error);
    acceptor_.listen(net::socket_base::max_listen_connections, error);
    if (error) fail("listen", error);
    return acceptor_.local_endpoint();
}

void Listener::run() {
    net::post(acceptor_.get_executor(), beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
}

void Listener::stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
        beast::error_code ignored;
        self->acceptor_.close(ignored);
        self->retry_timer_.cancel();
    });
}

void Listener::do_accept() {
    if (!acceptor_.is_open()) return;
    acceptor_.async_accept(net::make_strand(contexts_.next()),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(beast::error_code error, tcp::socket socket) {
    if (error == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (error) {
        // Out of descriptors or memory: wait a little rather than spin.
        log_error("accept", error);
        context_->accept_errors.add();
        retry_timer_.expires_after(std::chrono::milliseconds(100));
        retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_error) {
            if (!wait_error) self->do_accept();
        });
        return;
    }
    beast::error_code peer_error;
    const auto peer = socket.remote_endpoint(peer_error);
    // A turn is several small frames: without this, Nagle's algorithm and the
    // client's delayed ACK hold the later ones back by 40 ms.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (!peer_error) {
        auto address = peer.address().to_string();
        auto lease = context_->limits->try_acquire(address);
        std::make_shared<HttpSession>(std::move(socket), context_, std::move(lease), std::move(address))->run();
    }
    do_accept();
}

}  // namespace backtalk::server
