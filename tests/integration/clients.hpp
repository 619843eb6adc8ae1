// Real clients for the integration tests: Beast HTTP and WebSocket over
// loopback, each operation bounded by a timeout so a broken server fails
// the test instead of hanging it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backtalk::test {

using json = nlohmann::json;

struct HttpReply {
    unsigned status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // The value of a header (case-insensitive name); empty if absent.
    std::string header(std::string_view name) const;
};

// One request on a fresh connection.
HttpReply http_request(std::uint16_t port, std::string_view method, std::string_view target,
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       std::string body = {});
// Raw request bytes, for requests a well-behaved client would not send.
HttpReply http_raw(std::uint16_t port, std::string_view request_bytes);

class ChatClient {
public:
    // Connects to ws://127.0.0.1:PORT/ws, sending `origin` when not empty.
    // Throws when the handshake fails.
    explicit ChatClient(std::uint16_t port, std::string origin = {});
    ~ChatClient();
    ChatClient(const ChatClient&) = delete;
    ChatClient& operator=(const ChatClient&) = delete;

    void send(const json& object);
    void send_text(std::string_view text);
    void send_binary(std::string_view bytes);

    // The next object; throws on timeout or when the connection closes.
    json receive();
    // Objects up to and including the one with end_of_turn: true.
    std::vector<json> receive_turn();
    // Reads until the server closes; returns the close code, with what came
    // before it in `received`.
    unsigned wait_for_close(std::vector<json>* received = nullptr);
    // Sends a normal close and waits for the answer.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The client object a cooperative person would send next: "no" to yes/no
// questions, plausible answers to the others, a complaint when nothing is
// asked.
json answer_to(const json& reply);
// The last reply object of a turn (the one that carries `asking`).
json last_reply(const std::vector<json>& turn);
// Answers until a reply carries a triage, at most `max_turns` times; returns
// that reply. Throws when no outcome comes.
json chat_to_outcome(ChatClient& chat, const std::vector<json>& first_turn, int max_turns = 40);

// The HTTP status of a WebSocket upgrade to /ws with this Origin: 101 when
// accepted, else what the server refused with.
unsigned websocket_upgrade_status(std::uint16_t port, const std::string& origin);

}  // namespace backtalk::test
