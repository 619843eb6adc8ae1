#include "adapters/server/connection_limits.hpp"

namespace backtalk::server {

ConnectionLease::ConnectionLease(std::shared_ptr<ConnectionLimits> limits, std::string address)
    : limits_(std::move(limits)), address_(std::move(address)) {}

ConnectionLease::~ConnectionLease() { release(); }

ConnectionLease::ConnectionLease(ConnectionLease&& other) noexcept
    : limits_(std::move(other.limits_)), address_(std::move(other.address_)) {
    other.limits_.reset();
}

ConnectionLease& ConnectionLease::operator=(ConnectionLease&& other) noexcept {
    if (this != &other) {
        release();
        limits_ = std::move(other.limits_);
        address_ = std::move(other.address_);
        other.limits_.reset();
    }
    return *this;
}

void ConnectionLease::release() {
    if (limits_) {
        limits_->release(address_);
        limits_.reset();
    }
}

ConnectionLimits::ConnectionLimits(std::size_t max_total, std::size_t max_per_address)
    : max_total_(max_total), max_per_address_(max_per_address) {}

ConnectionLease ConnectionLimits::try_acquire(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto& from_address = per_address_[address];
    if (total_ >= max_total_ || from_address >= max_per_address_) {
        if (from_address == 0) per_address_.erase(address);
        return {};
    }
    ++total_;
    ++from_address;
    return ConnectionLease(shared_from_this(), address);
}

std::size_t ConnectionLimits::open() const {
    std::lock_guard lock(mutex_);
    return total_;
}

void ConnectionLimits::release(const std::string& address) {
    std::lock_guard lock(mutex_);
    --total_;
    const auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

}  // namespace backtalk::server
