#include "tests/integration/clients.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <stdexcept>

namespace backtalk::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

constexpr auto operation_timeout = std::chrono::seconds(10);

// Runs one asynchronous operation to completion or the timeout; `cancel`
// aborts it then. Returns the operation's error code.
template <class Start, class Cancel>
beast::error_code run_bounded(net::io_context& io_context, Start start, Cancel cancel) {
    std::optional<beast::error_code> result;
    io_context.restart();
    start([&result](beast::error_code error, auto&&...) { result = error; });
    io_context.run_for(operation_timeout);
    if (!result) {
        cancel();
        io_context.restart();
        io_context.run();
        throw std::runtime_error("timed out waiting for the server");
    }
    return *result;
}

void connect(net::io_context& io_context, beast::tcp_stream& stream, std::uint16_t port) {
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    const auto error = run_bounded(
        io_context, [&](auto handler) { stream.async_connect(endpoint, handler); },
        [&] { stream.cancel(); });
    if (error) throw std::runtime_error("connect: " + error.message());
    stream.socket().set_option(tcp::no_delay(true));
}

HttpReply to_reply(const http::response<http::string_body>& response) {
    HttpReply reply;
    reply.status = response.result_int();
    for (const auto& field : response) {
        reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    reply.body = response.body();
    return reply;
}

HttpReply exchange(std::uint16_t port, const std::function<void(beast::tcp_stream&, net::io_context&)>& write,
                   bool head) {
    net::io_context io_context;
    beast::tcp_stream stream(io_context);
    connect(io_context, stream, port);
    write(stream, io_context);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    parser.skip(head);
    const auto error = run_bounded(
        io_context, [&](auto handler) { http::async_read(stream, buffer, parser, handler); },
        [&] { stream.cancel(); });
    if (error) throw std::runtime_error("reading the response: " + error.message());
    return to_reply(parser.get());
}

}  // namespace

std::string HttpReply::header(std::string_view name) const {
    const auto same = [&](const auto& field) {
        return field.first.size() == name.size() &&
               std::equal(name.begin(), name.end(), field.first.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
               });
    };
    const auto it = std::find_if(headers.begin(), headers.end(), same);
    return it == headers.end() ? std::string() : it->second;
}

HttpReply http_request(std::uint16_t port, std::string_view method, std::string_view target,
                       const std::vector<std::pair<std::string, std::string>>& headers, std::string body) {
    http::request<http::string_body> request{http::string_to_verb(method), target, 11};
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = std::move(body);
    if (!request.body().empty()) request.prepare_payload();
    return exchange(
        port,
        [&](beast::tcp_stream& stream, net::io_context& io_context) {
            const auto error = run_bounded(
                io_context, [&](auto handler) { http::async_write(stream, request, handler); },
                [&] { stream.cancel(); });
            if (error) throw std::runtime_error("writing the request: " + error.message());
        },
        request.method() == http::verb::head);
}

HttpReply http_raw(std::uint16_t port, std::string_view request_bytes) {
    return exchange(
        port,
        [&](beast::tcp_stream& stream, net::io_context& io_context) {
            const auto error = run_bounded(
                io_context,
                [&](auto handler) { net::async_write(stream, net::buffer(request_bytes), handler); },
                [&] { stream.cancel(); });
            if (error) throw std::runtime_error("writing the request: " + error.message());
        },
        false);
}

struct ChatClient::Impl {
    net::io_context io_context;
    websocket::stream<beast::tcp_stream> ws{io_context};
    beast::flat_buffer buffer;

    beast::error_code run(const std::function<void(std::function<void(beast::error_code, std::size_t)>)>& start) {
        return run_bounded(
            io_context, [&](auto handler) { start(handler); }, [&] { beast::get_lowest_layer(ws).cancel(); });
    }
    void write(std::string_view bytes, bool text) {
        ws.text(text);
        const auto error = run([&](auto handler) { ws.async_write(net::buffer(bytes), handler); });
        if (error) throw std::runtime_error("websocket write: " + error.message());
    }
    // One message; an error code when the read failed (closed included).
    beast::error_code read(std::string& message) {
        buffer.consume(buffer.size());
        const auto error = run([&](auto handler) { ws.async_read(buffer, handler); });
        if (!error) message = beast::buffers_to_string(buffer.data());
        return error;
    }
};

