#include "store/postgresql/pg_batch_writer.hpp"

#include "bot/json_writer.hpp"
#include "store/turn_row.hpp"

#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace backtalk::store::pg {

namespace {

using detail::Batch;
using detail::BindingItem;
using detail::PendingSession;
using detail::SessionItem;

// Temporary tables, one set per connection. Each upsert empties its table as
// it reads it (so the slow path's units are upserted once each).
constexpr const char* staging_tables = R"sql(
    CREATE TEMP TABLE staged_conversations (LIKE conversations) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE staged_sessions (id text, snapshot text, updated bigint) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE staged_bindings (LIKE bindings) ON COMMIT DELETE ROWS;
)sql";

constexpr const char* copy_conversations =
    "COPY staged_conversations (id, channel, user_hash, started, last_activity, locale, outcome_level, "
    "outcome_reasons, turns, state, asking) FROM STDIN";
// As SQLite's upsert (store/sqlite/batch_writer.cpp), and as
// detail::fold_conversation folds one batch's records.
constexpr const char* upsert_conversations = R"sql(
    WITH moved AS (DELETE FROM staged_conversations RETURNING *)
    INSERT INTO conversations SELECT * FROM moved
    ON CONFLICT (id) DO UPDATE SET
        user_hash = COALESCE(excluded.user_hash, conversations.user_hash),
        last_activity = GREATEST(conversations.last_activity, excluded.last_activity),
        locale = excluded.locale,
        outcome_level = COALESCE(excluded.outcome_level, conversations.outcome_level),
        outcome_reasons = COALESCE(excluded.outcome_reasons, conversations.outcome_reasons),
        turns = GREATEST(conversations.turns, excluded.turns),
        state = excluded.state,
        asking = excluded.asking)sql";

constexpr const char* copy_turns =
    "COPY turns (conversation, version, time, objects, person, replies, rules_version, channel, processing_us) "
    "FROM STDIN";

constexpr const char* copy_sessions = "COPY staged_sessions (id, snapshot, updated) FROM STDIN";
constexpr const char* upsert_sessions = R"sql(
    WITH moved AS (DELETE FROM staged_sessions RETURNING *)
    INSERT INTO sessions (id, snapshot, updated, version) SELECT id, snapshot, updated, 1 FROM moved
    ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, updated = excluded.updated,
                                   version = sessions.version + 1)sql";

constexpr const char* copy_audit = "COPY audit (time, actor, action, detail) FROM STDIN";

constexpr const char* copy_bindings = "COPY staged_bindings (scope, key, value, updated) FROM STDIN";
constexpr const char* upsert_bindings = R"sql(
    WITH moved AS (DELETE FROM staged_bindings RETURNING *)
    INSERT INTO bindings SELECT * FROM moved
    ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated = excluded.updated)sql";

Param text_or_null(std::string_view text) {
    if (text.empty()) return std::nullopt;
    return std::string(text);
}

Param number(std::int64_t value) { return std::to_string(value); }

// What one batch writes, each table's rows once, in batch order. A unit is
// what the slow path writes or drops together: one row, and the records it
// came from.
struct Unit {
    const char* copy = nullptr;
    const char* upsert = nullptr;  // null: COPY straight into the table
    std::vector<Param> row;
    std::uint64_t records = 1;
    std::string_view session;  // a session row: its id
    std::uint64_t session_version = 0;
};

std::vector<Param> conversation_row(const ConversationRecord& record) {
    return {record.id,
            record.channel,
            text_or_null(record.user_hash),
            number(record.started_ms),
            number(record.last_activity_ms),
            record.locale,
            record.outcome ? Param(std::string(backtalk::to_string(record.outcome->level))) : std::nullopt,
            record.outcome ? Param(json_string_array(record.outcome->reasons)) : std::nullopt,
            number(record.turns),
            text_or_null(record.state),
            text_or_null(record.asking)};
}

std::vector<Param> turn_columns(std::string_view conversation, const detail::TurnRow& row) {
    return {std::string(conversation),
            std::to_string(row.session_version),
            number(row.time_ms),
            number(row.objects),
            row.person.empty() ? Param() : Param(row.person),
            row.replies,
            text_or_null(row.rules_version),
            text_or_null(row.channel),
            row.processing_us ? number(*row.processing_us) : Param()};
}

