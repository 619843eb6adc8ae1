#include "bot/store/store.hpp"

#include "bot/json_writer.hpp"
#include "bot/store/private_file.hpp"
#include "bot/store/schema.hpp"
#include "bot/store/user_hash.hpp"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <iostream>
#include <mutex>
#include <pthread.h>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>

namespace backtalk::store {

void configure_sqlite_library() { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

std::string_view to_string(Direction direction) { return direction == Direction::in ? "in" : "out"; }

namespace {

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
    std::function<void(SQLite::Database&)> run;
    std::mutex mutex;
    Phase phase = Phase::queued;
    std::promise<void> done;

    bool begin() {
        std::lock_guard lock(mutex);
        if (phase != Phase::queued) return false;
        phase = Phase::running;
        return true;
    }
    bool cancel() {
        std::lock_guard lock(mutex);
        if (phase != Phase::queued) return false;
        phase = Phase::cancelled;
        return true;
    }
};

using Item = std::variant<ConversationRecord, MessageRecord, SessionItem, AuditRecord, BindingItem,
                          std::shared_ptr<Command>>;

struct Pending {
    Item item;
    Clock::time_point enqueued;
};

using Batch = std::deque<Pending>;

bool is_command(const Pending& pending) {
    return std::holds_alternative<std::shared_ptr<Command>>(pending.item);
}

// Errors that belong to one record (it can never be written) rather than to
// the database; the record is dropped and the rest of the batch goes on.
bool is_record_error(const SQLite::Exception& error) {
    switch (error.getErrorCode()) {
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_TOOBIG:
        case SQLITE_RANGE:
            return true;
        default:
            return false;
    }
}

class FatalOpenError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string binding_key(const std::string& scope, const std::string& key) {
    std::string joined = scope;
    joined += '\0';
    joined += key;
    return joined;
}

std::int64_t elapsed_us(Clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - since).count();
}

// Text columns are bound without a copy: every string bound lives until the
// statement has run (the record, or a local of the write function).
// A string column, or NULL when empty.
void bind_text_or_null(SQLite::Statement& statement, int index, const std::string& text) {
    if (text.empty()) {
        statement.bind(index);
    } else {
        statement.bindNoCopy(index, text);
    }
}

// The writer's connection and its prepared statements.
struct WriterConnection {
    SQLite::Database db;
    SQLite::Statement upsert_conversation;
    SQLite::Statement insert_message;
    SQLite::Statement last_seq;
    SQLite::Statement add_message_counts;
    SQLite::Statement recount_messages;
    SQLite::Statement upsert_session;
    SQLite::Statement insert_audit;
    SQLite::Statement upsert_binding;

    explicit WriterConnection(SQLite::Database opened)
        : db(std::move(opened)),
          upsert_conversation(db, R"sql(
              INSERT INTO conversations (id, channel, user_hash, started, last_activity, locale,
                                         outcome_level, outcome_reasons, turns, state, asking)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (id) DO UPDATE SET
                  user_hash = COALESCE(excluded.user_hash, user_hash),
                  last_activity = max(last_activity, excluded.last_activity),
                  locale = excluded.locale,
                  outcome_level = COALESCE(excluded.outcome_level, outcome_level),
                  outcome_reasons = COALESCE(excluded.outcome_reasons, outcome_reasons),
                  turns = max(turns, excluded.turns),
                  state = excluded.state,
                  asking = excluded.asking)sql"),
          insert_message(db, R"sql(
              INSERT INTO messages (conversation, seq, time, direction, kind, text, code, intents,
                                    confidence, understood, state, asking, triage_level,
                                    triage_reasons, rules_version, channel, processing_us)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql"),
          last_seq(db, "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation = ?"),
          // Right-hand sides read the row as it was: turns_to_outcome is the
          // answers before this batch plus those in it before its first
          // triage, unless an earlier batch set it.
          add_message_counts(db, R"sql(
              UPDATE conversations SET messages_in = messages_in + ?2, messages_out = messages_out + ?3,
                                       answers = answers + ?4, typed = typed + ?5,
                                       not_understood = not_understood + ?6,
                                       turns_to_outcome = COALESCE(turns_to_outcome, answers + ?7)
              WHERE id = ?1)sql"),
          recount_messages(db, std::string("UPDATE conversations SET ") + message_counts_from_messages +
                                   " WHERE id = ?"),
          upsert_session(db, R"sql(
              INSERT INTO sessions (id, snapshot, updated) VALUES (?, ?, ?)
              ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, updated = excluded.updated)sql"),
          insert_audit(db, "INSERT INTO audit (time, actor, action, detail) VALUES (?, ?, ?, ?)"),
          upsert_binding(db, R"sql(
              INSERT INTO bindings (scope, key, value, updated) VALUES (?, ?, ?, ?)
              ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated = excluded.updated)sql") {}
};

// The conversation records of one batch, folded into the one the upsert
// would leave: the first insert's channel and start, the latest state,
// topic and locale, the highest activity and turn count, and the latest
// user hash and outcome that were set (COALESCE).
struct FoldedConversation {
    ConversationRecord record;
    std::size_t last = 0;  // where in the batch the folded row is written
};

// What a batch's messages add to their conversation's counts (schema 6).
struct MessageCounts {
    std::int64_t in = 0;
    std::int64_t out = 0;
    std::int64_t answers = 0;  // the person's messages and choices
    std::int64_t typed = 0;    // their messages
    std::int64_t not_understood = 0;
    std::optional<std::int64_t> answers_before_outcome;  // at the batch's first reply with a triage

