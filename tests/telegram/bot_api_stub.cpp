#include "tests/telegram/bot_api_stub.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace backtalk::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct BotApiStub::Impl {
    explicit Impl(std::optional<StubTls> tls_files)
        : https(tls_files.has_value()), acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
        if (tls_files) {
            tls.use_certificate_chain_file(tls_files->certificate_file);
            tls.use_private_key_file(tls_files->key_file, net::ssl::context::pem);
        }
        net::co_spawn(io, accept_loop(), net::detached);
        thread = std::thread([this] { io.run(); });
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [error, socket] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
            if (error) co_return;
            if (https) {
                net::co_spawn(io, serve_tls(std::move(socket)), net::detached);
            } else {
                net::co_spawn(io, serve(beast::tcp_stream(std::move(socket))), net::detached);
            }
        }
    }

    net::awaitable<void> serve_tls(tcp::socket socket) {
        beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls);
        auto [error] = co_await stream.async_handshake(net::ssl::stream_base::server, net::as_tuple(net::use_awaitable));
        if (error) co_return;
        {
            std::lock_guard lock(mutex);
            ++handshakes;
        }
        co_await serve(std::move(stream));
    }

    template <class Stream>
    net::awaitable<void> serve(Stream stream) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> request;
            auto [read_error, read] = co_await http::async_read(stream, buffer, request, net::as_tuple(net::use_awaitable));
            if (read_error) co_return;
            const ScriptedAnswer answer = record(request);
            http::response<http::string_body> response{static_cast<http::status>(answer.status), request.version()};
            response.set(http::field::content_type, "application/json");
            response.keep_alive(request.keep_alive());
            response.body() = answer.body;
            response.prepare_payload();
            auto [write_error, written] = co_await http::async_write(stream, response, net::as_tuple(net::use_awaitable));
            if (write_error || !request.keep_alive()) co_return;
        }
    }

    // "/bot<token>/<method>"
    ScriptedAnswer record(const http::request<http::string_body>& request) {
        BotApiCallRecord call;
        const std::string target(request.target());
        const auto slash = target.find('/', 1);
        if (target.rfind("/bot", 0) == 0 && slash != std::string::npos) {
            call.token = target.substr(4, slash - 4);
            call.method = target.substr(slash + 1);
        }
        call.params = nlohmann::json::parse(request.body(), nullptr, false);
        if (call.params.is_discarded()) call.params = nullptr;
        call.received = std::chrono::steady_clock::now();
        std::lock_guard lock(mutex);
        calls.push_back(std::move(call));
        arrived.notify_all();
        if (scripted.empty()) return {200, R"({"ok":true,"result":true})"};
        ScriptedAnswer answer = scripted.front();
        scripted.pop_front();
        return answer;
    }

    const bool https;
    net::ssl::context tls{net::ssl::context::tls_server};
    // After the TLS context: destroying the io_context destroys the
    // connections that use it.
    net::io_context io;
    tcp::acceptor acceptor;
    std::size_t handshakes = 0;
    std::thread thread;
    mutable std::mutex mutex;
    mutable std::condition_variable arrived;
    std::vector<BotApiCallRecord> calls;
    std::deque<ScriptedAnswer> scripted;
};

BotApiStub::BotApiStub(std::optional<StubTls> tls) : impl_(std::make_unique<Impl>(std::move(tls))) {}

std::string BotApiStub::base_url() const {
    return (impl_->https ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port());
}

std::size_t BotApiStub::handshakes() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->handshakes;
}

BotApiStub::~BotApiStub() {
    impl_->io.stop();
    impl_->thread.join();
}

std::uint16_t BotApiStub::port() const { return impl_->acceptor.local_endpoint().port(); }

void BotApiStub::script(std::vector<ScriptedAnswer> answers) {
    std::lock_guard lock(impl_->mutex);
    for (auto& answer : answers) impl_->scripted.push_back(std::move(answer));
}

ScriptedAnswer BotApiStub::too_many_requests(int retry_after_seconds) {
    const nlohmann::json body{{"ok", false},
                              {"error_code", 429},
                              {"description", "Too Many Requests: retry after " + std::to_string(retry_after_seconds)},
                              {"parameters", {{"retry_after", retry_after_seconds}}}};
    return {429, body.dump()};
}

ScriptedAnswer BotApiStub::bad_request(const std::string& description) {
    const nlohmann::json body{{"ok", false}, {"error_code", 400}, {"description", "Bad Request: " + description}};
    return {400, body.dump()};
}

ScriptedAnswer BotApiStub::server_error() {
    return {502, R"({"ok":false,"error_code":502,"description":"Bad Gateway"})"};
}

std::vector<BotApiCallRecord> BotApiStub::calls() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->calls;
}

std::vector<BotApiCallRecord> BotApiStub::wait_for_calls(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->arrived.wait_for(lock, timeout, [&] { return impl_->calls.size() >= count; })) {
        throw std::runtime_error("the stub Bot API got " + std::to_string(impl_->calls.size()) + " calls, not " +
                                 std::to_string(count));
    }
    return impl_->calls;
}

}  // namespace backtalk::test
