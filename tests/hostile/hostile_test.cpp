// Hostile input against one running `backtalk serve`: each case sends what a
// stranger could, checks the answer, checks the attack shows in /metrics
// where the server counts it, and then that the server and a conversation
// opened before the attacks are unaffected.
#include "tests/hostile/hostile_target.hpp"
#include "tests/hostile/raw_socket.hpp"
#include "tests/support/eventually.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace backtalk::test;
using namespace std::chrono_literals;

namespace {

std::string responses_with(unsigned code) {
    return "backtalk_http_responses_total{code=\"" + std::to_string(code) + "\"}";
}

std::string websocket_errors(const std::string& code) {
    return "backtalk_errors_total{channel=\"websocket\",code=\"" + code + "\"}";
}

// The status of one raw request on a fresh connection; 0 when the server
// closed without answering.
unsigned raw_status(std::string_view request) {
    RawSocket socket(hostile_target().port());
    socket.send(request);
    return http_status(socket.read_until("\r\n", 5s));
}

std::string hmac_sha256_hex(const std::string& key, const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), digest, &length);
    std::string hex;
    char pair[3];
    for (unsigned int i = 0; i < length; ++i) {
        std::snprintf(pair, sizeof pair, "%02x", digest[i]);
        hex += pair;
    }
    return hex;
}

std::vector<json> error_turn(ChatClient& chat, const std::string& frame) {
    chat.send_text(frame);
    return chat.receive_turn();
}

}  // namespace

TEST_CASE("malformed HTTP request lines and headers get 400") {
    auto& target = hostile_target();
    const char* requests[] = {
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        "\x01\x02\x03\xff binary\r\n\r\n",
        "GET / HTTP/1.1\r\nHost x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Control: a\x01" "b\r\n\r\n",
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    };
    for (const char* request : requests) {
        CAPTURE(request);
        const double before = target.metric(responses_with(400));
        CHECK(raw_status(request) == 400);
        CHECK(target.metric(responses_with(400)) > before);
        target.survived(request);
    }
}

TEST_CASE("oversized headers get 431, oversized bodies 413") {
    auto& target = hostile_target();
    const double headers_before = target.metric(responses_with(431));
    CHECK(raw_status("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(16 * 1024, 'p') + "\r\n\r\n") ==
          431);
    std::string many_headers = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 2000; ++i) many_headers += "X-" + std::to_string(i) + ": y\r\n";
    CHECK(raw_status(many_headers + "\r\n") == 431);
    CHECK(target.metric(responses_with(431)) >= headers_before + 2);
    target.survived("one huge header");
    target.survived("many small headers");

    const double bodies_before = target.metric(responses_with(413));
    // Announced but never sent: refused on the length alone.
    CHECK(raw_status("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n") == 413);
    CHECK(http_request(target.port(), "POST", "/healthz", {}, std::string(100 * 1024, 'x')).status == 413);
    CHECK(target.metric(responses_with(413)) >= bodies_before + 2);
    target.survived("a body announced as 100 MB");
    target.survived("a 100 KiB body");
}