    void add(const MessageRecord& record) {
        if (record.direction == Direction::out) {
            ++out;
            if (record.triage && !answers_before_outcome) answers_before_outcome = answers;
            return;
        }
        ++in;
        if (record.kind == "message" || record.kind == "choice") ++answers;
        if (record.kind == "message") {
            ++typed;
            if (!record.understood) ++not_understood;
        }
    }
};

void fold(ConversationRecord& folded, const ConversationRecord& later) {
    if (!later.user_hash.empty()) folded.user_hash = later.user_hash;
    folded.last_activity_ms = std::max(folded.last_activity_ms, later.last_activity_ms);
    folded.locale = later.locale;
    if (later.outcome) folded.outcome = later.outcome;
    folded.turns = std::max(folded.turns, later.turns);
    folded.state = later.state;
    folded.asking = later.asking;
}

constexpr std::size_t batch_time_samples = 255;
// A reader that never pauses keeps automatic checkpoints from finishing and
// the WAL grows; past this size the writer forces a truncating checkpoint.
constexpr std::uintmax_t wal_limit_bytes = 64u << 20;
constexpr int batches_between_wal_checks = 100;
constexpr auto drop_report_interval = std::chrono::seconds(5);

}  // namespace

struct Store::Impl {
    StoreOptions options;
    UserHasher hasher;

    // Queue and everything the writer shares with callers.
    mutable std::mutex mutex;
    std::condition_variable work_ready;
    std::condition_variable batch_done;
    std::deque<Pending> queue;
    std::size_t commands_queued = 0;
    std::size_t in_flight = 0;
    // Items and commands taken into the queue, and those of them that are
    // committed, dropped or run (always a prefix of the queue's order).
    std::uint64_t items_queued = 0;
    std::uint64_t items_settled = 0;
    std::uint64_t flush_through = 0;  // flush() wants items up to here written now
    bool stopping = false;
    bool closed = false;
    Clock::time_point close_deadline;
    std::unordered_map<std::string, PendingSession> pending_sessions;
    std::unordered_map<std::string, BindingItem> pending_bindings;
    std::uint64_t next_version = 0;
    StoreCounters counters;
    bool failing = false;
    std::deque<std::int64_t> batch_times_us;

    // Writer thread only.
    std::unique_ptr<WriterConnection> writer;
    std::unordered_map<std::string, std::int64_t> last_seq_cache;
    // Conversations whose messages were written while their row was missing.
    std::unordered_set<std::string> uncounted;
    std::uint64_t reported_dropped = 0;
    std::uint64_t dropped_at_close = 0;
    int batches_since_wal_check = 0;
    Clock::time_point last_drop_report;
    std::thread thread;

    std::mutex reader_mutex;
    std::optional<SQLite::Database> reader;

    explicit Impl(StoreOptions opts)
        : options(std::move(opts)),
          hasher(UserHasher::from_environment(options.hash_key_file.empty()
                                                  ? options.path.parent_path() / "hash.key"
                                                  : options.hash_key_file)) {
        if (!options.report) {
            options.report = [](std::string_view line) { std::cerr << "backtalk store: " << line << '\n'; };
        }
        if (options.batch_rows == 0) throw std::invalid_argument("batch_rows must be at least 1");
        if (options.queue_capacity < options.batch_rows) {
            throw std::invalid_argument("queue_capacity must be at least batch_rows");
        }
    }

    // ---- callers' side ----

    // Only what people type is scrubbed: the bot's own text comes from the
    // rules and never quotes them, and scrubbing it would garble numbers the
    // rules give on purpose.
    void scrub(MessageRecord& record) const {
        if (options.redact && record.direction == Direction::in) {
            record.text = redact(record.text, options.redaction);
        }
    }

    bool enqueue(Item item) {
        std::lock_guard lock(mutex);
        if (!admit_locked()) return false;
        if (auto* binding = std::get_if<BindingItem>(&item)) {
            binding->version = ++next_version;
            pending_bindings[binding_key(binding->scope, binding->key)] = *binding;
        }
        push_locked(std::move(item), Clock::now());
        return true;
    }

    bool enqueue_session(std::string id, std::shared_ptr<const Session> session, std::int64_t updated_ms) {
        std::shared_ptr<const Session> replaced;  // freed after the lock is released
        std::lock_guard lock(mutex);
        if (!admit_locked()) return false;
        queue_session_locked(std::move(id), std::move(session), updated_ms, Clock::now(), replaced);
        return true;
    }

    bool enqueue_turn(TurnLog turn) {
        std::shared_ptr<const Session> replaced;  // freed after the lock is released
        std::string session_id = turn.session ? turn.conversation.id : std::string();
        std::lock_guard lock(mutex);
        const Clock::time_point now = Clock::now();
        bool all_queued = true;
        // Takes the record itself, not an Item: building the variant here, in
        // place, keeps GCC 12 at -O3 from a false -Wmaybe-uninitialized on
        // the variant's other alternatives when a temporary is moved.
        const auto push = [&](auto&& record) {
            if (admit_locked()) {
                push_locked(Item(std::forward<decltype(record)>(record)), now);
            } else {
                all_queued = false;
            }
        };
        push(std::move(turn.conversation));
        for (auto& message : turn.messages) push(std::move(message));
        if (turn.session) {
            if (admit_locked()) {
                queue_session_locked(std::move(session_id), std::move(turn.session), turn.now_ms, now, replaced);
            } else {
                all_queued = false;
            }
        }
        return all_queued;
    }

