#include "store/backend.hpp"

namespace backtalk::store::detail {

// A store of one instance (SQLite) writes sessions through its queue; only
// a shared one versions them.
std::optional<std::pair<std::string, std::uint64_t>> StoreBackend::versioned_snapshot(const std::string&) {
    throw std::logic_error("sessions carry versions only in a store several instances share");
}

std::optional<std::uint64_t> StoreBackend::commit_snapshot(const std::string&, const std::string&, std::int64_t,
                                                           std::uint64_t) {
    throw std::logic_error("sessions carry versions only in a store several instances share");
}

// A store of one instance has nobody to tell: its server reloads on SIGHUP.
PublishedRules StoreBackend::publish_rules(const std::string&, const std::string&, std::int64_t) {
    throw std::logic_error("rules are published only in a store several instances share");
}

std::unique_ptr<RulesWatch> StoreBackend::watch_rules(RulesWatchOptions) {
    throw std::logic_error("rules are published only in a store several instances share");
}

// One instance (SQLite) is the only one to claim keys: it remembers them
// itself (adapters/server/recent_ledger.hpp).
std::optional<std::string> StoreBackend::claim_binding(const std::string&, const std::string&, const std::string&,
                                                       std::int64_t) {
    throw std::logic_error("keys are claimed in the database only in a store several instances share");
}

std::size_t StoreBackend::forget_claims_before(const std::string&, std::int64_t) {
    throw std::logic_error("keys are claimed in the database only in a store several instances share");
}

}  // namespace backtalk::store::detail
