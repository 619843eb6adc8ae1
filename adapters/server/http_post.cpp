#include "adapters/server/http_post.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace backtalk::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t max_response_bytes = 1024 * 1024;

template <class Stream>
net::awaitable<HttpExchange> round_trip(Stream& stream, const http::request<http::string_body>& request) {
    HttpExchange exchange;
    auto [write_error, written] = co_await http::async_write(stream, request, net::as_tuple(net::use_awaitable));
    if (write_error) {
        exchange.error = write_error;
        co_return exchange;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_bytes);
    auto [read_error, read] = co_await http::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
    if (read_error) {
        exchange.error = read_error;
        co_return exchange;
    }
    auto response = parser.release();
    exchange.status = response.result_int();
    exchange.retry_after_header = std::string(response[http::field::retry_after]);
    exchange.body = std::move(response.body());
    co_return exchange;
}

}  // namespace

net::awaitable<HttpExchange> http_post(const BotApiEndpoint& endpoint, const HttpPost& post,
                                       std::chrono::seconds timeout, net::ssl::context& tls) {
    const auto executor = co_await net::this_coro::executor;
    HttpExchange exchange;

    tcp::resolver resolver(executor);
    net::steady_timer resolve_deadline(executor, timeout);
    resolve_deadline.async_wait([&resolver](boost::system::error_code error) {
        if (!error) resolver.cancel();
    });
    auto [resolve_error, addresses] =
        co_await resolver.async_resolve(endpoint.host, endpoint.port, net::as_tuple(net::use_awaitable));
    resolve_deadline.cancel();
    if (resolve_error) {
        exchange.error = resolve_error;
        co_return exchange;
    }

    beast::tcp_stream tcp_stream(executor);
    tcp_stream.expires_after(timeout);
    auto [connect_error, connected] = co_await tcp_stream.async_connect(addresses, net::as_tuple(net::use_awaitable));
    if (connect_error) {
        exchange.error = connect_error;
        co_return exchange;
    }

    http::request<http::string_body> request{http::verb::post, post.target, 11};
    request.set(http::field::host, endpoint.host_header);
    request.set(http::field::user_agent, "backtalk");
    request.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : post.headers) request.set(name, value);
    request.keep_alive(false);
    request.body() = post.body;
    request.prepare_payload();

    if (!endpoint.tls) {
        exchange = co_await round_trip(tcp_stream, request);
        boost::system::error_code ignored;
        tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return exchange;
    }

    beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(tcp_stream), tls);
    if (!SSL_set_tlsext_host_name(tls_stream.native_handle(), endpoint.host.c_str())) {
        exchange.error = {static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()};
        co_return exchange;
    }
    tls_stream.set_verify_callback(net::ssl::host_name_verification(endpoint.host));
    auto [handshake_error] =
        co_await tls_stream.async_handshake(net::ssl::stream_base::client, net::as_tuple(net::use_awaitable));
    if (handshake_error) {
        exchange.error = handshake_error;
        co_return exchange;
    }
    exchange = co_await round_trip(tls_stream, request);
    // The answer is complete, so a peer that skips close_notify costs
    // nothing; do not let it hold the caller's queue for long either.
    beast::get_lowest_layer(tls_stream).expires_after(std::chrono::seconds(2));
    co_await tls_stream.async_shutdown(net::as_tuple(net::use_awaitable));
    co_return exchange;
}

}  // namespace backtalk::server
