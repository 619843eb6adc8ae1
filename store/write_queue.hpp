// The queue between the callers that log and the one writer thread that
// commits: records waiting, the newest state of each session and binding
// waiting (reads see them before they are committed), commands for the
// writer, counters and health. No database here; a backend commits what
// the writer thread takes from it.
#pragma once

#include "store/store.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace backtalk::store::detail {

using Clock = std::chrono::steady_clock;

// A session's newest state, shared and immutable, waiting to be written:
// the writer thread turns it into JSON, so a network thread never pays for
// the serialisation. Only the newest one of each session is kept: a newer
// one replaces it, and the one replaced is freed by the caller that queued
// the newer, not by the writer. Sessions change every turn, and a queue that
// held each of them would have the writer free nine of ten unwritten, and
// keep thousands alive while it is behind.
struct PendingSession {
    std::shared_ptr<const Session> session;
    std::int64_t updated_ms = 0;
    std::uint64_t version = 0;
};

// In the queue: this session has a newer state to write.
struct SessionItem {
    std::string id;
    std::uint64_t version = 0;
};

struct BindingItem {
    std::string scope;
    std::string key;
    std::string value;
    std::int64_t updated_ms = 0;
    std::uint64_t version = 0;
};

// Maintenance work for the writer thread. The caller may give up waiting; a
// command is then cancelled rather than run later behind the caller's back.
struct Command {
    enum class Phase { queued, running, cancelled };
    std::function<void()> run;
    std::mutex mutex;
    Phase phase = Phase::queued;
    std::promise<void> done;

    bool begin();
    bool cancel();
};

using Item = std::variant<ConversationRecord, MessageRecord, SessionItem, AuditRecord, BindingItem,
                          std::shared_ptr<Command>>;

struct Pending {
    Item item;
    Clock::time_point enqueued;
};

using Batch = std::deque<Pending>;

// The sessions a batch wrote: their pending state may be dropped once
// committed, unless a newer one has been queued since.
using WrittenSessions = std::vector<std::pair<std::string_view, std::uint64_t>>;

// What the writer thread takes next: a command, a batch, or nothing (closed
// and empty).
using Work = std::variant<std::monostate, std::shared_ptr<Command>, Batch>;

class WriteQueue {
public:
    WriteQueue(std::size_t capacity, std::size_t batch_rows, std::chrono::milliseconds batch_interval);

    // ---- callers ----
    // False (and counted as dropped) when the queue is full or closed.
    bool enqueue(Item item);
    bool enqueue_session(std::string id, std::shared_ptr<const Session> session, std::int64_t updated_ms);
    bool enqueue_turn(TurnLog turn);
    // Queues `run` for the writer and waits up to `limit` for it to start;
    // then cancels it and throws std::runtime_error. Rethrows what it threw.
    void run_command(std::function<void()> run, std::chrono::milliseconds limit);
    bool flush(std::chrono::milliseconds limit);
    // Stops taking records; the writer commits what is queued until `limit`.
    // False if it was closed already.
    bool close(std::chrono::milliseconds limit);

    std::shared_ptr<const Session> pending_session(const std::string& id) const;
    std::optional<std::string> pending_binding(const std::string& scope, const std::string& key) const;
    // After a purge or a deletion: what waits for those sessions and
    // bindings is gone too.
    void forget_sessions_before(std::int64_t cutoff_ms);
    void forget_conversation(const std::string& id);

    // ---- writer thread ----
    Work next_work();
    // The newest pending state of each session named in `wanted` (left
    // without a session when it was deleted meanwhile).
    void newest_sessions(std::unordered_map<std::string_view, PendingSession>& wanted) const;
    void settle(const Batch& batch, const WrittenSessions& written_sessions, std::uint64_t written,
                std::uint64_t dropped, std::int64_t commit_us);
    void command_settled();
    // True if writes were failing until now.
    bool note_recovered();
    // True if writes were fine until now.
    bool note_failure(const std::string& error);
    void note_error(const std::string& error);
    // Waits before the next attempt; false once close has waited long enough.
    bool back_off(std::chrono::milliseconds& delay, std::chrono::milliseconds max_backoff);
    std::uint64_t dropped() const;

    // ---- anyone ----
    StoreHealth health() const;  // without the hasher's warning
    bool backlogged() const;
    StoreCounters counters() const;
    bool closed() const;

private:
    bool admit_locked();
    void push_locked(Item item, Clock::time_point now);
    void queue_session_locked(std::string id, std::shared_ptr<const Session> session, std::int64_t updated_ms,
                              Clock::time_point now, std::shared_ptr<const Session>& replaced);

    const std::size_t capacity_;
    const std::size_t batch_rows_;
    const std::chrono::milliseconds batch_interval_;

    mutable std::mutex mutex_;
    std::condition_variable work_ready_;
    std::condition_variable batch_done_;
    std::deque<Pending> queue_;
    std::size_t commands_queued_ = 0;
    std::size_t in_flight_ = 0;
    // Items and commands taken into the queue, and those of them that are
    // committed, dropped or run (always a prefix of the queue's order).
    std::uint64_t items_queued_ = 0;
    std::uint64_t items_settled_ = 0;
    std::uint64_t flush_through_ = 0;  // flush() wants items up to here written now
    bool stopping_ = false;
    bool closed_ = false;
    Clock::time_point close_deadline_;
    std::unordered_map<std::string, PendingSession> pending_sessions_;
    std::unordered_map<std::string, BindingItem> pending_bindings_;
    std::uint64_t next_version_ = 0;
    StoreCounters counters_;
    bool failing_ = false;
    std::deque<std::int64_t> batch_times_us_;
};

std::string binding_key(const std::string& scope, const std::string& key);

// Folds a later record of one conversation into `folded`, as a database's
// upsert of both would leave the row: the first channel and start, the
// latest state, topic and locale, the highest activity and turn count, and
// the latest user hash and outcome that were set. A batch writes a busy
// conversation's row once.
void fold_conversation(ConversationRecord& folded, const ConversationRecord& later);

}  // namespace backtalk::store::detail
