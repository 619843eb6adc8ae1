// The outbound Telegram Bot API client: the calls a webhook answer cannot
// carry (a turn's further messages, answerCallbackQuery) go out here. It
// runs on a thread and io_context of its own, so a slow or rate-limited Bot
// API never holds up a network thread. Calls with the same queue key (a
// chat) go out one at a time, in order; different keys go out concurrently.
// A 429 is retried after the retry_after Telegram asks for, network errors
// and 5xx with backoff, up to a number of attempts; a 400 on a call with a
// fallback (plain text for HTML Telegram could not parse) is retried once
// with the fallback. With an https base the server certificate is verified
// against the system's trust store and the host name. The token is part of
// each request's path and is never logged.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace backtalk::server {

class MetricsRegistry;

struct BotApiOptions {
    std::string base_url = "https://api.telegram.org";
    std::string token;
    int max_attempts = 5;
    // A longer wait than this makes the call fail: an answer that late is no
    // use in a chat.
    std::chrono::seconds max_retry_after{60};
    std::chrono::seconds timeout{20};  // one attempt: resolve, connect, TLS, write, read
    std::size_t max_queued = 10000;    // calls waiting, all chats together
};

// Where the Bot API is: from an http(s) URL with an optional path prefix.
struct BotApiEndpoint {
    bool tls = true;
    std::string host;         // to resolve and to verify, without brackets
    std::string port;
    std::string host_header;  // host[:port] as given
    std::string path_prefix;  // without a trailing '/'
};
// Throws std::invalid_argument with a clear message on anything else.
BotApiEndpoint parse_bot_api_base(std::string_view base_url);

struct BotApiCall {
    std::string method;  // e.g. "sendMessage"
    nlohmann::json params;
    // Sent instead, once, when Telegram answers 400 to `params`.
    std::optional<nlohmann::json> fallback = std::nullopt;
    // The calls of one turn share a number (0: a call on its own). When one
    // is given up, the rest of its turn is dropped: the end of an answer
    // without its beginning would mislead.
    std::uint64_t turn = 0;
};

class BotApiClient {
public:
    // Starts the client's thread. Throws std::invalid_argument on a bad base
    // URL or an empty token.
    BotApiClient(BotApiOptions options, MetricsRegistry& metrics);
    ~BotApiClient();  // stop() without grace
    BotApiClient(const BotApiClient&) = delete;
    BotApiClient& operator=(const BotApiClient&) = delete;

    // Queues `call` behind the calls already queued under `queue_key`. False,
    // counted as dropped, when the queue is full or the client is stopping.
    bool send(const std::string& queue_key, BotApiCall call);

    // Lists the calls of `method` in /metrics, at 0 until the first is made,
    // so that the first failure is an increase an alert can see.
    void list_calls_of(const std::string& method);

    // Calls queued or in flight under `queue_key`.
    std::size_t queued(const std::string& queue_key) const;

    // Takes no more calls, lets the queued ones finish for up to `grace`,
    // then drops what is left (counted) and joins the thread. Idempotent.
    void stop(std::chrono::milliseconds grace);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace backtalk::server
