#include "tests/hostile/raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace backtalk::test {

using Clock = std::chrono::steady_clock;

RawSocket::RawSocket(std::uint16_t port, int receive_buffer_bytes) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
    if (receive_buffer_bytes > 0 &&
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes) != 0) {
        const int error = errno;
        ::close(fd_);
        throw std::system_error(error, std::generic_category(), "SO_RCVBUF");
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd_);
        throw std::system_error(error, std::generic_category(), "connect to 127.0.0.1:" + std::to_string(port));
    }
}

RawSocket::~RawSocket() { ::close(fd_); }

bool RawSocket::send(std::string_view bytes) {
    while (!bytes.empty()) {
        const auto sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

bool RawSocket::fill(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd waiting{fd_, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(left));
    if (ready <= 0) return false;
    char chunk[16 * 1024];
    const auto received = ::recv(fd_, chunk, sizeof chunk, 0);
    if (received <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(received));
    return true;
}

std::string RawSocket::read_until(std::string_view marker, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::size_t found;
    while ((found = buffer_.find(marker)) == std::string::npos) {
        if (!fill(deadline)) {
            std::string partial;
            partial.swap(buffer_);
            return partial;
        }
    }
    std::string head = buffer_.substr(0, found + marker.size());
    buffer_.erase(0, found + marker.size());
    return head;
}

std::optional<std::string> RawSocket::read_exactly(std::size_t count, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (buffer_.size() < count) {
        if (!fill(deadline)) return std::nullopt;
    }
    std::string bytes = buffer_.substr(0, count);
    buffer_.erase(0, count);
    return bytes;
}

bool RawSocket::closed_by_peer(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd waiting{fd_, POLLIN, 0};
        if (::poll(&waiting, 1, static_cast<int>(left)) <= 0) return false;
        char chunk[4096];
        const auto received = ::recv(fd_, chunk, sizeof chunk, 0);
        if (received <= 0) return true;
    }
    return false;
}

unsigned http_status(std::string_view bytes) {
    constexpr std::string_view prefix = "HTTP/1.1 ";
    if (bytes.substr(0, prefix.size()) != prefix || bytes.size() < prefix.size() + 3) return 0;
    unsigned status = 0;
    for (const char digit : bytes.substr(prefix.size(), 3)) {
        if (digit < '0' || digit > '9') return 0;
        status = status * 10 + static_cast<unsigned>(digit - '0');
    }
    return status;
}

std::string websocket_frame(unsigned opcode, std::string_view payload, bool fin) {
    std::string bytes;
    bytes.push_back(static_cast<char>((fin ? 0x80u : 0u) | opcode));
    constexpr unsigned masked = 0x80;
    if (payload.size() < 126) {
        bytes.push_back(static_cast<char>(masked | payload.size()));
    } else if (payload.size() <= 0xFFFF) {
        bytes.push_back(static_cast<char>(masked | 126));
        bytes.push_back(static_cast<char>(payload.size() >> 8));
        bytes.push_back(static_cast<char>(payload.size() & 0xFF));
    } else {
        bytes.push_back(static_cast<char>(masked | 127));
        for (int shift = 56; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((payload.size() >> shift) & 0xFF));
    }
    const char mask[4] = {0x37, 0x5a, 0x11, 0x7e};
    bytes.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) bytes.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return bytes;
}

unsigned ServerFrame::close_code() const {
    if (payload.size() < 2) return 1005;
    return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
}

unsigned websocket_open(RawSocket& socket, std::uint16_t port, std::string_view origin) {
    std::string request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    if (!origin.empty()) request += "Origin: " + std::string(origin) + "\r\n";
    request += "\r\n";
    if (!socket.send(request)) return 0;
    return http_status(socket.read_until("\r\n\r\n", std::chrono::seconds(5)));
}

std::optional<ServerFrame> read_frame(RawSocket& socket, std::chrono::milliseconds timeout) {
    const auto head = socket.read_exactly(2, timeout);
    if (!head) return std::nullopt;
    ServerFrame received;
    received.fin = (static_cast<unsigned char>((*head)[0]) & 0x80) != 0;
    received.opcode = static_cast<unsigned char>((*head)[0]) & 0x0F;
    std::uint64_t length = static_cast<unsigned char>((*head)[1]) & 0x7F;
    const std::size_t extended = length == 126 ? 2 : length == 127 ? 8 : 0;
    if (extended > 0) {
        const auto bytes = socket.read_exactly(extended, timeout);
        if (!bytes) return std::nullopt;
        length = 0;
        for (const char byte : *bytes) length = (length << 8) | static_cast<unsigned char>(byte);
    }
    const auto payload = socket.read_exactly(static_cast<std::size_t>(length), timeout);
    if (!payload) return std::nullopt;
    received.payload = *payload;
    return received;
}

std::optional<unsigned> next_text_or_close(RawSocket& socket, std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        const auto received = read_frame(socket, left);
        if (!received) return std::nullopt;
        if (received->opcode == frame::close) return received->close_code();
        if (received->opcode == frame::text) {
            text = received->payload;
            return 0u;
        }
    }
    return std::nullopt;
}

}  // namespace backtalk::test
