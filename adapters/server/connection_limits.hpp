// Caps on open connections, in total and per client address. A connection
// holds a lease for its whole life, across the upgrade to WebSocket.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace backtalk::server {

class ConnectionLimits;

class ConnectionLease {
public:
    ConnectionLease() = default;  // holds nothing: the connection was refused
    ~ConnectionLease();
    ConnectionLease(ConnectionLease&& other) noexcept;
    ConnectionLease& operator=(ConnectionLease&& other) noexcept;
    ConnectionLease(const ConnectionLease&) = delete;
    ConnectionLease& operator=(const ConnectionLease&) = delete;

    explicit operator bool() const { return limits_ != nullptr; }

private:
    friend class ConnectionLimits;
    ConnectionLease(std::shared_ptr<ConnectionLimits> limits, std::string address);
    void release();

    std::shared_ptr<ConnectionLimits> limits_;
    std::string address_;
};

class ConnectionLimits : public std::enable_shared_from_this<ConnectionLimits> {
public:
    ConnectionLimits(std::size_t max_total, std::size_t max_per_address);

    // An empty lease when either cap is reached.
    ConnectionLease try_acquire(const std::string& address);
    std::size_t open() const;

private:
    friend class ConnectionLease;
    void release(const std::string& address);

    const std::size_t max_total_;
    const std::size_t max_per_address_;
    mutable std::mutex mutex_;
    std::size_t total_ = 0;
    std::unordered_map<std::string, std::size_t> per_address_;
};

}  // namespace backtalk::server
