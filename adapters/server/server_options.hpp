// What `backtalk serve` can be told: where to listen, who may connect, and
// the limits that keep one client from starving the others. Plain data plus
// the parsing and checks the command line needs; no sockets here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::server {

struct ListenAddress {
    std::string host;  // an IP address literal, e.g. 127.0.0.1 or ::1
    std::uint16_t port = 0;
};

// Defaults `backtalk serve` also shows in its --help.
inline constexpr std::size_t default_max_connections = 10000;
inline constexpr std::size_t default_max_connections_per_address = 100;
// Per WebSocket. A person sends a message every few seconds; a client that
// answers quick replies as soon as the bot is done (a whole conversation,
// then the stretching guide) fits in the burst.
inline constexpr double default_messages_per_second = 20.0;  // sustained
inline constexpr double default_message_burst = 60.0;        // bucket size

struct ServerOptions {
    ListenAddress listen{"127.0.0.1", 8080};
    // Origins allowed to open the WebSocket, e.g. https://example.org; "*"
    // allows any. Empty: the server's own origin once it listens.
    std::vector<std::string> allowed_origins;
    unsigned threads = 1;
    // The CSP frame-ancestors sources: which sites may embed our pages.
    std::string frame_ancestors = "'self'";
    std::filesystem::path web_dir;

    std::size_t max_connections = default_max_connections;
    std::size_t max_connections_per_address = default_max_connections_per_address;
    double messages_per_second = default_messages_per_second;
    double message_burst = default_message_burst;
    int rate_strikes_before_close = 5;  // refused messages in a row, then close 1008

    // 2,000 characters each written as a \u escaped surrogate pair take
    // 24,000 bytes: every valid message fits, and is answered too_long past
    // 2,000 characters. Larger frames close with 1009.
    std::size_t max_frame_bytes = 32 * 1024;
    std::size_t outbound_queue_limit = 64;    // objects waiting to be written
    std::size_t max_header_bytes = 8 * 1024;  // larger get 431
    std::size_t max_body_bytes = 64 * 1024;   // larger get 413

    std::chrono::seconds http_timeout{15};       // to read a request or write a response
    std::chrono::seconds handshake_timeout{15};  // WebSocket opening and closing handshakes
    std::chrono::seconds idle_timeout{50};       // under nginx's 60 s proxy_read_timeout
    std::chrono::milliseconds shutdown_grace{3000};  // then sockets are cut
};

// Parses "HOST:PORT", "[V6]:PORT" or "localhost:PORT". Throws
// std::invalid_argument with a message naming the problem.
ListenAddress parse_listen_address(std::string_view text);

// Parses a duration such as "90", "90s", "30m", "24h" or "7d" (a bare number
// is seconds). Throws std::invalid_argument on anything else or on zero.
std::chrono::seconds parse_duration(std::string_view text);

// Lower-cases scheme and host and drops a trailing slash, so that the
// Origin header and a configured origin compare as equal strings. Throws
// std::invalid_argument unless it looks like scheme://host[:port] or "*".
std::string normalise_origin(std::string_view origin);

// The origin a browser sends for pages served by us at `address`
// ("http://127.0.0.1:8080"), plus the localhost spelling for loopback.
std::vector<std::string> own_origins(const ListenAddress& address);

// Checks the options together; throws std::invalid_argument naming the
// first bad one.
void validate(const ServerOptions& options);

}  // namespace backtalk::server
