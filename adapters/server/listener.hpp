// Accepts connections, each onto a strand of its own on the pool's next
// context, and hands them to an HttpSession with a lease on the connection
// caps.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <memory>

namespace backtalk::server {

class IoContextPool;
struct ServerContext;

class Listener : public std::enable_shared_from_this<Listener> {
public:
    Listener(IoContextPool& contexts, std::shared_ptr<ServerContext> context);

    // Binds and listens; throws std::runtime_error naming the address and
    // the reason. Returns the bound endpoint (the real port for port 0).
    boost::asio::ip::tcp::endpoint open(const boost::asio::ip::tcp::endpoint& endpoint);
    void run();
    // Closes the acceptor; from any thread.
    void stop();

private:
    void do_accept();
    void on_accept(boost::beast::error_code error, boost::asio::ip::tcp::socket socket);

    IoContextPool& contexts_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;  // after an accept error such as EMFILE
    std::shared_ptr<ServerContext> context_;
};

}  // namespace backtalk::server
