// The conversation log and session store: the interface the rest of
// backtalk uses, whatever the database behind it (store/backend.hpp; the
// SQLite backend is in store/sqlite/, the PostgreSQL one in
// store/postgresql/). Callers on any thread hand records
// to store methods, which redact what people typed and queue them; one
// writer thread commits the queue to SQLite in batches (at most `batch_rows`
// rows or `batch_interval` of waiting, whichever comes first). A graceful close
// commits everything queued; a hard kill loses at most the batch in flight;
// WAL keeps the file consistent either way.
//
// Faults never block a caller: when the database is read-only, full, locked
// or gone, the writer retries the batch with backoff, the queue fills up to
// its capacity and further records are dropped and counted; health() and
// counters() say so.
#pragma once

#include "bot/engine.hpp"
#include "bot/reply.hpp"
#include "bot/session.hpp"
#include "store/redact.hpp"
#include "store/review.hpp"
#include "store/rules_notices.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::store {

struct StoreOptions {
    // The SQLite file, unless postgresql_url is set.
    std::filesystem::path path = "data/backtalk.db";
    // A postgresql:// URL (store/location.hpp): the PostgreSQL backend, which
    // several instances can share. Empty: SQLite at `path`.
    std::string postgresql_url;
    bool redact = true;
    RedactionOptions redaction;
    // Under load, big batches: rows of many conversations land on different
    // B-tree pages, each written to the WAL once per commit, so the more rows
    // share a commit the less each costs (100 -> 1000 halved a message row's
    // cost; 1000 -> 4000 gave the gateway a fifth more turns with logging
    // on), and a busy conversation's updates and snapshots fold into one row
    // per batch. At 100,000 records a second 4000 is 40 ms, within the
    // 50 ms that bounds a batch at low load.
    std::size_t batch_rows = 4000;
    std::chrono::milliseconds batch_interval{50};
    std::size_t queue_capacity = 40000;
    std::chrono::milliseconds busy_timeout{2000};
    // How long close() keeps retrying a failing database before it drops
    // what is left (and counts it).
    std::chrono::milliseconds close_timeout{5000};
    std::chrono::milliseconds max_backoff{1000};
    // 0: no limit. Otherwise writes fail as "database or disk is full" once
    // the file would grow past this size.
    std::uint64_t max_bytes = 0;
    // Where the HMAC key for user hashes lives unless BACKTALK_HASH_KEY is
    // set; empty: "hash.key" next to `path` (with PostgreSQL too: instances
    // sharing a database need the same key).
    std::filesystem::path hash_key_file;
    // Called from the writer thread when writing starts failing, recovers, or
    // drops records. Empty: a line on stderr.
    std::function<void(std::string_view)> report;
};

// Process-wide SQLite settings. Call at the start of main, before any thread
// or database uses SQLite; later, SQLite refuses them and nothing changes
// (they only save time). Turns off SQLite's allocation statistics, which
// take a global mutex on every allocation of every connection (the log
// writer spent 2% of its time in it).
void configure_sqlite_library();

// A read that could not reach the database (missing, locked past the busy
// timeout, failing): the caller must not take the answer as "not there".
class StoreUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Direction { in, out };
std::string_view to_string(Direction direction);

struct ConversationRecord {
    std::string id;
    std::string channel;
    std::string user_hash;  // keyed hash; empty if the channel has no user id
    std::int64_t started_ms = 0;
    std::int64_t last_activity_ms = 0;
    std::string locale;
    std::optional<Triage> outcome;
    int turns = 0;
    std::string state;   // where the conversation stands after its latest turn
    std::string asking;
};

// One object in or out. Inbound rows carry what the engine understood and
// the state and topic the message answered; outbound rows carry the reply's
// own state, topic and triage.
struct MessageRecord {
    std::string conversation;
    std::int64_t time_ms = 0;
    Direction direction = Direction::in;
    std::string kind;  // in: start, message, choice, invalid; out: session, reply, error
    std::string text;  // inbound: redacted by the store before it is queued
    std::string code;  // the error code of an error object
    std::vector<std::string> intents;
    double confidence = 0.0;
    bool understood = false;
    std::string state;
    std::string asking;
    std::optional<Triage> triage;
    // Why the advice is what it is (the rules at its level, their facts and
    // the turns that set them): on the turn's first reply with a triage.
    std::vector<RuleBasis> basis;
    std::string rules_version;
    std::string channel;
    std::int64_t processing_us = 0;
    // With a shared store (PostgreSQL): the version of the session after
    // the turn. Instances write one conversation's log in batches of their
    // own; this orders its rows as its turns happened.
    std::uint64_t session_version = 0;
};