    // With the mutex held and the item admitted: only the newest state of a
    // session waits; `replaced` takes the one it replaces.
    void queue_session_locked(std::string id, std::shared_ptr<const Session> session, std::int64_t updated_ms,
                              Clock::time_point now, std::shared_ptr<const Session>& replaced) {
        const std::uint64_t version = ++next_version;
        auto& pending = pending_sessions[id];
        replaced = std::exchange(pending.session, std::move(session));
        pending.updated_ms = updated_ms;
        pending.version = version;
        push_locked(SessionItem{std::move(id), version}, now);
    }

    // With the mutex held: false (and counted as dropped) when the queue is
    // full or the store is closed.
    bool admit_locked() {
        if (!stopping && queue.size() < options.queue_capacity) return true;
        ++counters.dropped;
        return false;
    }

    void push_locked(Item item, Clock::time_point now) {
        queue.push_back(Pending{std::move(item), now});
        ++items_queued;
        // Wake the writer to start its batch timer, or when a batch is full.
        if (queue.size() == 1 || queue.size() >= options.batch_rows) work_ready.notify_one();
    }

    // Queues a command and waits for it; gives up (and cancels it) after
    // close_timeout if it has not started.
    void run_command(std::function<void(SQLite::Database&)> run) {
        auto command = std::make_shared<Command>();
        command->run = std::move(run);
        std::future<void> done = command->done.get_future();
        {
            std::lock_guard lock(mutex);
            if (stopping) throw std::runtime_error("the store is closed");
            queue.push_back(Pending{command, Clock::now()});
            ++commands_queued;
            ++items_queued;
            work_ready.notify_one();
        }
        if (done.wait_for(options.close_timeout) == std::future_status::timeout && command->cancel()) {
            std::lock_guard lock(mutex);
            throw std::runtime_error("the database is not writable: " +
                                     (counters.last_error.empty() ? std::string("timed out")
                                                                  : counters.last_error));
        }
        done.get();
    }

    // ---- writer thread ----

    void open_writer() {
        std::error_code ec;
        if (options.path.has_parent_path()) std::filesystem::create_directories(options.path.parent_path(), ec);
        // A folder (or a device) where the file should be is a mistake in
        // the settings, not a fault that retrying would get past.
        if (std::filesystem::exists(options.path, ec) && !std::filesystem::is_regular_file(options.path, ec)) {
            throw FatalOpenError(options.path.string() + " is not a database file (it is a directory or a device)");
        }
        // Created 0600 before SQLite sees it, so the log and its -wal and -shm
        // files are private whatever the umask. A file that cannot be created
        // is left to SQLite's open below, which reports why in its own words.
        std::error_code not_created;
        create_private_file(options.path, not_created);
        const int busy_ms = static_cast<int>(options.busy_timeout.count());
        // Only the writer thread uses this connection: no SQLite mutex on
        // every bind and step.
        SQLite::Database db(options.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
                            busy_ms);
        try {
            // Check before changing anything in a file from a newer backtalk.
            check_schema_supported(db);
            configure_writer_connection(db, busy_ms);
            if (options.max_bytes > 0) {
                const auto page_size = db.execAndGet("PRAGMA page_size").getInt64();
                const auto pages = std::max<std::uint64_t>(1, options.max_bytes / static_cast<std::uint64_t>(page_size));
                db.execAndGet("PRAGMA max_page_count = " + std::to_string(pages));
            }
            migrate(db);
        } catch (const SchemaTooNew& error) {
            throw FatalOpenError(error.what());
        } catch (const SQLite::Exception& error) {
            if (error.getErrorCode() == SQLITE_NOTADB) {
                throw FatalOpenError(options.path.string() + " is not a backtalk database: " + error.what());
            }
            throw;
        }
        writer = std::make_unique<WriterConnection>(std::move(db));
        last_seq_cache.clear();
    }

    void ensure_writer() {
        if (!writer) open_writer();
    }

    std::int64_t next_seq(const std::string& conversation,
                          std::unordered_map<std::string, std::int64_t>& batch_seqs) {
        auto in_batch = batch_seqs.find(conversation);
        if (in_batch != batch_seqs.end()) return ++in_batch->second;
        std::int64_t last = 0;
        if (auto cached = last_seq_cache.find(conversation); cached != last_seq_cache.end()) {
            last = cached->second;
        } else {
            auto& query = writer->last_seq;
            query.bind(1, conversation);
            query.executeStep();
            last = query.getColumn(0).getInt64();
            query.reset();
        }
        batch_seqs[conversation] = last + 1;
        return last + 1;
    }

    void write(const ConversationRecord& record) {
        auto& s = writer->upsert_conversation;
        s.bindNoCopy(1, record.id);
        s.bindNoCopy(2, record.channel);
        bind_text_or_null(s, 3, record.user_hash);
        s.bind(4, record.started_ms);
        s.bind(5, record.last_activity_ms);
        s.bindNoCopy(6, record.locale);
        const std::string level = record.outcome ? std::string(backtalk::to_string(record.outcome->level)) : "";
        const std::string reasons = record.outcome ? json_string_array(record.outcome->reasons) : "";
        if (record.outcome) {
            s.bindNoCopy(7, level);
            s.bindNoCopy(8, reasons);
        } else {
            s.bind(7);
            s.bind(8);
        }
        s.bind(9, record.turns);
        bind_text_or_null(s, 10, record.state);
        bind_text_or_null(s, 11, record.asking);
        s.exec();
        s.reset();
    }

