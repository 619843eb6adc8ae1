// A plain TCP client for requests no HTTP or WebSocket library would send:
// broken request lines, half-sent headers, hand-made WebSocket frames. Every
// read is bounded by a timeout so a stuck server fails the test, not hangs it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace backtalk::test {

class RawSocket {
public:
    // Connects to 127.0.0.1:PORT; throws when it cannot. A receive buffer
    // size other than 0 makes a client whose window fills up at once.
    explicit RawSocket(std::uint16_t port, int receive_buffer_bytes = 0);
    ~RawSocket();
    RawSocket(const RawSocket&) = delete;
    RawSocket& operator=(const RawSocket&) = delete;

    // Sends all of `bytes`; false when the peer has closed or reset.
    bool send(std::string_view bytes);
    // Reads until `marker` has arrived (returns everything up to and
    // including it), or the peer closes, or `timeout` passes (returns what
    // came, without the marker).
    std::string read_until(std::string_view marker, std::chrono::milliseconds timeout);
    // Exactly `count` bytes; empty when they do not come in time.
    std::optional<std::string> read_exactly(std::size_t count, std::chrono::milliseconds timeout);
    // True when the peer closes (or resets) the connection within `timeout`;
    // whatever it sends first is discarded.
    bool closed_by_peer(std::chrono::milliseconds timeout);

private:
    // Appends what arrives before `deadline`; false on close, error or time.
    bool fill(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    std::string buffer_;
};

// The status code of the first HTTP response line in `bytes`, or 0.
unsigned http_status(std::string_view bytes);

// WebSocket frames as RFC 6455 has them, masked as a client must.
namespace frame {
constexpr unsigned continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA;
}

std::string websocket_frame(unsigned opcode, std::string_view payload, bool fin = true);

struct ServerFrame {
    unsigned opcode = 0;
    bool fin = true;
    std::string payload;
    // For a close frame: the status code, 1005 when it carries none.
    unsigned close_code() const;
};

// Sends the opening handshake for /ws (with Origin when not empty) and
// returns the response's status code, 0 when none came.
unsigned websocket_open(RawSocket& socket, std::uint16_t port, std::string_view origin);
// The next frame the server sends; empty when none comes in time or the
// connection ends.
std::optional<ServerFrame> read_frame(RawSocket& socket, std::chrono::milliseconds timeout);
// Reads frames until a close frame (returns its code) or a text frame
// (returns 0 and puts its payload in `text`); skips pongs. Empty when
// neither comes in time or the connection ends without a close frame.
std::optional<unsigned> next_text_or_close(RawSocket& socket, std::string& text,
                                           std::chrono::milliseconds timeout);

}  // namespace backtalk::test