// Everything one turn logs: the conversation's row, the objects in and out,
// and the session's new state if it changed (null: unchanged).
struct TurnLog {
    ConversationRecord conversation;
    std::vector<MessageRecord> messages;
    std::shared_ptr<const Session> session;  // must not change afterwards
    std::int64_t now_ms = 0;
};

struct AuditRecord {
    std::int64_t time_ms = 0;
    std::string actor;   // who: e.g. "admin-api 127.0.0.1", "cli"
    std::string action;  // what: "list", "show", "export", "delete", ...
    std::string detail;  // e.g. the conversation id or the filters
};

// A session as a store that several instances share keeps it: each write
// raises its version.
struct VersionedSession {
    Session session;
    std::uint64_t version = 0;
};

struct StoreCounters {
    std::uint64_t rows_written = 0;
    std::uint64_t batches = 0;
    std::uint64_t dropped = 0;        // records that will never be written
    std::uint64_t write_failures = 0; // failed attempts, each retried or dropped
    std::size_t queue_depth = 0;
    std::string last_error;           // empty if none yet
    // Median commit time of recent batches, microseconds.
    std::int64_t median_batch_us = 0;
};

struct StoreHealth {
    bool ok = true;
    std::string reason;  // why not ok
};

class Store {
public:
    // Opens (creating it and its folder if needed) and migrates the database
    // on the writer thread. Throws when the file is not a database or comes
    // from a newer backtalk; a database that cannot be written yet (read-only,
    // full, locked) gives a degraded store that keeps retrying.
    explicit Store(StoreOptions options);
    ~Store();  // close()
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Commits everything queued, then stops the writer. Idempotent. A
    // failing database gets close_timeout, or `limit`, before what is left
    // is dropped (and counted).
    StoreCounters close();
    StoreCounters close(std::chrono::milliseconds limit);

    // Queue a record; never blocks on the database. False if it was dropped
    // because the queue is full or the store is closed.
    bool log_conversation(ConversationRecord record);
    bool log_message(MessageRecord record);
    bool save_session(const std::string& id, const Session& session, std::int64_t now_ms);
    // The same without a copy: the store keeps the shared session (which must
    // not change afterwards) and serialises it on the writer thread. Only
    // the newest state of each session waits: a batch writes the one that
    // is newest when it is committed, which may be newer than its messages.
    bool save_session(const std::string& id, std::shared_ptr<const Session> session, std::int64_t now_ms);
    // A whole turn, queued under one lock (a busy gateway takes the queue's
    // lock once per turn rather than once per record). False if any of it
    // was dropped.
    bool log_turn(TurnLog turn);
    bool record_audit(AuditRecord record);
    // A small key/value table for channels, e.g. a Telegram chat's hashed id
    // to its session id.
    bool set_binding(const std::string& scope, const std::string& key, const std::string& value,
                     std::int64_t now_ms);

    // Reads see queued records that are not committed yet.
    // A session: nothing when the id is unknown or its snapshot cannot be
    // restored (a broken snapshot stays broken); StoreUnavailable when the
    // database cannot be read right now, since the session may well exist.
    std::optional<Session> load_session(const std::string& id);
    // A binding: nothing when unknown; StoreUnavailable when the database
    // cannot be read right now (the caller must not take a chat for new).
    std::optional<std::string> binding(const std::string& scope, const std::string& key);

    // True when other backtalk instances may write the same sessions
    // (PostgreSQL). A turn then computes on the session it holds and writes
    // it with commit_session; on a conflict it reloads and computes again.
    bool shared() const;
    // A shared store's session with its version; nothing when unknown or
    // not restorable. StoreUnavailable when the database cannot be read. Runs
    // on the caller's thread: never call it on a network thread.
    std::optional<VersionedSession> load_versioned_session(const std::string& id);
    // Writes `session` if the stored one is still at `expected_version` (0:
    // there is none yet), committed before it returns: the new version, or
    // nothing when another instance wrote it first. StoreUnavailable when
    // the database cannot be written. Shared stores only (std::logic_error
    // otherwise); on the caller's thread, like load_versioned_session.
    std::optional<std::uint64_t> commit_session(const std::string& id, const Session& session, std::int64_t now_ms,
                                                std::uint64_t expected_version);

