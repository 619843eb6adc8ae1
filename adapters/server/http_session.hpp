// One HTTP connection: reads a request, looks it up in the route table,
// writes the response, and reads the next (keep-alive). A WebSocket upgrade
// hands the socket to the route's open(). Runs on the connection's strand.
#pragma once

#include "adapters/server/connection_limits.hpp"
#include "adapters/server/http_types.hpp"
#include "adapters/server/session_registry.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>

namespace backtalk::server {

struct ServerContext;

class HttpSession : public Stoppable, public std::enable_shared_from_this<HttpSession> {
public:
    // An empty lease means a cap was reached: the request is answered 503.
    HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ServerContext> context,
                ConnectionLease lease, std::string client_address);
    ~HttpSession() override;

    void run();
    void stop() override;

private:
    void start();
    void do_read();
    void on_read(boost::beast::error_code error, std::size_t bytes);
    void handle_request(Request request);
    void dispatch_route(const Request& request, RequestContext request_context);
    void upgrade(Request request, RequestContext request_context);
    void send(Response response, bool strip_body);
    void on_write(bool close, boost::beast::error_code error, std::size_t bytes);
    void do_close();
    void drain();

    boost::beast::tcp_stream stream_;
    boost::asio::any_io_executor executor_;  // the strand; kept when the stream moves away
    boost::beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<Response> response_;  // alive while it is being written
    std::array<char, 4096> drain_buffer_;
    std::size_t drained_ = 0;
    std::shared_ptr<ServerContext> context_;
    ConnectionLease lease_;
    std::string client_address_;
    bool counted_ = false;    // in the open-connections gauge
    bool reading_ = false;    // a read is pending: stop() cancels it
    bool stopping_ = false;   // answer the current request, then close
    bool upgraded_ = false;   // the socket now belongs to a WebSocket session
};

}  // namespace backtalk::server