    void write(const MessageRecord& record, std::unordered_map<std::string, std::int64_t>& batch_seqs) {
        const std::int64_t seq = next_seq(record.conversation, batch_seqs);
        auto& s = writer->insert_message;
        s.bindNoCopy(1, record.conversation);
        s.bind(2, seq);
        s.bind(3, record.time_ms);
        const std::string direction(to_string(record.direction));
        s.bindNoCopy(4, direction);
        s.bindNoCopy(5, record.kind);
        s.bindNoCopy(6, record.text);
        bind_text_or_null(s, 7, record.code);
        const std::string intents = record.direction == Direction::in ? json_string_array(record.intents) : "";
        const std::string level = record.triage ? std::string(backtalk::to_string(record.triage->level)) : "";
        const std::string reasons = record.triage ? json_string_array(record.triage->reasons) : "";
        if (record.direction == Direction::in) {
            s.bindNoCopy(8, intents);
            s.bind(9, record.confidence);
            s.bind(10, record.understood ? 1 : 0);
        } else {
            s.bind(8);
            s.bind(9);
            s.bind(10);
        }
        bind_text_or_null(s, 11, record.state);
        bind_text_or_null(s, 12, record.asking);
        if (record.triage) {
            s.bindNoCopy(13, level);
            s.bindNoCopy(14, reasons);
        } else {
            s.bind(13);
            s.bind(14);
        }
        bind_text_or_null(s, 15, record.rules_version);
        bind_text_or_null(s, 16, record.channel);
        s.bind(17, record.processing_us);
        try {
            s.exec();
        } catch (...) {
            // The sequence number was not used.
            --batch_seqs[record.conversation];
            s.reset();
            throw;
        }
        s.reset();
    }

    // False if the conversation has no row (yet).
    bool write(const std::string& conversation, const MessageCounts& counts) {
        auto& s = writer->add_message_counts;
        s.bindNoCopy(1, conversation);
        s.bind(2, counts.in);
        s.bind(3, counts.out);
        s.bind(4, counts.answers);
        s.bind(5, counts.typed);
        s.bind(6, counts.not_understood);
        if (counts.answers_before_outcome) s.bind(7, *counts.answers_before_outcome);
        else s.bind(7);
        const bool found = s.exec() > 0;
        s.reset();
        return found;
    }

    // Counts the conversation's messages from the table; false if it has no row.
    bool recount_conversation(const std::string& conversation) {
        auto& s = writer->recount_messages;
        s.bindNoCopy(1, conversation);
        const bool found = s.exec() > 0;
        s.reset();
        return found;
    }

    void write(const std::string& id, const PendingSession& pending) {
        auto& s = writer->upsert_session;
        const std::string snapshot = session_snapshot(*pending.session);
        s.bindNoCopy(1, id);
        s.bindNoCopy(2, snapshot);
        s.bind(3, pending.updated_ms);
        s.exec();
        s.reset();
    }

    void write(const AuditRecord& record) {
        auto& s = writer->insert_audit;
        s.bind(1, record.time_ms);
        s.bind(2, record.actor);
        s.bind(3, record.action);
        bind_text_or_null(s, 4, record.detail);
        s.exec();
        s.reset();
    }

    void write(const BindingItem& item) {
        auto& s = writer->upsert_binding;
        s.bind(1, item.scope);
        s.bind(2, item.key);
        s.bind(3, item.value);
        s.bind(4, item.updated_ms);
        s.exec();
        s.reset();
    }

    // The sessions a batch wrote: their pending state may be dropped once
    // committed, unless a newer one has been queued since.
    using WrittenSessions = std::vector<std::pair<std::string_view, std::uint64_t>>;