    // The rules published to every instance (store/rules_notices.hpp);
    // shared stores only, std::logic_error otherwise.
    // Records `version` as the rules every instance should run and notifies
    // the instances listening, in one commit; returns the publication. Runs
    // on the writer thread in queue order, like maintenance, and throws when
    // the database cannot be written within close_timeout.
    PublishedRules publish_rules(const std::string& version, const std::string& origin, std::int64_t now_ms);
    // Starts watching the publications (see RulesWatch for its thread).
    std::unique_ptr<RulesWatch> watch_rules(RulesWatchOptions options);

    // Takes `key` in `scope` for this instance, writing `value` there, unless
    // it is taken already (by any instance): nothing when this call took it,
    // else the value there. Atomic in the database and committed before it
    // returns, so two instances never both take one key (a Telegram update,
    // a REST message_id). StoreUnavailable when the database cannot be
    // written. Shared stores only (std::logic_error otherwise); on the
    // caller's thread, like commit_session. set_binding replaces the value.
    std::optional<std::string> claim_binding(const std::string& scope, const std::string& key,
                                             const std::string& value, std::int64_t now_ms);
    // Removes the keys of `scope` last written before `cutoff_ms`, so that
    // claims (one row each) do not pile up; how many. Shared stores only, on
    // the caller's thread, like claim_binding.
    std::size_t forget_claims_before(const std::string& scope, std::int64_t cutoff_ms);

    // Review queries on a read-only view of what is committed, opened for
    // the caller (a long export never holds up session loads). Throws when
    // the database cannot be opened.
    std::unique_ptr<review::ReviewReader> review();
    // The committed values bound in `scope` (a channel's ledger read back at
    // start). Throws when the database cannot be read.
    std::vector<std::string> binding_values(const std::string& scope);

    // Runs `job` on the store's reader thread, after the jobs posted before
    // it: work that must read the store (load_session, binding) and may wait
    // on it there rather than on a network thread. False when the store is
    // closed; the job is then not run.
    bool post_read(std::function<void()> job);

    // Waits until everything queued before the call is committed or dropped.
    // False if that took longer than close_timeout, or `limit` (the database
    // is failing or far behind).
    bool flush();
    bool flush(std::chrono::milliseconds limit);

    // Maintenance, run on the writer thread in queue order. Each throws when
    // the database cannot be written within close_timeout; the operation is
    // then cancelled, not left to run later.
    // Removes conversations whose last activity is before `cutoff_ms`, with
    // their messages, sessions and bindings. Returns the conversations removed.
    std::size_t purge_before(std::int64_t cutoff_ms);
    // Removes one conversation, its messages, session and review. False if unknown.
    bool delete_conversation(const std::string& id);
    // Marks a conversation reviewed (replacing an earlier mark), after
    // everything queued before. False if the conversation is unknown;
    // std::invalid_argument for a mark review::validate refuses. The
    // caller records who did it in the audit.
    bool mark_reviewed(const review::ReviewMark& mark);
    // An online copy (SQLite backup API) of everything committed, checked
    // with PRAGMA quick_check. Refuses to overwrite an existing file. Runs on
    // the caller's thread with a connection of its own.
    void backup_to(const std::filesystem::path& target);

    // Not ok while writes fail, the queue is nearly full, or the latest read
    // or session commit failed (the database cannot be reached); in that
    // case it has the reader thread try the database again, so it recovers
    // without waiting for a turn. Never waits on the database.
    StoreHealth health() const;
    // True while two batches (at most half the capacity) are waiting and the
    // database takes writes: the writer is merely behind, and callers that
    // can wait (a chat connection before reading its next message) should,
    // so that records are written rather than dropped and a hard kill loses
    // little. False while writes fail: nobody waits for a broken database.
    bool backlogged() const;
    StoreCounters counters() const;

    // The keyed hash to store for a channel's user id (see user_hash.hpp).
    std::string hash_user(std::string_view channel, std::string_view user_id) const;

    const StoreOptions& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace backtalk::store
