// The open connections, so that a graceful stop can reach every one of them
// (the shared_state of Beast's websocket-chat-multi example). Holds weak
// references only: a connection's life is its own pending operations.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace backtalk::server {

class Stoppable {
public:
    virtual ~Stoppable() = default;
    // Called from any thread; the connection finishes on its own strand.
    virtual void stop() = 0;
};

class SessionRegistry {
public:
    // False once stop_all() has begun: the caller must stop by itself.
    bool add(const std::shared_ptr<Stoppable>& session);
    void remove(const Stoppable* session);

    // Asks every registered connection, and any added later, to stop.
    void stop_all();
    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::unordered_map<const Stoppable*, std::weak_ptr<Stoppable>> sessions_;
    bool stopping_ = false;
};

}  // namespace backtalk::server