std::vector<Unit> units_of(const Batch& batch, const detail::WriteQueue& queue) {
    // Conversations fold into one row each and bindings keep their last
    // value: an upsert cannot touch one row twice.
    std::unordered_map<std::string_view, ConversationRecord> conversations;
    std::vector<std::string_view> conversation_order;
    std::unordered_map<std::string, const BindingItem*> bindings;
    std::vector<std::string> binding_order;
    std::unordered_map<std::string_view, PendingSession> sessions;
    std::vector<std::string_view> session_order;
    std::vector<Unit> turns_and_audit;

    std::string_view row_conversation;
    std::vector<detail::LoggedObject> row;
    const auto end_row = [&] {
        if (row.empty()) return;
        turns_and_audit.push_back({copy_turns, nullptr, turn_columns(row_conversation, detail::turn_row(row)),
                                   row.size(), {}, 0});
        row.clear();
    };
    for (const auto& pending : batch) {
        const detail::Item& item = pending.item;
        if (const auto* message = std::get_if<MessageRecord>(&item)) {
            detail::LoggedObject object = detail::logged_object(*message);
            if (!detail::joins_turn_row(row, row_conversation, message->conversation, object)) end_row();
            row_conversation = message->conversation;
            row.push_back(std::move(object));
            continue;
        }
        end_row();
        if (const auto* record = std::get_if<ConversationRecord>(&item)) {
            auto [folded, first] = conversations.try_emplace(record->id, *record);
            if (first) conversation_order.push_back(record->id);
            else detail::fold_conversation(folded->second, *record);
        } else if (const auto* session = std::get_if<SessionItem>(&item)) {
            if (sessions.try_emplace(session->id).second) session_order.push_back(session->id);
        } else if (const auto* audit = std::get_if<AuditRecord>(&item)) {
            turns_and_audit.push_back({copy_audit,
                                       nullptr,
                                       {number(audit->time_ms), audit->actor, audit->action,
                                        text_or_null(audit->detail)},
                                       1,
                                       {},
                                       0});
        } else if (const auto* binding = std::get_if<BindingItem>(&item)) {
            const std::string key = detail::binding_key(binding->scope, binding->key);
            auto [kept, first] = bindings.try_emplace(key, binding);
            if (first) binding_order.push_back(key);
            else kept->second = binding;
        } else {
            throw std::logic_error("a command inside a batch");
        }
    }
    end_row();
    queue.newest_sessions(sessions);

    std::vector<Unit> units;
    for (const auto id : conversation_order) {
        units.push_back({copy_conversations, upsert_conversations, conversation_row(conversations.at(id)), 1, {}, 0});
    }
    for (auto& unit : turns_and_audit) units.push_back(std::move(unit));
    for (const auto id : session_order) {
        const PendingSession& pending = sessions.at(id);
        if (!pending.session) continue;  // deleted or purged meanwhile
        units.push_back({copy_sessions,
                         upsert_sessions,
                         {std::string(id), session_snapshot(*pending.session), number(pending.updated_ms)},
                         1,
                         id,
                         pending.version});
    }
    for (const auto& key : binding_order) {
        const BindingItem& binding = *bindings.at(key);
        units.push_back({copy_bindings,
                         upsert_bindings,
                         {binding.scope, binding.key, binding.value, number(binding.updated_ms)},
                         1,
                         {},
                         0});
    }
    return units;
}

// COPYs consecutive units that share a table in one go, then upserts them.
void write_units(PgConnection& connection, const std::vector<Unit>& units) {
    std::size_t first = 0;
    while (first < units.size()) {
        std::size_t end = first;
        std::vector<std::vector<Param>> rows;
        while (end < units.size() && units[end].copy == units[first].copy) rows.push_back(units[end++].row);
        connection.copy_in(units[first].copy, rows);
        if (units[first].upsert) connection.exec(units[first].upsert);
        first = end;
    }
}

}  // namespace

PgBatchWriter::PgBatchWriter(std::unique_ptr<PgConnection> connection,
                             std::function<void(std::string_view)> report)
    : connection_(std::move(connection)), report_(std::move(report)) {
    connection_->exec_script(staging_tables);
}

void PgBatchWriter::write_batch(const Batch& batch, const detail::WriteQueue& queue, std::uint64_t& rejected,
                                detail::WrittenSessions& written_sessions) {
    rejected = 0;
    written_sessions.clear();
    const std::vector<Unit> units = units_of(batch, queue);
    const auto note_sessions = [&](const Unit& unit) {
        if (!unit.session.empty()) written_sessions.emplace_back(unit.session, unit.session_version);
    };
    try {
        PgTransaction transaction(*connection_);
        write_units(*connection_, units);
        transaction.commit();
        for (const Unit& unit : units) note_sessions(unit);
        return;
    } catch (const PgError& error) {
        if (!is_data_error(error)) throw;
    }
    // A value PostgreSQL refuses: each unit on its own, dropping only those.
    PgTransaction transaction(*connection_);
    for (const Unit& unit : units) {
        connection_->exec("SAVEPOINT unit");
        try {
            write_units(*connection_, {unit});
            connection_->exec("RELEASE SAVEPOINT unit");
            note_sessions(unit);
        } catch (const PgError& error) {
            if (!is_data_error(error)) throw;
            connection_->exec("ROLLBACK TO SAVEPOINT unit");
            rejected += unit.records;
            report_(std::string("dropped a record the database refused: ") + error.what());
        }
    }
    transaction.commit();
}

}  // namespace backtalk::store::pg
