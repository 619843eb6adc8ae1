// A bounded memory of recent keys, each with a value, that survives a
// restart: Telegram's seen update ids, REST answers by message_id. Lookups
// use memory; every new entry is also written through the store's bindings
// table into a ring of `capacity` slots, so the table never holds more than
// `capacity` rows for the scope however long the server runs. Entries are
// forgotten after `retention`, or earlier, oldest first, when more than
// `capacity` arrive within it. Safe to use from any thread.
//
// On a store several instances share (PostgreSQL) a key is claimed in the
// database instead, one row per key, so that two instances never both take
// it: memory then only saves asking again. Rows older than `retention` are
// removed every `capacity / 10` claims (at least every 1000).
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

    // True when claim() asks the database (a shared store): call it where
    // waiting on the store is allowed (its reader thread), never on a
    // network thread. False: memory answers.
    bool asks_store() const { return shared_; }

    std::optional<std::string> find(const std::string& key, std::int64_t now_ms);
    // Remembers `key` with `value`. False, and nothing changes, when the key
    // is already there.
    bool insert(const std::string& key, const std::string& value, std::int64_t now_ms);
    // Takes `key` for this instance with `value`: nothing when it is ours
    // now; the value it has when it was taken before, here or (asks_store)
    // by another instance. Without a shared store the claim stays in memory
    // (one process takes all its keys; a crash before replace() leaves the
    // key free for a retry). Throws store::StoreUnavailable when the
    // database cannot be asked.
    std::optional<std::string> claim(const std::string& key, const std::string& value, std::int64_t now_ms);
    // Gives a key this instance holds its final value (a REST answer once
    // the turn is done), here and in the store.
    void replace(const std::string& key, const std::string& value, std::int64_t now_ms);

    std::size_t size() const;
    // Entries picked up from the store at start.
    std::size_t loaded() const { return loaded_; }

private:
    struct Entry {
        std::string value;
        std::int64_t time_ms = 0;
        std::uint64_t sequence = 0;  // its row's ring slot (sequence % capacity), unless shared
    };
    void forget_old(std::int64_t now_ms);
    // Inserts into memory (the lock held); false if the key is there.
    bool remember(const std::string& key, Entry entry, std::int64_t now_ms);
    void write_through(const std::string& key, const Entry& entry);

    store::Store* store_;
    bool shared_ = false;
    std::size_t claims_since_cleanup_ = 0;  // shared only
    const RecentLedgerOptions options_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    std::deque<std::string> order_;  // keys, oldest first
    std::uint64_t next_sequence_ = 0;  // the ring slot is sequence % capacity
    std::size_t loaded_ = 0;
};

}  // namespace backtalk::server
