// What a database backend does for the Store: commit the batches and run the
// maintenance the writer thread hands it, and answer reads. The Store owns
// the queue and the writer thread; a backend only talks to its database.
#pragma once

#include "store/review.hpp"
#include "store/rules_notices.hpp"
#include "store/write_queue.hpp"

#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace backtalk::store::detail {

// A mistake in the settings (the path is a folder, the file is not a
// database or comes from a newer backtalk): retrying will not get past it.
class FatalOpenError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class StoreBackend {
public:
    virtual ~StoreBackend() = default;

    // ---- writer thread only ----
    // Opens (creating and migrating) the database unless it is open.
    virtual void ensure_writer() = 0;
    // Drops the writer's connection: the next attempt opens it again
    // (permissions or the file may have changed).
    virtual void reset_writer() = 0;
    // One attempt at committing `batch`. Records the database can never take
    // are dropped and counted in `rejected`; database errors propagate.
    virtual void write_batch(const Batch& batch, const WriteQueue& queue, std::uint64_t& rejected,
                             WrittenSessions& written_sessions) = 0;
    // After a committed batch: housekeeping such as bounding the WAL.
    virtual void after_batch() = 0;
    // Removes conversations last active before `cutoff_ms` with their
    // messages, sessions and bindings; returns the conversations removed.
    virtual std::size_t purge_before(std::int64_t cutoff_ms) = 0;
    // Removes one conversation, its messages, session and bindings. False if unknown.
    virtual bool delete_conversation(const std::string& id) = 0;
    // Writes a (validated) review mark over any earlier one. False if the
    // conversation is unknown.
    virtual bool mark_reviewed(const review::ReviewMark& mark) = 0;
    // True for an error that belongs to one record or command (a constraint,
    // a value too big) rather than to the database.
    virtual bool is_record_error(const std::exception& error) const = 0;

    // Shared backends: Store::publish_rules.
    virtual PublishedRules publish_rules(const std::string& version, const std::string& origin, std::int64_t now_ms);

    // ---- any thread ----
    // True when other instances write the same database (see Store::shared).
    virtual bool shared() const { return false; }
    // A session's snapshot and version (shared backends). Throws when the
    // database cannot be read.
    virtual std::optional<std::pair<std::string, std::uint64_t>> versioned_snapshot(const std::string& id);
    // Writes `snapshot` if the stored version is `expected_version` (0:
    // none); the new version, or nothing on a conflict (shared backends).
    virtual std::optional<std::uint64_t> commit_snapshot(const std::string& id, const std::string& snapshot,
                                                         std::int64_t now_ms, std::uint64_t expected_version);
    // Shared backends: Store::watch_rules.
    virtual std::unique_ptr<RulesWatch> watch_rules(RulesWatchOptions options);
    // Writes `value` under (scope, key) unless the key is taken, committed
    // before it returns: nothing when this call took it, else the value
    // there (shared backends). Throws when the database cannot be written.
    virtual std::optional<std::string> claim_binding(const std::string& scope, const std::string& key,
                                                     const std::string& value, std::int64_t now_ms);
    // Removes the bindings of `scope` written before `cutoff_ms` (shared
    // backends); how many.
    virtual std::size_t forget_claims_before(const std::string& scope, std::int64_t cutoff_ms);
    // A session's stored snapshot (JSON text); nothing when unknown. Throws
    // when the database cannot be read.
    virtual std::optional<std::string> session_snapshot(const std::string& id) = 0;
    virtual std::optional<std::string> binding(const std::string& scope, const std::string& key) = 0;
    virtual std::vector<std::string> binding_values(const std::string& scope) = 0;
    virtual std::unique_ptr<review::ReviewReader> review() = 0;
    // A checked online copy of what is committed into a new file.
    virtual void backup_to(const std::filesystem::path& target) = 0;
    // Closes the connections readers share.
    virtual void close_readers() = 0;
};

}  // namespace backtalk::store::detail
