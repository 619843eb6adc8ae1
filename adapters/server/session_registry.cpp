#include "adapters/server/session_registry.hpp"

#include <vector>

namespace backtalk::server {

bool SessionRegistry::add(const std::shared_ptr<Stoppable>& session) {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    sessions_.emplace(session.get(), session);
    return true;
}

void SessionRegistry::remove(const Stoppable* session) {
    std::lock_guard lock(mutex_);
    sessions_.erase(session);
}

void SessionRegistry::stop_all() {
    std::vector<std::shared_ptr<Stoppable>> live;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (const auto& [key, weak] : sessions_) {
            if (auto session = weak.lock()) live.push_back(std::move(session));
        }
    }
    // Outside the lock: a session may remove itself while stopping.
    for (const auto& session : live) session->stop();
}

std::size_t SessionRegistry::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

}  // namespace backtalk::server