    // One attempt at committing the batch. Records that can never be written
    // are dropped (counted in `rejected`); database errors propagate.
    void try_write_batch(const Batch& batch, std::uint64_t& rejected, WrittenSessions& written_sessions) {
        ensure_writer();
        std::unordered_map<std::string, std::int64_t> batch_seqs;
        rejected = 0;
        written_sessions.clear();
        // A busy conversation has several turns in one batch. Its session is
        // written once, in its newest state (which may be newer than the
        // batch), and its conversation records are folded into one row
        // update; each at the place of the last.
        struct NewestSession {
            std::size_t last = 0;
            PendingSession pending;  // no session: deleted or purged meanwhile
        };
        std::unordered_map<std::string_view, NewestSession> sessions;
        std::unordered_map<std::string_view, FoldedConversation> conversations;
        std::unordered_map<std::string_view, MessageCounts> message_counts;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (const auto* session = std::get_if<SessionItem>(&batch[i].item)) {
                sessions[session->id].last = i;
            } else if (const auto* record = std::get_if<ConversationRecord>(&batch[i].item)) {
                auto [folded, first] = conversations.try_emplace(record->id);
                if (first) folded->second.record = *record;
                else fold(folded->second.record, *record);
                folded->second.last = i;
            }
        }
        if (!sessions.empty()) {
            std::lock_guard lock(mutex);
            for (auto& [id, newest] : sessions) {
                if (auto found = pending_sessions.find(std::string(id)); found != pending_sessions.end()) {
                    newest.pending = found->second;
                }
            }
        }
        SQLite::Transaction transaction(writer->db);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const Item& item = batch[i].item;
            try {
                if (const auto* session = std::get_if<SessionItem>(&item)) {
                    const NewestSession& newest = sessions[session->id];
                    if (newest.last != i || !newest.pending.session) continue;
                    write(session->id, newest.pending);
                    written_sessions.emplace_back(session->id, newest.pending.version);
                } else if (const auto* conversation = std::get_if<ConversationRecord>(&item)) {
                    const FoldedConversation& folded = conversations[conversation->id];
                    if (folded.last == i) write(folded.record);
                } else if (const auto* message = std::get_if<MessageRecord>(&item)) {
                    write(*message, batch_seqs);
                    message_counts[message->conversation].add(*message);
                } else if (const auto* audit = std::get_if<AuditRecord>(&item)) {
                    write(*audit);
                } else if (const auto* binding = std::get_if<BindingItem>(&item)) {
                    write(*binding);
                } else {
                    throw std::logic_error("a command inside a batch");
                }
            } catch (const SQLite::Exception& error) {
                if (!is_record_error(error)) throw;
                ++rejected;
                options.report(std::string("dropped a record the database refused: ") + error.what());
            }
        }
        // After the loop, so that a recount sees the batch's messages. A
        // conversation's row is queued before its messages, so it exists by
        // now, unless it was dropped (queue full), refused or deleted: its
        // messages are then counted again from the table once it exists.
        std::vector<std::string> counted;
        std::vector<std::string> missing;
        const auto count_messages = [&](std::string_view id, const MessageCounts* counts) {
            const std::string conversation(id);
            const bool recount = uncounted.count(conversation) > 0;
            if (!recount && !counts) return;
            const bool found = recount ? recount_conversation(conversation) : write(conversation, *counts);
            if (recount && found) counted.push_back(conversation);
            if (!recount && !found) missing.push_back(conversation);
        };
        for (const auto& [id, counts] : message_counts) count_messages(id, &counts);
        for (const auto& [id, folded] : conversations) {
            if (!message_counts.count(id)) count_messages(id, nullptr);
        }
        transaction.commit();
        for (const auto& id : counted) uncounted.erase(id);
        for (auto& id : missing) uncounted.insert(std::move(id));
        // Bounded memory: each entry is a conversation whose rows were lost.
        if (uncounted.size() > 10000) {
            options.report("more than 10000 conversations lost their rows; their message counts stay short");
            uncounted.clear();
        }
        for (const auto& [conversation, seq] : batch_seqs) last_seq_cache[conversation] = seq;
        // Bounded memory: the cache refills from the index on demand.
        if (last_seq_cache.size() > 100000) last_seq_cache.clear();
    }

    void note_failure(const std::string& error) {
        writer.reset();  // reopen on the next attempt: permissions or the file may have changed
        bool started_failing = false;
        {
            std::lock_guard lock(mutex);
            ++counters.write_failures;
            counters.last_error = error;
            started_failing = !failing;
            failing = true;
        }
        if (started_failing) options.report("cannot write the conversation log, retrying: " + error);
    }

    void note_recovered() {
        bool recovered = false;
        {
            std::lock_guard lock(mutex);
            recovered = failing;
            failing = false;
        }
        if (recovered) options.report("the conversation log is writable again");
    }

    // Waits before the next attempt; false once close has waited long enough.
    bool back_off(std::chrono::milliseconds& delay) {
        std::unique_lock lock(mutex);
        if (stopping && Clock::now() >= close_deadline) return false;
        const auto until = stopping ? std::min(Clock::now() + delay, close_deadline) : Clock::now() + delay;
        // Woken early only by close(), which shortens the wait to its deadline.
        work_ready.wait_until(lock, until, [&] { return stopping && Clock::now() >= close_deadline; });
        delay = std::min(delay * 2, options.max_backoff);
        return true;
    }

    void settle(const Batch& batch, const WrittenSessions& written_sessions, std::uint64_t written,
                std::uint64_t dropped, std::int64_t commit_us) {
        // Callers wait for this mutex to queue their records: look the
        // settled sessions and bindings up before taking it, and free the
        // sessions written after releasing it.
        std::vector<std::string> session_ids;
        session_ids.reserve(written_sessions.size());
        for (const auto& [id, version] : written_sessions) session_ids.emplace_back(id);
        std::vector<std::pair<std::string, std::uint64_t>> bindings;
        for (const Pending& pending : batch) {
            if (const auto* binding = std::get_if<BindingItem>(&pending.item)) {
                bindings.emplace_back(binding_key(binding->scope, binding->key), binding->version);
            }
        }
        std::vector<std::shared_ptr<const Session>> settled_sessions;
        settled_sessions.reserve(written_sessions.size());
        std::lock_guard lock(mutex);
        for (std::size_t i = 0; i < session_ids.size(); ++i) {
            auto found = pending_sessions.find(session_ids[i]);
            if (found != pending_sessions.end() && found->second.version == written_sessions[i].second) {
                settled_sessions.push_back(std::move(found->second.session));
                pending_sessions.erase(found);
            }
        }
        for (const auto& [key, version] : bindings) {
            auto found = pending_bindings.find(key);
            if (found != pending_bindings.end() && found->second.version == version) pending_bindings.erase(found);
        }
        counters.rows_written += written;
        counters.dropped += dropped;
        if (written > 0) {
            ++counters.batches;
            batch_times_us.push_back(commit_us);
            if (batch_times_us.size() > batch_time_samples) batch_times_us.pop_front();
        }
        in_flight = 0;
        items_settled += batch.size();
        batch_done.notify_all();
    }

    void write_batch(const Batch& batch) {
        auto delay = std::chrono::milliseconds(10);
        WrittenSessions written_sessions;
        for (;;) {
            const auto started = Clock::now();
            try {
                std::uint64_t rejected = 0;
                try_write_batch(batch, rejected, written_sessions);
                settle(batch, written_sessions, batch.size() - rejected, rejected, elapsed_us(started));
                note_recovered();
                limit_wal();
                return;
            } catch (const FatalOpenError& error) {
                note_failure(error.what());
            } catch (const std::exception& error) {
                note_failure(error.what());
            }
            if (!back_off(delay)) {
                dropped_at_close += batch.size();
                settle(batch, {}, 0, batch.size(), 0);
                return;
            }
        }
    }

    void limit_wal() {
        if (++batches_since_wal_check < batches_between_wal_checks) return;
        batches_since_wal_check = 0;
        std::error_code ec;
        const auto wal_size = std::filesystem::file_size(options.path.string() + "-wal", ec);
        if (ec || wal_size <= wal_limit_bytes) return;
        try {
            writer->db.execAndGet("PRAGMA wal_checkpoint(TRUNCATE)");
        } catch (const SQLite::Exception& error) {
            options.report(std::string("the WAL is ") + std::to_string(wal_size >> 20) +
                           " MiB and could not be checkpointed: " + error.what());
        }
    }

    void run_command_item(const std::shared_ptr<Command>& command) {
        if (!command->begin()) return;
        try {
            ensure_writer();
            command->run(writer->db);
            command->done.set_value();
        } catch (const FatalOpenError& error) {
            note_failure(error.what());
            command->done.set_exception(std::current_exception());
        } catch (const SQLite::Exception& error) {
            if (!is_record_error(error)) note_failure(error.what());
            command->done.set_exception(std::current_exception());
        } catch (...) {
            command->done.set_exception(std::current_exception());
        }
    }

    void report_queue_drops() {
        std::uint64_t dropped = 0;
        {
            std::lock_guard lock(mutex);
            dropped = counters.dropped;
        }
        const auto now = Clock::now();
        if (dropped > reported_dropped && now - last_drop_report >= drop_report_interval) {
            options.report("dropped " + std::to_string(dropped - reported_dropped) +
                           " log records (queue full or database failing); " + std::to_string(dropped) +
                           " in all");
            reported_dropped = dropped;
            last_drop_report = now;
        }
    }

    void writer_loop() {
        std::unique_lock lock(mutex);
        for (;;) {
            work_ready.wait(lock, [&] { return !queue.empty() || stopping; });
            if (queue.empty()) break;
            if (!stopping && commands_queued == 0 && !is_command(queue.front())) {
                const auto deadline = queue.front().enqueued + options.batch_interval;
                work_ready.wait_until(lock, deadline, [&] {
                    return stopping || commands_queued > 0 || flush_through > items_settled ||
                           queue.size() >= options.batch_rows;
                });
            }
            if (is_command(queue.front())) {
                auto command = std::get<std::shared_ptr<Command>>(std::move(queue.front().item));
                queue.pop_front();
                --commands_queued;
                in_flight = 1;
                lock.unlock();
                run_command_item(command);
                lock.lock();
                in_flight = 0;
                ++items_settled;
                batch_done.notify_all();
                continue;
            }
            Batch batch;
            if (commands_queued == 0 && queue.size() <= options.batch_rows) {
                // The whole queue in O(1): callers wait for this mutex to
                // queue their records, and moving thousands of records one by
                // one held it for hundreds of microseconds.
                batch.swap(queue);
            } else {
                while (!queue.empty() && batch.size() < options.batch_rows && !is_command(queue.front())) {
                    batch.push_back(std::move(queue.front()));
                    queue.pop_front();
                }
            }
            in_flight = batch.size();
            lock.unlock();
            write_batch(batch);
            report_queue_drops();
            // Freed before the lock is taken again: thousands of records
            // (and the sessions only they still hold) take a while to free.
            batch = {};
            lock.lock();
        }
        lock.unlock();
        if (dropped_at_close > 0) {
            options.report("closing: dropped " + std::to_string(dropped_at_close) +
                           " records the database would not take");
        }
    }

    // ---- reads ----

    SQLite::Database open_read_only() const {
        return SQLite::Database(options.path, SQLite::OPEN_READONLY, static_cast<int>(options.busy_timeout.count()));
    }

    template <class Read>
    auto with_reader(Read&& read_fn) {
        std::lock_guard lock(reader_mutex);
        try {
            if (!reader) reader.emplace(open_read_only());
            return read_fn(*reader);
        } catch (...) {
            reader.reset();
            throw;
        }
    }
};

