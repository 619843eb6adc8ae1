// A stand-in for the Telegram Bot API in tests: an HTTP server on
// 127.0.0.1 (any free port) that records every call (token, method, JSON
// parameters) and answers {"ok": true, ...}, or what a test scripted for the
// next calls (a 429 with retry_after, a 400, a 500).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace backtalk::test {

struct BotApiCallRecord {
    std::string token;
    std::string method;
    nlohmann::json params;  // null when the body was not JSON
    std::chrono::steady_clock::time_point received;
};

struct ScriptedAnswer {
    unsigned status = 200;
    std::string body;  // the JSON Telegram would send
};

// A certificate and its key, PEM files, for a stub that speaks https.
struct StubTls {
    std::string certificate_file;
    std::string key_file;
};

class BotApiStub {
public:
    // Listening once constructed; https with `tls`, else http.
    explicit BotApiStub(std::optional<StubTls> tls = std::nullopt);
    ~BotApiStub();  // stops and joins its thread
    BotApiStub(const BotApiStub&) = delete;
    BotApiStub& operator=(const BotApiStub&) = delete;

    std::uint16_t port() const;
    std::string base_url() const;

    // The next calls get these answers, in order; then {"ok": true} again.
    void script(std::vector<ScriptedAnswer> answers);
    static ScriptedAnswer too_many_requests(int retry_after_seconds);
    static ScriptedAnswer bad_request(const std::string& description);
    static ScriptedAnswer server_error();

    std::vector<BotApiCallRecord> calls() const;
    // TLS handshakes that completed (https only).
    std::size_t handshakes() const;
    // Waits until at least `count` calls have arrived; the calls so far.
    // Throws after `timeout`.
    std::vector<BotApiCallRecord> wait_for_calls(std::size_t count,
                                                 std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace backtalk::test