TEST_CASE("slowloris: half-sent requests do not stop others and are dropped after the HTTP timeout") {
    auto& target = hostile_target();
    const double timeouts_before = target.metric("backtalk_http_timeouts_total");
    constexpr int slow_clients = 20;
    const auto opened = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<RawSocket>> slow;
    for (int i = 0; i < slow_clients; ++i) {
        slow.push_back(std::make_unique<RawSocket>(target.port()));
        REQUIRE(slow.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    }
    // Served meanwhile, while the slow ones trickle a byte a second.
    for (int second = 0; second < 3; ++second) {
        target.survived("slow clients holding " + std::to_string(slow_clients) + " requests open");
        for (auto& socket : slow) socket->send("s");
        std::this_thread::sleep_for(1s);
    }
    // http_timeout (15 s) bounds the whole request, however it trickles.
    int dropped = 0;
    for (auto& socket : slow) {
        const auto waited = std::chrono::steady_clock::now() - opened;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(20s - waited);
        if (socket->closed_by_peer(std::max(left, std::chrono::milliseconds(100)))) ++dropped;
    }
    CHECK(dropped == slow_clients);
    // Counted when the timed-out read completes, after the socket is closed.
    CHECK(target.metric_reaching("backtalk_http_timeouts_total", timeouts_before + slow_clients) >=
          timeouts_before + slow_clients);
    target.survived("slow clients dropped");
}

TEST_CASE("WebSocket upgrades: a foreign Origin gets 403, no Origin is not a browser and is let in") {
    auto& target = hostile_target();
    const std::string refused = "backtalk_websocket_refused_total{reason=\"origin\"}";
    const double before = target.metric(refused);
    CHECK(websocket_upgrade_status(target.port(), "https://evil.example") == 403);
    CHECK(websocket_upgrade_status(target.port(), "null") == 403);
    CHECK(target.metric(refused) == before + 2);
    target.survived("foreign Origin");
    target.survived("Origin: null");

    RawSocket no_origin(target.port());
    CHECK(websocket_open(no_origin, target.port(), "") == 101);
    target.survived("upgrade without Origin");
}

TEST_CASE("binary frames, bad JSON, unknown types, empty and huge text, choices never offered") {
    auto& target = hostile_target();
    ChatClient attacker(target.port(), target.origin());
    attacker.send({{"type", "start"}, {"locale", "en"}});
    attacker.receive_turn();
    struct Case {
        std::string frame;
        std::string code;
    };
    const std::vector<Case> cases{
        {"{not json", "bad_json"},
        {"[1,2,3]", "bad_json"},
        {"\"just a string\"", "bad_json"},
        {std::string(7000, '{'), "bad_json"},
        {R"({"type":"dance"})", "unknown_type"},
        {R"({"type":42})", "unknown_type"},
        {R"({"type":"message","text":""})", "empty"},
        {R"({"type":"message","text":"   "})", "empty"},
        {json{{"type", "message"}, {"text", std::string(2001, 'a')}}.dump(), "too_long"},
        {json{{"type", "message"}, {"text", std::string(8000, 'b')}}.dump(), "too_long"},
        {R"({"type":"choice","id":"never-offered"})", "bad_choice"},
        {R"({"type":"choice","id":"../../etc/passwd"})", "bad_choice"},
    };
    for (const auto& attack : cases) {
        CAPTURE(attack.frame.substr(0, 60));
        const double before = target.metric(websocket_errors(attack.code));
        const auto turn = error_turn(attacker, attack.frame);
        REQUIRE(turn.size() == 1);
        CHECK(turn[0]["type"] == "error");
        CHECK(turn[0]["code"] == attack.code);
        CHECK(target.metric(websocket_errors(attack.code)) == before + 1);
        target.survived(attack.frame.substr(0, 60));
    }
    const double before = target.metric(websocket_errors("bad_json"));
    attacker.send_binary(std::string("\x00\xff\x01\x02", 4));
    const auto binary = attacker.receive_turn();
    REQUIRE(binary.size() == 1);
    CHECK(binary[0]["code"] == "bad_json");
    CHECK(target.metric(websocket_errors("bad_json")) == before + 1);
    target.survived("a binary frame");
    attacker.close();
}

TEST_CASE("invalid UTF-8 in a text frame closes that socket with 1007") {
    auto& target = hostile_target();
    const double before = target.metric("backtalk_websocket_protocol_errors_total");
    {
        RawSocket socket(target.port());
        REQUIRE(websocket_open(socket, target.port(), target.origin()) == 101);
        socket.send(websocket_frame(frame::text, "{\"type\":\"message\",\"text\":\"\xff\xfe\xc3\x28\"}"));
        std::string text;
        CHECK(next_text_or_close(socket, text, 5s) == 1007u);
    }
    // Counted when the server's read ends: here when this client hangs up
    // instead of answering the close (else at the close handshake's timeout).
    CHECK(target.metric_reaching("backtalk_websocket_protocol_errors_total", before + 1) == before + 1);
    target.survived("invalid UTF-8");
}

TEST_CASE("a message over the cap in fragments closes with 1009") {
    auto& target = hostile_target();
    const std::string oversize = "backtalk_websocket_oversize_total";
    const double before = target.metric(oversize);
    {
        RawSocket socket(target.port());
        REQUIRE(websocket_open(socket, target.port(), target.origin()) == 101);
        const std::string piece(11000, 'a');  // three pieces: over the 32 KiB cap
        socket.send(websocket_frame(frame::text, piece, false));
        socket.send(websocket_frame(frame::continuation, piece, false));
        socket.send(websocket_frame(frame::continuation, piece, true));
        std::string text;
        CHECK(next_text_or_close(socket, text, 5s) == 1009u);
    }
    // Counted when the server's read ends, as for 1007 above.
    CHECK(target.metric_reaching(oversize, before + 1) == before + 1);
    target.survived("a fragmented 33,000-byte message");
}

TEST_CASE("a ping flood costs only the flooder's own connection") {
    auto& target = hostile_target();
    RawSocket socket(target.port());
    REQUIRE(websocket_open(socket, target.port(), target.origin()) == 101);
    const std::string ping = websocket_frame(frame::ping, std::string(125, 'p'));
    std::string flood;
    for (int i = 0; i < 2000; ++i) flood += ping;
    // The server answers pongs while we write; a reader thread keeps them
    // from filling the socket buffers.
    std::string text;
    std::optional<unsigned> outcome;
    std::thread reader([&] { outcome = next_text_or_close(socket, text, 20s); });
    const bool sent = socket.send(flood) && socket.send(websocket_frame(frame::text, R"({"type":"start"})"));
    reader.join();
    CHECK(sent);
    REQUIRE(outcome.has_value());
    CHECK(*outcome == 0u);
    CHECK(json::parse(text)["type"] == "session");
    target.survived("2000 pings");
}

TEST_CASE("connections past the per-address cap get 503") {
    auto& target = hostile_target();
    const std::string refused_series = "backtalk_connections_refused_total";
    const double before = target.metric(refused_series);
    std::vector<std::unique_ptr<RawSocket>> flood;
    int refused = 0;
    for (int i = 0; i < per_address_cap + 10; ++i) {
        flood.push_back(std::make_unique<RawSocket>(target.port()));
        flood.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        if (http_status(flood.back()->read_until("\r\n", 5s)) == 503) ++refused;
    }
    CHECK(refused >= 10);
    flood.clear();
    // The leases come back as the server sees the sockets close.
    REQUIRE(eventually([&] { return http_request(target.port(), "GET", "/healthz").status == 200; }));
    CHECK(target.metric(refused_series) >= before + refused);
    target.survived(std::to_string(per_address_cap + 10) + " connections from one address");
}

TEST_CASE("path traversal never reaches a file outside the web folder") {
    auto& target = hostile_target();
    const char* attempts[] = {"/../etc/passwd",
                              "/../../../../etc/passwd",
                              "/%2e%2e/etc/passwd",
                              "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                              "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
                              "/..%5c..%5cetc%5cpasswd",
                              "/widget.js%00.txt",
                              "/%00",
                              "/widget.js/../../../etc/passwd",
                              "/proc/self/environ",
                              "//etc/passwd",
                              "/%252e%252e/etc/passwd"};
    for (const char* path : attempts) {
        CAPTURE(path);
        RawSocket socket(target.port());
        socket.send(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const std::string head = socket.read_until("\r\n\r\n", 5s);
        const unsigned status = http_status(head);
        CHECK((status == 400 || status == 404));
        const std::string rest = socket.read_until("\x01never", 2s);
        CHECK(rest.find("root:") == std::string::npos);
        CHECK(rest.find("BACKTALK_") == std::string::npos);
        target.survived(std::string("GET ") + path);
    }
}

TEST_CASE("REST: no signature, a wrong signature and bad JSON are refused") {
    auto& target = hostile_target();
    const std::string signature = "backtalk_rest_rejected_total{reason=\"signature\"}";
    const std::string bad_json = "backtalk_rest_rejected_total{reason=\"bad_json\"}";
    const std::string body = R"({"text":"my back hurts"})";
    const std::string now = std::to_string(std::time(nullptr));

    const double signatures_before = target.metric(signature);
    CHECK(http_request(target.port(), "POST", "/api/v1/chat", {{"Content-Type", "application/json"}}, body).status ==
          401);
    target.survived("REST without a signature");
    CHECK(http_request(target.port(), "POST", "/api/v1/chat",
                       {{"Content-Type", "application/json"},
                        {"X-Backtalk-Timestamp", now},
                        {"X-Backtalk-Signature", "sha256=" + hmac_sha256_hex("not-the-secret", now + "." + body)}},
                       body)
              .status == 401);
    target.survived("REST with a wrong signature");
    const std::string old = std::to_string(std::time(nullptr) - 3600);
    CHECK(http_request(target.port(), "POST", "/api/v1/chat",
                       {{"Content-Type", "application/json"},
                        {"X-Backtalk-Timestamp", old},
                        {"X-Backtalk-Signature", "sha256=" + hmac_sha256_hex(rest_secret, old + "." + body)}},
                       body)
              .status == 401);
    target.survived("REST replayed an hour later");
    CHECK(target.metric(signature) == signatures_before + 3);

    const double bad_json_before = target.metric(bad_json);
    const std::string broken = "{\"text\": ";
    CHECK(http_request(target.port(), "POST", "/api/v1/chat",
                       {{"Content-Type", "application/json"},
                        {"X-Backtalk-Timestamp", now},
                        {"X-Backtalk-Signature", "sha256=" + hmac_sha256_hex(rest_secret, now + "." + broken)}},
                       broken)
              .status == 400);
    CHECK(target.metric(bad_json) == bad_json_before + 1);
    target.survived("REST with bad JSON");
}

TEST_CASE("Telegram: no secret and a wrong secret are refused") {
    auto& target = hostile_target();
    const std::string rejected = "backtalk_telegram_rejected_total{reason=\"secret\"}";
    const double before = target.metric(rejected);
    const std::string update = R"({"update_id":1,"message":{"message_id":1,"chat":{"id":7},"text":"hi"}})";
    const auto without = http_request(target.port(), "POST", "/telegram/webhook",
                                      {{"Content-Type", "application/json"}}, update);
    CHECK((without.status == 401 || without.status == 403));
    target.survived("Telegram without a secret");
    const auto wrong = http_request(target.port(), "POST", "/telegram/webhook",
                                    {{"Content-Type", "application/json"},
                                     {"X-Telegram-Bot-Api-Secret-Token", "hostile-suite-telegram-secreT"}},
                                    update);
    CHECK((wrong.status == 401 || wrong.status == 403));
    target.survived("Telegram with a wrong secret");
    CHECK(target.metric(rejected) == before + 2);
}

TEST_CASE("admin routes: no token, a wrong token, a token in the query or in another scheme are refused") {
    auto& target = hostile_target();
    const std::string rejected = "backtalk_admin_rejected_total";
    const double before = std::max(0.0, target.metric(rejected));
    const std::string token = admin_token;
    std::string near_miss = token;
    near_miss.back() = near_miss.back() == '9' ? '8' : '9';
    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> attempts{
        {"/api/v1/conversations", {}},
        {"/api/v1/conversations", {{"Authorization", "Bearer " + near_miss}}},
        {"/api/v1/conversations", {{"Authorization", "Bearer " + token.substr(0, token.size() - 1)}}},
        {"/api/v1/conversations", {{"Authorization", "Basic " + token}}},
        {"/api/v1/conversations?token=" + token, {}},
        {"/api/v1/export?format=csv", {{"Authorization", "Bearer"}}},
    };
    for (const auto& [path, headers] : attempts) {
        INFO(path);
        const auto reply = http_request(target.port(), "GET", path, headers);
        CHECK(reply.status == 401);
        CHECK(reply.body.find("conversations\"") == std::string::npos);
    }
    CHECK(http_request(target.port(), "DELETE", "/api/v1/conversations/x", {}).status == 401);
    CHECK(http_request(target.port(), "POST", "/api/v1/rules/reload", {}).status == 401);
    target.survived("admin API without a token, with wrong tokens, in the query and as Basic");
    CHECK(target.metric(rejected) == before + static_cast<double>(attempts.size()) + 2);
    // The right token still works: the refusals did not lock anyone out.
    CHECK(http_request(target.port(), "GET", "/api/v1/stats", {{"Authorization", "Bearer " + token}}).status == 200);
}

TEST_CASE("a client that sends but never reads is closed once its answers back up") {
    auto& target = hostile_target();
    const std::string slow = "backtalk_websocket_slow_total";
    const double before = target.metric(slow);
    {
        // A 4 KiB window: the answers fill it, then the server's socket
        // buffer, then its bounded queue (64 objects).
        RawSocket socket(target.port(), 4096);
        REQUIRE(websocket_open(socket, target.port(), target.origin()) == 101);
        // Within the rate limit's burst, so only the queue can end this.
        for (int i = 0; i < 900; ++i) {
            if (!socket.send(websocket_frame(frame::text, R"({"type":"message","text":"what can you do?"})"))) break;
        }
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (target.metric(slow) < before + 1 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(50ms);
        }
    }
    CHECK(target.metric(slow) == before + 1);
    target.survived("a client that never reads its answers");
}