Store::Store(StoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    // The first open happens on the writer thread too, so that SQLite is
    // only ever written from there; fatal problems are reported here.
    std::promise<void> opened;
    std::future<void> open_result = opened.get_future();
    impl_->thread = std::thread([impl = impl_.get(), opened = std::move(opened)]() mutable {
        pthread_setname_np(pthread_self(), "backtalk-log");
        try {
            impl->open_writer();
            opened.set_value();
        } catch (const FatalOpenError&) {
            opened.set_exception(std::current_exception());
            return;
        } catch (const std::exception& error) {
            impl->note_failure(error.what());
            opened.set_value();
        }
        impl->writer_loop();
    });
    try {
        open_result.get();
    } catch (...) {
        impl_->thread.join();
        throw;
    }
}

Store::~Store() { close(); }

StoreCounters Store::close() { return close(impl_->options.close_timeout); }

StoreCounters Store::close(std::chrono::milliseconds limit) {
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->closed) {
            impl_->stopping = true;
            impl_->closed = true;
            impl_->close_deadline = Clock::now() + limit;
            impl_->work_ready.notify_all();
        }
    }
    if (impl_->thread.joinable()) impl_->thread.join();
    impl_->writer.reset();
    {
        std::lock_guard lock(impl_->reader_mutex);
        impl_->reader.reset();
    }
    return counters();
}

