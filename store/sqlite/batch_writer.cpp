#include "store/sqlite/batch_writer.hpp"

#include "bot/json_writer.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/turn_rows.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <vector>

namespace backtalk::store::detail {

// The writer's prepared statements.
struct WriterStatements {
    SQLite::Statement upsert_conversation;
    SQLite::Statement insert_turn_row;
    SQLite::Statement insert_turn_text;
    SQLite::Statement last_seq;
    SQLite::Statement add_message_counts;
    SQLite::Statement recount_messages;
    SQLite::Statement upsert_session;
    SQLite::Statement insert_audit;
    SQLite::Statement upsert_binding;

    explicit WriterStatements(SQLite::Database& db)
        : upsert_conversation(db, R"sql(
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
          insert_turn_row(db, insert_turn_row_sql),
          insert_turn_text(db, insert_turn_text_sql),
          last_seq(db, last_seq_sql),
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

namespace {

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

void write(WriterStatements& st, const ConversationRecord& record) {
    auto& s = st.upsert_conversation;
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

// False if the conversation has no row (yet).
bool write(WriterStatements& st, const std::string& conversation, const MessageCounts& counts) {
    auto& s = st.add_message_counts;
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
bool recount_conversation(WriterStatements& st, const std::string& conversation) {
    auto& s = st.recount_messages;
    s.bindNoCopy(1, conversation);
    const bool found = s.exec() > 0;
    s.reset();
    return found;
}

void write(WriterStatements& st, const std::string& id, const PendingSession& pending) {
    auto& s = st.upsert_session;
    const std::string snapshot = session_snapshot(*pending.session);
    s.bindNoCopy(1, id);
    s.bindNoCopy(2, snapshot);
    s.bind(3, pending.updated_ms);
    s.exec();
    s.reset();
}

void write(WriterStatements& st, const AuditRecord& record) {
    auto& s = st.insert_audit;
    s.bind(1, record.time_ms);
    s.bind(2, record.actor);
    s.bind(3, record.action);
    bind_text_or_null(s, 4, record.detail);
    s.exec();
    s.reset();
}

void write(WriterStatements& st, const BindingItem& item) {
    auto& s = st.upsert_binding;
    s.bind(1, item.scope);
    s.bind(2, item.key);
    s.bind(3, item.value);
    s.bind(4, item.updated_ms);
    s.exec();
    s.reset();
}

}  // namespace

bool is_sqlite_record_error(const SQLite::Exception& error) {
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

SqliteBatchWriter::SqliteBatchWriter(SQLite::Database db, std::function<void(std::string_view)> report)
    : db_(std::move(db)), statements_(std::make_unique<WriterStatements>(db_)), report_(std::move(report)) {}

SqliteBatchWriter::~SqliteBatchWriter() = default;

SQLite::Database& SqliteBatchWriter::db() { return db_; }

void SqliteBatchWriter::forget_sequences() { last_seq_cache_.clear(); }

void SqliteBatchWriter::forget_sequence(const std::string& conversation) { last_seq_cache_.erase(conversation); }

std::int64_t SqliteBatchWriter::next_seq(const std::string& conversation,
                                    std::unordered_map<std::string, std::int64_t>& batch_seqs) {
    auto in_batch = batch_seqs.find(conversation);
    if (in_batch != batch_seqs.end()) return ++in_batch->second;
    std::int64_t last = 0;
    if (auto cached = last_seq_cache_.find(conversation); cached != last_seq_cache_.end()) {
        last = cached->second;
    } else {
        auto& query = statements_->last_seq;
        query.bind(1, conversation);
        query.executeStep();
        last = query.getColumn(0).getInt64();
        query.reset();
    }
    batch_seqs[conversation] = last + 1;
    return last + 1;
}


// One attempt at committing the batch. Records that can never be written
// are dropped (counted in `rejected`); database errors propagate.
void SqliteBatchWriter::write_batch(const Batch& batch, const WriteQueue& queue, std::uint64_t& rejected,
                                    WrittenSessions& written_sessions) {
    std::unordered_map<std::string, std::int64_t> batch_seqs;
    rejected = 0;
    written_sessions.clear();
    // A busy conversation has several turns in one batch. Its session is
    // written once, in its newest state (which may be newer than the
    // batch), and its conversation records are folded into one row
    // update; each at the place of the last.
    std::unordered_map<std::string_view, std::size_t> last_session_item;
    // No session: deleted or purged meanwhile.
    std::unordered_map<std::string_view, PendingSession> newest;
    std::unordered_map<std::string_view, FoldedConversation> conversations;
    std::unordered_map<std::string_view, MessageCounts> message_counts;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (const auto* session = std::get_if<SessionItem>(&batch[i].item)) {
            last_session_item[session->id] = i;
            newest.try_emplace(session->id);
        } else if (const auto* record = std::get_if<ConversationRecord>(&batch[i].item)) {
            auto [folded, first] = conversations.try_emplace(record->id);
            if (first) folded->second.record = *record;
            else fold_conversation(folded->second.record, *record);
            folded->second.last = i;
        }
    }
    queue.newest_sessions(newest);
    SQLite::Transaction transaction(db_);
    // Messages gather into the row of their turn, written when the turn ends.
    struct GatheredRow {
        std::string_view conversation;
        std::vector<LoggedObject> objects;
        std::vector<const MessageRecord*> records;
    } row;
    const auto refused = [&](const SQLite::Exception& error, std::uint64_t records) {
        if (!is_sqlite_record_error(error)) throw;
        rejected += records;
        report_(std::string("dropped a record the database refused: ") + error.what());
    };
    const auto write_row = [&] {
        if (row.objects.empty()) return;
        const std::string conversation(row.conversation);
        const auto objects = static_cast<std::int64_t>(row.objects.size());
        const std::int64_t first = next_seq(conversation, batch_seqs);
        batch_seqs[conversation] += objects - 1;
        try {
            write_turn_row(statements_->insert_turn_row, conversation, first, row.objects);
            index_turn_text(statements_->insert_turn_text, db_.getLastInsertRowid(), row.objects);
            for (const MessageRecord* record : row.records) message_counts[record->conversation].add(*record);
        } catch (const SQLite::Exception& error) {
            batch_seqs[conversation] -= objects;  // the numbers were not used
            refused(error, row.records.size());
        }
        row.objects.clear();
        row.records.clear();
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const Item& item = batch[i].item;
        if (!std::holds_alternative<MessageRecord>(item)) write_row();
        try {
            if (const auto* session = std::get_if<SessionItem>(&item)) {
                const PendingSession& pending = newest[session->id];
                if (last_session_item[session->id] != i || !pending.session) continue;
                write(*statements_, session->id, pending);
                written_sessions.emplace_back(session->id, pending.version);
            } else if (const auto* conversation = std::get_if<ConversationRecord>(&item)) {
                const FoldedConversation& folded = conversations[conversation->id];
                if (folded.last == i) write(*statements_, folded.record);
            } else if (const auto* message = std::get_if<MessageRecord>(&item)) {
                LoggedObject object = logged_object(*message);
                if (!joins_turn_row(row.objects, row.conversation, message->conversation, object)) write_row();
                row.conversation = message->conversation;
                row.objects.push_back(std::move(object));
                row.records.push_back(message);
                continue;
            } else if (const auto* audit = std::get_if<AuditRecord>(&item)) {
                write(*statements_, *audit);
            } else if (const auto* binding = std::get_if<BindingItem>(&item)) {
                write(*statements_, *binding);
            } else {
                throw std::logic_error("a command inside a batch");
            }
        } catch (const SQLite::Exception& error) {
            refused(error, 1);
        }
    }
    write_row();
    // After the loop, so that a recount sees the batch's messages. A
    // conversation's row is queued before its messages, so it exists by
    // now, unless it was dropped (queue full), refused or deleted: its
    // messages are then counted again from the table once it exists.
    std::vector<std::string> counted;
    std::vector<std::string> missing;
    const auto count_messages = [&](std::string_view id, const MessageCounts* counts) {
        const std::string conversation(id);
        const bool recount = uncounted_.count(conversation) > 0;
        if (!recount && !counts) return;
        const bool found = recount ? recount_conversation(*statements_, conversation) : write(*statements_, conversation, *counts);
        if (recount && found) counted.push_back(conversation);
        if (!recount && !found) missing.push_back(conversation);
    };
    for (const auto& [id, counts] : message_counts) count_messages(id, &counts);
    for (const auto& [id, folded] : conversations) {
        if (!message_counts.count(id)) count_messages(id, nullptr);
    }
    transaction.commit();
    for (const auto& id : counted) uncounted_.erase(id);
    for (auto& id : missing) uncounted_.insert(std::move(id));
    // Bounded memory: each entry is a conversation whose rows were lost.
    if (uncounted_.size() > 10000) {
        report_("more than 10000 conversations lost their rows; their message counts stay short");
        uncounted_.clear();
    }
    for (const auto& [conversation, seq] : batch_seqs) last_seq_cache_[conversation] = seq;
    // Bounded memory: the cache refills from the index on demand.
    if (last_seq_cache_.size() > 100000) last_seq_cache_.clear();
}

}  // namespace backtalk::store::detail
