// A bounded memory of recent keys, each with a value, that survives a
// restart: Telegram's seen update ids, REST answers by message_id. Lookups
// use memory; every new entry is also written through the store's bindings
// table into a ring of `capacity` slots, so the table never holds more than
// `capacity` rows for the scope however long the server runs. Entries are
// forgotten after `retention`, or earlier, oldest first, when more than
// `capacity` arrive within it. Safe to use from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace backtalk::store {
class Store;
}

namespace backtalk::server {

struct RecentLedgerOptions {
    std::string scope;  // the bindings scope, e.g. "telegram_update"
    std::size_t capacity = 100000;
    std::chrono::milliseconds retention{std::chrono::hours(25)};
};

class RecentLedger {
public:
    // Loads the entries an earlier run left in `store` that are still within
    // the retention. `store` may be null: memory only.
    RecentLedger(store::Store* store, RecentLedgerOptions options, std::int64_t now_ms);

    std::optional<std::string> find(const std::string& key, std::int64_t now_ms);
    // Remembers `key` with `value`. False, and nothing changes, when the key
    // is already there.
    bool insert(const std::string& key, const std::string& value, std::int64_t now_ms);

    std::size_t size() const;
    // Entries picked up from the store at start.
    std::size_t loaded() const { return loaded_; }

private:
    struct Entry {
        std::string value;
        std::int64_t time_ms = 0;
    };
    void forget_old(std::int64_t now_ms);

    store::Store* store_;
    const RecentLedgerOptions options_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    std::deque<std::string> order_;  // keys, oldest first
    std::uint64_t next_sequence_ = 0;  // the ring slot is sequence % capacity
    std::size_t loaded_ = 0;
};

}  // namespace backtalk::server