bool Store::log_conversation(ConversationRecord record) { return impl_->enqueue(std::move(record)); }

bool Store::log_message(MessageRecord record) {
    impl_->scrub(record);
    return impl_->enqueue(std::move(record));
}

bool Store::log_turn(TurnLog turn) {
    for (auto& message : turn.messages) impl_->scrub(message);
    return impl_->enqueue_turn(std::move(turn));
}

bool Store::save_session(const std::string& id, const Session& session, std::int64_t now_ms) {
    return save_session(id, std::make_shared<const Session>(session), now_ms);
}

bool Store::save_session(const std::string& id, std::shared_ptr<const Session> session, std::int64_t now_ms) {
    if (!session) throw std::invalid_argument("save_session needs a session");
    return impl_->enqueue_session(id, std::move(session), now_ms);
}

bool Store::record_audit(AuditRecord record) { return impl_->enqueue(std::move(record)); }

bool Store::set_binding(const std::string& scope, const std::string& key, const std::string& value,
                        std::int64_t now_ms) {
    return impl_->enqueue(BindingItem{scope, key, value, now_ms, 0});
}

std::optional<Session> Store::load_session(const std::string& id) {
    {
        std::lock_guard lock(impl_->mutex);
        if (auto found = impl_->pending_sessions.find(id); found != impl_->pending_sessions.end()) {
            return *found->second.session;
        }
    }
    const auto note_error = [&](const std::string& error) {
        std::lock_guard lock(impl_->mutex);
        impl_->counters.last_error = error;
    };
    std::string snapshot;
    try {
        snapshot = impl_->with_reader([&](SQLite::Database& db) {
            SQLite::Statement query(db, "SELECT snapshot FROM sessions WHERE id = ?");
            query.bind(1, id);
            return query.executeStep() ? query.getColumn(0).getString() : std::string();
        });
    } catch (const std::exception& error) {
        const std::string reason = "reading session " + id + ": " + error.what();
        note_error(reason);
        throw StoreUnavailable(reason);
    }
    if (snapshot.empty()) return std::nullopt;
    try {
        return session_from_json(nlohmann::json::parse(snapshot));
    } catch (const std::exception& error) {
        note_error("session " + id + " cannot be restored: " + error.what());
        return std::nullopt;
    }
}

std::optional<std::string> Store::binding(const std::string& scope, const std::string& key) {
    {
        std::lock_guard lock(impl_->mutex);
        if (auto found = impl_->pending_bindings.find(binding_key(scope, key));
            found != impl_->pending_bindings.end()) {
            return found->second.value;
        }
    }
    try {
        return impl_->with_reader([&](SQLite::Database& db) -> std::optional<std::string> {
            SQLite::Statement query(db, "SELECT value FROM bindings WHERE scope = ? AND key = ?");
            query.bind(1, scope);
            query.bind(2, key);
            if (!query.executeStep()) return std::nullopt;
            return query.getColumn(0).getString();
        });
    } catch (const std::exception& error) {
        const std::string reason = std::string("reading a binding: ") + error.what();
        std::lock_guard lock(impl_->mutex);
        impl_->counters.last_error = reason;
        throw StoreUnavailable(reason);
    }
}

void Store::read(const std::function<void(SQLite::Database&)>& read_fn) {
    // A connection per call: a long export must not hold up the session
    // lookups that share the store's reader.
    SQLite::Database db = impl_->open_read_only();
    read_fn(db);
}

bool Store::flush() { return flush(impl_->options.close_timeout); }

bool Store::flush(std::chrono::milliseconds limit) {
    std::unique_lock lock(impl_->mutex);
    const std::uint64_t target = impl_->items_queued;
    impl_->flush_through = std::max(impl_->flush_through, target);
    impl_->work_ready.notify_all();
    return impl_->batch_done.wait_for(lock, limit, [&] { return impl_->items_settled >= target; });
}

namespace {

// Deleted text must not linger in the WAL either: secure_delete zeroes the
// freed pages, and a truncating checkpoint empties the WAL (best effort: a
// reader in progress can keep frames alive until the next checkpoint).
void checkpoint_truncate(SQLite::Database& db) { db.execAndGet("PRAGMA wal_checkpoint(TRUNCATE)"); }

}  // namespace

