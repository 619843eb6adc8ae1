#include "store/sqlite/review_queries.hpp"

#include "bot/reply.hpp"
#include "store/review_rows.hpp"
#include "store/sqlite/schema.hpp"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <variant>
#include <vector>

namespace backtalk::store::review {

namespace {

using json = nlohmann::json;

// A WHERE clause over `conversations c` and the values it binds, in order.
struct Where {
    std::string sql;
    std::vector<std::variant<std::int64_t, std::string>> values;
};

Where conversation_where(const Filter& filter) {
    Where where;
    std::vector<std::string> terms;
    if (filter.since_ms) {
        terms.emplace_back("c.started >= ?");
        where.values.emplace_back(*filter.since_ms);
    }
    if (filter.until_ms) {
        terms.emplace_back("c.started < ?");
        where.values.emplace_back(*filter.until_ms);
    }
    if (filter.level) {
        if (*filter.level == "none") {
            terms.emplace_back("c.outcome_level IS NULL");
        } else {
            terms.emplace_back("c.outcome_level = ?");
            where.values.emplace_back(*filter.level);
        }
    }
    if (filter.channel) {
        terms.emplace_back("c.channel = ?");
        where.values.emplace_back(*filter.channel);
    }
    where.sql = terms.empty() ? "1" : terms.front();
    for (std::size_t i = 1; i < terms.size(); ++i) where.sql += " AND " + terms[i];
    return where;
}

// Binds the filter's values from index 1 on; returns the next free index.
int bind_where(SQLite::Statement& statement, const Where& where) {
    int index = 1;
    for (const auto& value : where.values) {
        std::visit([&](const auto& v) { statement.bind(index, v); }, value);
        ++index;
    }
    return index;
}

std::int64_t sql_limit(std::size_t limit) { return limit == 0 ? -1 : static_cast<std::int64_t>(limit); }

// The filter's conversations cut to the newest `limit` of them (0: all), for
// queries that aggregate rather than list: their LIMIT would cut groups.
Where newest_conversations(const Filter& filter) {
    Where where = conversation_where(filter);
    if (filter.limit == 0) return where;
    where.sql = "c.id IN (SELECT c.id FROM conversations c WHERE " + where.sql +
                " ORDER BY c.started DESC, c.id LIMIT " + std::to_string(filter.limit) + ")";
    return where;
}

std::optional<std::string> optional_text(const SQLite::Column& column) {
    if (column.isNull()) return std::nullopt;
    return column.getString();
}

constexpr const char* conversation_columns =
    "c.id, c.channel, c.user_hash, c.started, c.last_activity, c.locale, c.outcome_level, "
    "c.outcome_reasons, c.turns, c.state, c.asking";

json conversation_row(SQLite::Statement& row) {
    ConversationFields fields;
    fields.id = row.getColumn(0).getString();
    fields.channel = row.getColumn(1).getString();
    fields.user_hash = optional_text(row.getColumn(2));
    fields.started_ms = row.getColumn(3).getInt64();
    fields.last_activity_ms = row.getColumn(4).getInt64();
    fields.locale = optional_text(row.getColumn(5));
    fields.outcome_level = optional_text(row.getColumn(6));
    fields.outcome_reasons = optional_text(row.getColumn(7));
    fields.turns = row.getColumn(8).getInt();
    fields.state = optional_text(row.getColumn(9));
    fields.asking = optional_text(row.getColumn(10));
    return conversation_json(fields);
}

constexpr const char* message_columns =
    "m.seq, m.time, m.direction, m.kind, m.text, m.code, m.intents, m.confidence, m.understood, "
    "m.state, m.asking, m.triage_level, m.triage_reasons, m.rules_version, m.channel, m.processing_us, m.basis";

// The message columns start at `first`.
json message_row(SQLite::Statement& row, int first) {
    const auto column = [&](int offset) { return row.getColumn(first + offset); };
    MessageFields fields;
    fields.seq = column(0).getInt64();
    fields.time_ms = column(1).getInt64();
    fields.direction = column(2).getString();
    fields.kind = column(3).getString();
    fields.text = column(4).getString();
    fields.code = optional_text(column(5));
    fields.intents = optional_text(column(6));
    if (!column(7).isNull()) fields.confidence = column(7).getDouble();
    if (!column(8).isNull()) fields.understood = column(8).getInt() != 0;
    fields.state = optional_text(column(9));
    fields.asking = optional_text(column(10));
    fields.triage_level = optional_text(column(11));
    fields.triage_reasons = optional_text(column(12));
    fields.rules_version = optional_text(column(13));
    fields.channel = optional_text(column(14));
    fields.processing_us = column(15).getInt64();
    fields.basis = optional_text(column(16));
    return message_json(fields);
}

std::int64_t count(SQLite::Database& db, const std::string& sql, const Where& where) {
    SQLite::Statement query(db, sql);
    bind_where(query, where);
    query.executeStep();
    return query.getColumn(0).getInt64();
}

}  // namespace

json list_conversations(SQLite::Database& db, const Filter& filter) {
    validate(filter);
    const Where where = conversation_where(filter);
    SQLite::Statement query(db, std::string("SELECT ") + conversation_columns + " FROM conversations c WHERE " +
                                    where.sql + " ORDER BY c.started DESC, c.id LIMIT ?");
    query.bind(bind_where(query, where), sql_limit(filter.limit));
    json list = json::array();
    while (query.executeStep()) list.push_back(conversation_row(query));
    return list;
}

std::optional<json> transcript(SQLite::Database& db, const std::string& id) {
    json conversation = nullptr;
    {
        SQLite::Statement query(db, std::string("SELECT ") + conversation_columns +
                                        " FROM conversations c WHERE c.id = ?");
        query.bind(1, id);
        if (query.executeStep()) conversation = conversation_row(query);
    }
    json messages = json::array();
    SQLite::Statement query(db, std::string("SELECT ") + message_columns +
                                    " FROM messages m WHERE m.conversation = ? ORDER BY m.seq");
    query.bind(1, id);
    while (query.executeStep()) messages.push_back(message_row(query, 0));
    if (conversation.is_null() && messages.empty()) return std::nullopt;
    return json{{"id", id}, {"conversation", conversation}, {"messages", messages}};
}

void for_each_export_row(SQLite::Database& db, const Filter& filter,
                         const std::function<void(const json&)>& row) {
    validate(filter);
    const Where where = conversation_where(filter);
    // The newest `limit` conversations, then written oldest first.
    SQLite::Statement query(db, std::string("SELECT m.conversation, ") + message_columns +
                                    " FROM messages m JOIN (SELECT c.id, c.started FROM conversations c WHERE " +
                                    where.sql +
                                    " ORDER BY c.started DESC, c.id LIMIT ?) s ON s.id = m.conversation"
                                    " ORDER BY s.started, m.conversation, m.seq");
    query.bind(bind_where(query, where), sql_limit(filter.limit));
    while (query.executeStep()) {
        json message = message_row(query, 1);
        message["conversation"] = query.getColumn(0).getString();
        row(message);
    }
}

std::size_t write_export(SQLite::Database& db, const Filter& filter, ExportFormat format, std::ostream& out) {
    return write_export_rows(format, out, [&](const auto& row) { for_each_export_row(db, filter, row); });
}

json stats(SQLite::Database& db, const Filter& filter) {
    validate(filter);
    if (const int version = schema_version(db); version < message_counts_schema) {
        throw std::runtime_error("stats need the message counts of schema " + std::to_string(message_counts_schema) +
                                 " and this log is at schema " + std::to_string(version) +
                                 ": run `backtalk logs upgrade` (or start backtalk serve) on it once every "
                                 "server that writes it runs this version");
    }
    const Where where = newest_conversations(filter);
    json result;
    result["conversations"] = count(db, "SELECT COUNT(*) FROM conversations c WHERE " + where.sql, where);
    result["turns"] = count(db, "SELECT COALESCE(SUM(c.turns), 0) FROM conversations c WHERE " + where.sql, where);
    // From the counts kept on each conversation (schema 6): one row per
    // conversation rather than every message.
    std::int64_t typed = 0;
    std::int64_t not_understood = 0;
    {
        SQLite::Statement query(db, "SELECT COALESCE(SUM(c.messages_in), 0), COALESCE(SUM(c.messages_out), 0), "
                                    "COALESCE(SUM(c.typed), 0), COALESCE(SUM(c.not_understood), 0) "
                                    "FROM conversations c WHERE " + where.sql);
        bind_where(query, where);
        query.executeStep();
        result["messages_in"] = query.getColumn(0).getInt64();
        result["messages_out"] = query.getColumn(1).getInt64();
        typed = query.getColumn(2).getInt64();
        not_understood = query.getColumn(3).getInt64();
    }

    json outcomes = zero_outcomes();
    {
        SQLite::Statement query(db, "SELECT COALESCE(c.outcome_level, 'none'), COUNT(*) FROM conversations c WHERE " +
                                        where.sql + " GROUP BY 1");
        bind_where(query, where);
        while (query.executeStep()) outcomes[query.getColumn(0).getString()] = query.getColumn(1).getInt64();
    }
    result["outcomes"] = outcomes;

    result["fallback_rate"] = typed == 0 ? json(nullptr) : json(static_cast<double>(not_understood) / typed);

    // Turns to an outcome: the person's messages and choices before the
    // first reply that carried a triage.
    std::vector<std::int64_t> turns_to_outcome;
    {
        SQLite::Statement query(db, "SELECT c.turns_to_outcome FROM conversations c WHERE " + where.sql +
                                        " AND c.turns_to_outcome IS NOT NULL");
        bind_where(query, where);
        while (query.executeStep()) turns_to_outcome.push_back(query.getColumn(0).getInt64());
    }
    result["median_turns_to_outcome"] = median_or_null(std::move(turns_to_outcome));

    json drop_off = json::array();
    {
        SQLite::Statement query(db, "SELECT c.state, c.asking, COUNT(*) FROM conversations c WHERE " + where.sql +
                                        " AND c.outcome_level IS NULL GROUP BY c.state, c.asking "
                                        "ORDER BY 3 DESC, 1, 2");
        bind_where(query, where);
        while (query.executeStep()) {
            drop_off.push_back(drop_off_entry(optional_text(query.getColumn(0)), optional_text(query.getColumn(1)),
                                              query.getColumn(2).getInt64()));
        }
    }
    result["drop_off"] = drop_off;

    json per_day = json::array();
    {
        SQLite::Statement query(
            db, "SELECT strftime('%Y-%m-%d', c.started / 1000, 'unixepoch') AS day, "
                "COALESCE(c.outcome_level, 'none'), COUNT(*) FROM conversations c WHERE " + where.sql +
                " GROUP BY 1, 2 ORDER BY 1");
        bind_where(query, where);
        while (query.executeStep()) {
            add_per_day(per_day, query.getColumn(0).getString(), query.getColumn(1).getString(),
                        query.getColumn(2).getInt64());
        }
    }
    result["per_day"] = per_day;
    return result;
}

json unmatched(SQLite::Database& db, const Filter& filter) {
    validate(filter);
    const Where where = conversation_where(filter);
    SQLite::Statement query(db, "SELECT m.text, m.time, m.asking FROM messages m JOIN conversations c "
                                "ON c.id = m.conversation WHERE m.direction = 'in' AND m.kind = 'message' "
                                "AND m.understood = 0 AND " + where.sql + " ORDER BY m.time");
    bind_where(query, where);

    std::vector<UnmatchedMessage> messages;
    while (query.executeStep()) {
        messages.push_back({query.getColumn(0).getString(), query.getColumn(1).getInt64(),
                            optional_text(query.getColumn(2))});
    }
    return group_unmatched(messages, filter.limit);
}

}  // namespace backtalk::store::review