ChatClient::ChatClient(std::uint16_t port, std::string origin) : impl_(std::make_unique<Impl>()) {
    connect(impl_->io_context, beast::get_lowest_layer(impl_->ws), port);
    if (!origin.empty()) {
        impl_->ws.set_option(websocket::stream_base::decorator(
            [origin](websocket::request_type& request) { request.set(http::field::origin, origin); }));
    }
    const auto host = "127.0.0.1:" + std::to_string(port);
    const auto error = impl_->run([&](auto handler) {
        impl_->ws.async_handshake(host, "/ws", [handler](beast::error_code e) { handler(e, 0); });
    });
    if (error) throw std::runtime_error("websocket handshake: " + error.message());
}

ChatClient::~ChatClient() = default;

void ChatClient::send(const json& object) { impl_->write(object.dump(), true); }
void ChatClient::send_text(std::string_view text) { impl_->write(text, true); }
void ChatClient::send_binary(std::string_view bytes) { impl_->write(bytes, false); }

json ChatClient::receive() {
    std::string message;
    const auto error = impl_->read(message);
    if (error == websocket::error::closed) {
        throw std::runtime_error("the server closed the WebSocket with " +
                                 std::to_string(impl_->ws.reason().code));
    }
    if (error) throw std::runtime_error("websocket read: " + error.message());
    return json::parse(message);
}

std::vector<json> ChatClient::receive_turn() {
    std::vector<json> turn;
    do {
        turn.push_back(receive());
    } while (!turn.back().value("end_of_turn", false));
    return turn;
}

unsigned ChatClient::wait_for_close(std::vector<json>* received) {
    for (;;) {
        std::string message;
        const auto error = impl_->read(message);
        if (error == websocket::error::closed) return impl_->ws.reason().code;
        if (error) throw std::runtime_error("waiting for the close: " + error.message());
        if (received) received->push_back(json::parse(message));
    }
}

void ChatClient::close() {
    const auto error = impl_->run([&](auto handler) {
        impl_->ws.async_close(websocket::close_code::normal, [handler](beast::error_code e) { handler(e, 0); });
    });
    if (error) throw std::runtime_error("websocket close: " + error.message());
}

json answer_to(const json& reply) {
    const auto quick_replies = reply.value("quick_replies", json::array());
    for (const auto& quick : quick_replies) {
        if (quick.value("id", "") == "no") return {{"type", "choice"}, {"id", "no"}};
    }
    const std::string asking = reply.contains("asking") && reply["asking"].is_string() ? reply["asking"].get<std::string>() : "";
    static const std::vector<std::pair<std::string, std::string>> typed_answers{
        {"pain_location", "lower back"}, {"duration", "3 days"}, {"onset", "gradually"},
        {"trigger", "lifting boxes"},    {"age", "35"},          {"pain_score", "4"}};
    for (const auto& [topic, text] : typed_answers) {
        if (topic == asking) return {{"type", "message"}, {"text", text}};
    }
    if (!quick_replies.empty()) return {{"type", "choice"}, {"id", quick_replies.front().value("id", "")}};
    if (!asking.empty()) return {{"type", "message"}, {"text", "no"}};
    return {{"type", "message"}, {"text", "my lower back hurts since I moved house"}};
}

json last_reply(const std::vector<json>& turn) {
    for (auto it = turn.rbegin(); it != turn.rend(); ++it) {
        if (it->value("type", "") == "reply") return *it;
    }
    throw std::runtime_error("the turn has no reply: " + json(turn).dump());
}

json chat_to_outcome(ChatClient& chat, const std::vector<json>& first_turn, int max_turns) {
    json reply = last_reply(first_turn);
    for (int turn = 0; turn < max_turns; ++turn) {
        chat.send(answer_to(reply));
        for (const auto& object : chat.receive_turn()) {
            if (object.value("type", "") != "reply") continue;
            reply = object;
            if (object.contains("triage") && object["triage"].is_object()) return object;
        }
    }
    throw std::runtime_error("no outcome after " + std::to_string(max_turns) + " answers; last: " + reply.dump());
}

unsigned websocket_upgrade_status(std::uint16_t port, const std::string& origin) {
    net::io_context io_context;
    websocket::stream<beast::tcp_stream> ws(io_context);
    connect(io_context, beast::get_lowest_layer(ws), port);
    ws.set_option(websocket::stream_base::decorator(
        [origin](websocket::request_type& request) { request.set(http::field::origin, origin); }));
    websocket::response_type response;
    const auto error = run_bounded(
        io_context,
        [&](auto handler) {
            ws.async_handshake(response, "127.0.0.1:" + std::to_string(port), "/ws", handler);
        },
        [&] { beast::get_lowest_layer(ws).cancel(); });
    if (!error) return 101;
    if (error != websocket::error::upgrade_declined) {
        throw std::runtime_error("websocket handshake: " + error.message());
    }
    return response.result_int();
}

}  // namespace backtalk::test