std::size_t Store::purge_before(std::int64_t cutoff_ms) {
    std::size_t removed = 0;
    impl_->run_command([&](SQLite::Database& db) {
        {
            SQLite::Transaction transaction(db);
            const char* old_conversations = "SELECT id FROM conversations WHERE last_activity < ?1";
            SQLite::Statement messages(db, std::string("DELETE FROM messages WHERE conversation IN (") +
                                               old_conversations +
                                               ") OR (time < ?1 AND conversation NOT IN "
                                               "(SELECT id FROM conversations))");
            messages.bind(1, cutoff_ms);
            messages.exec();
            SQLite::Statement sessions(db, std::string("DELETE FROM sessions WHERE updated < ?1 OR id IN (") +
                                               old_conversations + ")");
            sessions.bind(1, cutoff_ms);
            sessions.exec();
            SQLite::Statement bindings(db, "DELETE FROM bindings WHERE updated < ?1");
            bindings.bind(1, cutoff_ms);
            bindings.exec();
            SQLite::Statement conversations(db, "DELETE FROM conversations WHERE last_activity < ?1");
            conversations.bind(1, cutoff_ms);
            removed = static_cast<std::size_t>(conversations.exec());
            transaction.commit();
        }
        impl_->last_seq_cache.clear();
        checkpoint_truncate(db);
    });
    std::lock_guard lock(impl_->mutex);
    std::erase_if(impl_->pending_sessions, [&](const auto& entry) { return entry.second.updated_ms < cutoff_ms; });
    return removed;
}

bool Store::delete_conversation(const std::string& id) {
    bool found = false;
    impl_->run_command([&](SQLite::Database& db) {
        {
            SQLite::Transaction transaction(db);
            int changed = 0;
            // Bindings that name the conversation: a chat's binding has its id
            // as the value, a stored REST answer holds it inside the value
            // (ids are 32 hex digits with 80 random bits, so a match is this
            // conversation).
            for (const char* sql : {"DELETE FROM messages WHERE conversation = ?", "DELETE FROM sessions WHERE id = ?",
                                    "DELETE FROM bindings WHERE instr(value, ?) > 0",
                                    "DELETE FROM conversations WHERE id = ?"}) {
                SQLite::Statement statement(db, sql);
                statement.bind(1, id);
                changed += statement.exec();
            }
            transaction.commit();
            found = changed > 0;
        }
        impl_->last_seq_cache.erase(id);
        checkpoint_truncate(db);
    });
    std::lock_guard lock(impl_->mutex);
    impl_->pending_sessions.erase(id);
    std::erase_if(impl_->pending_bindings, [&](const auto& entry) { return entry.second.value == id; });
    return found;
}

void Store::backup_to(const std::filesystem::path& target) {
    // SQLite takes an empty name for a temporary database, gone on close.
    if (target.empty()) throw std::runtime_error("name the file to back up to");
    if (std::filesystem::exists(target)) {
        throw std::runtime_error(target.string() + " exists; backups never overwrite a file");
    }
    if (!flush()) {
        throw std::runtime_error("the log cannot be written (" + counters().last_error +
                                 "); refusing to back up while records are pending");
    }
    // Created 0600 (whatever the umask) before SQLite writes into it; outside
    // the try below, so that a file someone made meanwhile is never removed.
    std::error_code create_error;
    if (!create_private_file(target, create_error)) {
        if (!create_error) throw std::runtime_error(target.string() + " exists; backups never overwrite a file");
        throw std::runtime_error("backup to " + target.string() + " failed: " + create_error.message());
    }
    try {
        SQLite::Database source = impl_->open_read_only();
        SQLite::Database copy(target, SQLite::OPEN_READWRITE);
        SQLite::Backup backup(copy, source);
        // One step copies everything under a single read transaction, so the
        // copy is a consistent snapshot even while the writer commits.
        while (backup.executeStep(-1) != SQLITE_DONE) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        const std::string check = copy.execAndGet("PRAGMA quick_check").getString();
        if (check != "ok") throw std::runtime_error("quick_check on the copy says: " + check);
    } catch (const std::exception& error) {
        std::error_code ec;
        std::filesystem::remove(target, ec);
        throw std::runtime_error("backup to " + target.string() + " failed: " + error.what());
    }
}

StoreHealth Store::health() const {
    std::lock_guard lock(impl_->mutex);
    if (impl_->closed) return {false, "the store is closed"};
    if (impl_->failing) return {false, "cannot write the conversation log: " + impl_->counters.last_error};
    if (impl_->queue.size() * 10 >= impl_->options.queue_capacity * 9) {
        return {false, "the log queue is nearly full"};
    }
    if (!impl_->hasher.warning().empty()) return {false, impl_->hasher.warning()};
    return {true, {}};
}

bool Store::backlogged() const {
    std::lock_guard lock(impl_->mutex);
    // Two batches waiting keep the writer busy; more only add to what a hard
    // kill would lose.
    const std::size_t high_water = std::min(impl_->options.queue_capacity / 2, 2 * impl_->options.batch_rows);
    return !impl_->closed && !impl_->failing && impl_->queue.size() >= high_water;
}

StoreCounters Store::counters() const {
    std::lock_guard lock(impl_->mutex);
    StoreCounters result = impl_->counters;
    result.queue_depth = impl_->queue.size() + impl_->in_flight;
    if (!impl_->batch_times_us.empty()) {
        std::vector<std::int64_t> times(impl_->batch_times_us.begin(), impl_->batch_times_us.end());
        auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
        std::nth_element(times.begin(), middle, times.end());
        result.median_batch_us = *middle;
    }
    return result;
}

std::string Store::hash_user(std::string_view channel, std::string_view user_id) const {
    return impl_->hasher.hash(channel, user_id);
}

const StoreOptions& Store::options() const { return impl_->options; }

}  // namespace backtalk::store
