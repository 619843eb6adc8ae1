#include "adapters/server/recent_ledger.hpp"

#include "adapters/server/log.hpp"
#include "store/store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <vector>

namespace backtalk::server {

namespace {

struct StoredEntry {
    std::uint64_t sequence = 0;
    std::string key;
    std::int64_t time_ms = 0;
    std::string value;
};

std::vector<StoredEntry> read_scope(store::Store& store, const std::string& scope) {
    std::vector<StoredEntry> stored;
    for (const std::string& value : store.binding_values(scope)) {
        const auto row = nlohmann::json::parse(value, nullptr, false);
        if (!row.is_object() || !row.contains("seq") || !row["seq"].is_number_unsigned() ||
            !row.contains("key") || !row["key"].is_string() || !row.contains("time") ||
            !row["time"].is_number_integer() || !row.contains("value") || !row["value"].is_string()) {
            continue;  // not written by us: leave it alone
        }
        stored.push_back({row["seq"].get<std::uint64_t>(), row["key"].get<std::string>(),
                          row["time"].get<std::int64_t>(), row["value"].get<std::string>()});
    }
    std::sort(stored.begin(), stored.end(),
              [](const StoredEntry& a, const StoredEntry& b) { return a.sequence < b.sequence; });
    return stored;
}

}  // namespace

RecentLedger::RecentLedger(store::Store* store, RecentLedgerOptions options, std::int64_t now_ms)
    : store_(store), shared_(store && store->shared()), options_(std::move(options)) {
    if (options_.capacity == 0) throw std::invalid_argument("a recent ledger needs a capacity");
    // A shared store is asked for each key it does not have in memory.
    if (!store_ || shared_) return;
    try {
        for (auto& entry : read_scope(*store_, options_.scope)) {
            next_sequence_ = std::max(next_sequence_, entry.sequence + 1);
            if (now_ms - entry.time_ms > options_.retention.count()) continue;
            if (entries_.insert_or_assign(entry.key, Entry{std::move(entry.value), entry.time_ms, entry.sequence})
                    .second) {
                order_.push_back(entry.key);
            }
        }
        loaded_ = entries_.size();
        forget_old(now_ms);
    } catch (const std::exception& error) {
        // Without the history a retry might be handled twice; that is better
        // than not starting.
        log(LogLevel::warn, "recent entries not loaded from the database, starting empty",
            {{"scope", options_.scope}, {"error", error.what()}});
    }
}

std::optional<std::string> RecentLedger::find(const std::string& key, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    forget_old(now_ms);
    const auto found = entries_.find(key);
    if (found == entries_.end()) return std::nullopt;
    return found->second.value;
}

bool RecentLedger::insert(const std::string& key, const std::string& value, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    const Entry entry{value, now_ms, next_sequence_};
    if (!remember(key, entry, now_ms)) return false;
    ++next_sequence_;
    write_through(key, entry);
    return true;
}

std::optional<std::string> RecentLedger::claim(const std::string& key, const std::string& value,
                                               std::int64_t now_ms) {
    if (auto known = find(key, now_ms)) return known;
    if (!shared_) {
        // Memory only: what a restart must know, replace() writes.
        std::lock_guard lock(mutex_);
        if (!remember(key, Entry{value, now_ms, next_sequence_}, now_ms)) return entries_.at(key).value;
        ++next_sequence_;
        return std::nullopt;
    }
    bool clean_up = false;
    {
        std::lock_guard lock(mutex_);
        if (++claims_since_cleanup_ >= std::clamp<std::size_t>(options_.capacity / 10, 1, 1000)) {
            claims_since_cleanup_ = 0;
            clean_up = true;
        }
    }
    // Before the claim: if the database fails, nothing is claimed.
    if (clean_up) store_->forget_claims_before(options_.scope, now_ms - options_.retention.count());
    // Outside the lock: the database may take a while, and only it decides.
    std::optional<std::string> taken = store_->claim_binding(options_.scope, key, value, now_ms);
    // Only our own keys are remembered: another instance's value may still
    // change (replace), so it is asked for again.
    if (!taken) {
        std::lock_guard lock(mutex_);
        remember(key, Entry{value, now_ms, 0}, now_ms);
    }
    return taken;
}

void RecentLedger::replace(const std::string& key, const std::string& value, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    forget_old(now_ms);
    const auto found = entries_.find(key);
    Entry entry{value, now_ms, next_sequence_};
    if (found == entries_.end()) {
        remember(key, entry, now_ms);
        ++next_sequence_;
    } else {
        entry.sequence = found->second.sequence;  // the same ring slot, rewritten
        found->second = entry;
    }
    write_through(key, entry);
}

bool RecentLedger::remember(const std::string& key, Entry entry, std::int64_t now_ms) {
    forget_old(now_ms);
    if (!entries_.try_emplace(key, std::move(entry)).second) return false;
    order_.push_back(key);
    forget_old(now_ms);
    return true;
}

// A shared store keeps one row per key (claim_binding wrote it); otherwise
// the entry goes to its slot of the ring.
void RecentLedger::write_through(const std::string& key, const Entry& entry) {
    if (!store_) return;
    if (shared_) {
        store_->set_binding(options_.scope, key, entry.value, entry.time_ms);
        return;
    }
    const nlohmann::json row{{"seq", entry.sequence}, {"key", key}, {"time", entry.time_ms}, {"value", entry.value}};
    store_->set_binding(options_.scope, std::to_string(entry.sequence % options_.capacity), row.dump(),
                        entry.time_ms);
}

std::size_t RecentLedger::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void RecentLedger::forget_old(std::int64_t now_ms) {
    while (!order_.empty()) {
        const auto oldest = entries_.find(order_.front());
        const bool expired = now_ms - oldest->second.time_ms > options_.retention.count();
        if (!expired && entries_.size() <= options_.capacity) return;
        entries_.erase(oldest);
        order_.pop_front();
    }
}

}  // namespace backtalk::server
