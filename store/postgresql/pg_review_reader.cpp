#include "store/postgresql/pg_review_reader.hpp"

#include "store/postgresql/pg_schema.hpp"
#include "store/review_rows.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace backtalk::store::pg {

namespace {

using json = nlohmann::json;

constexpr const char* read_only = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

// A WHERE clause over `conversations c` and its parameters ($1, $2, ...).
// Ids and text sort as SQLite sorts them (bytewise), whatever the
// database's collation.
struct Where {
    std::string sql;
    std::vector<Param> params;

    std::string placeholder(Param value) {
        params.push_back(std::move(value));
        return "$" + std::to_string(params.size());
    }
};

Where conversation_where(const review::Filter& filter) {
    review::validate(filter);
    Where where;
    std::vector<std::string> terms;
    if (filter.since_ms) terms.push_back("c.started >= " + where.placeholder(std::to_string(*filter.since_ms)) + "::bigint");
    if (filter.until_ms) terms.push_back("c.started < " + where.placeholder(std::to_string(*filter.until_ms)) + "::bigint");
    if (filter.level) {
        if (*filter.level == "none") terms.emplace_back("c.outcome_level IS NULL");
        else terms.push_back("c.outcome_level = " + where.placeholder(*filter.level));
    }
    if (filter.channel) terms.push_back("c.channel = " + where.placeholder(*filter.channel));
    if (filter.reviewed) {
        terms.push_back(std::string(*filter.reviewed ? "" : "NOT ") +
                        "EXISTS (SELECT 1 FROM reviews r WHERE r.conversation = c.id)");
    }
    if (filter.text) {
        // PostgreSQL's own full text ('simple': words as written, no
        // stemming, as FTS5 here) through the index on
        // backtalk_turn_words (schema 4): the expression must be the
        // index's. Every word somewhere in the conversation, as in SQLite.
        for (const std::string& word : review::search_words(*filter.text)) {
            terms.push_back("c.id IN (SELECT t.conversation FROM turns t WHERE backtalk_turn_words(t.person, "
                            "t.replies) @@ plainto_tsquery('simple', " + where.placeholder(word) + "))");
        }
    }
    if (filter.tag) {
        terms.push_back("EXISTS (SELECT 1 FROM reviews r WHERE r.conversation = c.id AND r.tags ? " +
                        where.placeholder(*filter.tag) + ")");
    }
    where.sql = terms.empty() ? "true" : terms.front();
    for (std::size_t i = 1; i < terms.size(); ++i) where.sql += " AND " + terms[i];
    return where;
}

std::string limit_sql(std::size_t limit) { return limit == 0 ? "ALL" : std::to_string(limit); }

constexpr const char* newest_first = "c.started DESC, c.id COLLATE \"C\"";

// The filter's conversations cut to the newest `limit` (0: all).
std::string selected_ids(const Where& where, std::size_t limit) {
    return "SELECT c.id FROM conversations c WHERE " + where.sql + " ORDER BY " + newest_first + " LIMIT " +
           limit_sql(limit);
}

// The objects of the turn rows of the conversations `ids` selects, one row
// each, numbered as SQLite numbers them: `m` (conversation, seq, direction,
// o: the object's JSON, and its row's time, rules_version, channel and
// processing_us).
std::string messages_cte(const std::string& ids) {
    return "r AS (SELECT t.*, SUM(t.objects) OVER (PARTITION BY t.conversation ORDER BY t.version, t.time, t.id) "
           "- t.objects AS before FROM turns t WHERE t.conversation IN (" + ids + ")), "
           "m AS (SELECT r.conversation, r.before + 1 AS seq, 'in' AS direction, r.person AS o, r.time, "
           "r.rules_version, r.channel, r.processing_us FROM r WHERE r.person IS NOT NULL "
           "UNION ALL SELECT r.conversation, r.before + (r.person IS NOT NULL)::int + e.n, 'out', e.o, r.time, "
           "r.rules_version, r.channel, r.processing_us "
           "FROM r CROSS JOIN LATERAL json_array_elements(r.replies) WITH ORDINALITY AS e(o, n))";
}

// An object's own value of `key` where it has one, else its row's.
std::string own_or_row(const char* key, const char* cast = "") {
    return std::string("CASE WHEN m.o->'") + key + "' IS NULL THEN m." + key + " ELSE (m.o->>'" + key + "')" +
           cast + " END";
}

// In the order message_fields reads them.
std::string message_columns() {
    return "m.seq, " + own_or_row("time", "::bigint") +
           ", m.direction, m.o->>'kind', m.o->>'text', m.o->>'code', (m.o->'intents')::text, "
           "m.o->>'confidence', m.o->>'understood', m.o->>'state', m.o->>'asking', m.o->>'level', "
           "(m.o->'reasons')::text, " + own_or_row("rules_version") + ", " + own_or_row("channel") + ", " +
           own_or_row("processing_us", "::bigint") + ", (m.o->'basis')::text";
}

std::optional<std::string> optional_text(const PgResult& result, int row, int column) {
    if (result.is_null(row, column)) return std::nullopt;
    return result.text(row, column);
}

std::int64_t integer(const PgResult& result, int row, int column) {
    return result.is_null(row, column) ? 0 : std::stoll(result.text(row, column));
}

// The message columns start at `first`.
review::MessageFields message_fields(const PgResult& result, int row, int first) {
    const auto text = [&](int offset) { return optional_text(result, row, first + offset); };
    review::MessageFields fields;
    fields.seq = integer(result, row, first);
    fields.time_ms = integer(result, row, first + 1);
    fields.direction = text(2).value_or("");
    fields.kind = text(3).value_or("");
    fields.text = text(4).value_or("");
    fields.code = text(5);
    fields.intents = text(6);
    if (const auto confidence = text(7)) fields.confidence = std::stod(*confidence);
    if (const auto understood = text(8)) fields.understood = *understood == "true";
    fields.state = text(9);
    fields.asking = text(10);
    fields.triage_level = text(11);
    fields.triage_reasons = text(12);
    fields.rules_version = text(13);
    fields.channel = text(14);
    fields.processing_us = integer(result, row, first + 15);
    fields.basis = text(16);
    return fields;
}

// The review mark as one JSON object, as SQLite gives it.
constexpr const char* conversation_columns =
    "c.id, c.channel, c.user_hash, c.started, c.last_activity, c.locale, c.outcome_level, "
    "c.outcome_reasons, c.turns, c.state, c.asking, "
    "(SELECT json_build_object('time', r.time, 'reviewer', r.reviewer, 'note', r.note, 'tags', r.tags)::text "
    "FROM reviews r WHERE r.conversation = c.id)";

json conversation_row(const PgResult& result, int row) {
    review::ConversationFields fields;
    fields.id = result.text(row, 0);
    fields.channel = result.text(row, 1);
    fields.user_hash = optional_text(result, row, 2);
    fields.started_ms = integer(result, row, 3);
    fields.last_activity_ms = integer(result, row, 4);
    fields.locale = optional_text(result, row, 5);
    fields.outcome_level = optional_text(result, row, 6);
    fields.outcome_reasons = optional_text(result, row, 7);
    fields.turns = static_cast<int>(integer(result, row, 8));
    fields.state = optional_text(result, row, 9);
    fields.asking = optional_text(result, row, 10);
    fields.review = optional_text(result, row, 11);
    return review::conversation_json(fields);
}

// Runs `read` in one read-only snapshot.
template <class Read>
auto in_snapshot(PgConnection& connection, Read&& read) {
    PgTransaction transaction(connection, read_only);
    auto result = read();
    transaction.commit();
    return result;
}

}  // namespace

PgReviewReader::PgReviewReader(std::unique_ptr<PgConnection> connection) : connection_(std::move(connection)) {
    const int version = pg::schema_version(*connection_);
    if (version == 0) throw std::runtime_error("the PostgreSQL database holds no backtalk log");
    if (version > pg::latest_schema_version()) {
        throw std::runtime_error("database schema version " + std::to_string(version) +
                                 " is newer than this backtalk supports (" +
                                 std::to_string(pg::latest_schema_version()) + ")");
    }
}

json PgReviewReader::list_conversations(const review::Filter& filter) {
    const Where where = conversation_where(filter);
    return in_snapshot(*connection_, [&] {
        const PgResult rows = connection_->exec(std::string("SELECT ") + conversation_columns +
                                                    " FROM conversations c WHERE " + where.sql + " ORDER BY " +
                                                    newest_first + " LIMIT " + limit_sql(filter.limit),
                                                where.params);
        json list = json::array();
        for (int row = 0; row < rows.rows(); ++row) list.push_back(conversation_row(rows, row));
        return list;
    });
}

std::optional<std::string> PgReviewReader::resolve_id(const std::string& id_or_prefix) {
    return in_snapshot(*connection_, [&]() -> std::optional<std::string> {
        if (connection_->exec("SELECT 1 FROM conversations WHERE id = $1", {id_or_prefix}).rows() > 0) {
            return id_or_prefix;
        }
        if (id_or_prefix.size() < review::min_short_id) {
            throw std::invalid_argument("no conversation has the id '" + id_or_prefix +
                                        "'; a short id needs at least " + std::to_string(review::min_short_id) +
                                        " characters");
        }
        const PgResult found = connection_->exec(
            "SELECT id FROM conversations WHERE left(id, length($1)) = $1 OR right(id, length($1)) = $1 "
            "ORDER BY id COLLATE \"C\" LIMIT 4",
            {id_or_prefix});
        if (found.rows() == 0) return std::nullopt;
        if (found.rows() == 1) return found.text(0, 0);
        std::string named;
        for (int row = 0; row < found.rows() && row < 3; ++row) named += (row ? ", " : "") + found.text(row, 0);
        throw std::invalid_argument("'" + id_or_prefix + "' names more than one conversation (" + named +
                                    (found.rows() > 3 ? ", ..." : "") + "); give more of the id");
    });
}

std::optional<json> PgReviewReader::transcript(const std::string& id) {
    return in_snapshot(*connection_, [&]() -> std::optional<json> {
        const PgResult conversation = connection_->exec(
            std::string("SELECT ") + conversation_columns + " FROM conversations c WHERE c.id = $1", {id});
        const PgResult rows = connection_->exec(
            "WITH " + messages_cte("$1") + " SELECT " + message_columns() + " FROM m ORDER BY m.seq", {id});
        if (conversation.rows() == 0 && rows.rows() == 0) return std::nullopt;
        json messages = json::array();
        for (int row = 0; row < rows.rows(); ++row) messages.push_back(review::message_json(message_fields(rows, row, 0)));
        return json{{"id", id},
                    {"conversation", conversation.rows() ? conversation_row(conversation, 0) : json(nullptr)},
                    {"messages", messages}};
    });
}

std::size_t PgReviewReader::write_export(const review::Filter& filter, review::ExportFormat format,
                                         std::ostream& out) {
    const Where where = conversation_where(filter);
    return in_snapshot(*connection_, [&] {
        // The newest `limit` conversations, then written oldest first.
        const PgResult rows = connection_->exec(
            "WITH s AS (SELECT c.id, c.started FROM conversations c WHERE " + where.sql + " ORDER BY " +
                newest_first + " LIMIT " + limit_sql(filter.limit) + "), " + messages_cte("SELECT id FROM s") +
                " SELECT m.conversation, " + message_columns() +
                " FROM m JOIN s ON s.id = m.conversation ORDER BY s.started, m.conversation COLLATE \"C\", m.seq",
            where.params);
        return review::write_export_rows(format, out, [&](const auto& write_row) {
            for (int row = 0; row < rows.rows(); ++row) {
                json message = review::message_json(message_fields(rows, row, 1));
                message["conversation"] = rows.text(row, 0);
                write_row(message);
            }
        });
    });
}

json PgReviewReader::stats(const review::Filter& filter) {
    const Where where = conversation_where(filter);
    const std::string selected = "c.id IN (" + selected_ids(where, filter.limit) + ")";
    return in_snapshot(*connection_, [&] {
        json result;
        const PgResult totals = connection_->exec(
            "SELECT COUNT(*), COALESCE(SUM(c.turns), 0) FROM conversations c WHERE " + selected, where.params);
        result["conversations"] = integer(totals, 0, 0);
        result["turns"] = integer(totals, 0, 1);
        // Counted from the turn rows on reading: instances need not keep
        // counts in step on each conversation's row.
        const std::string messages = "WITH " + messages_cte("SELECT c.id FROM conversations c WHERE " + selected) + " ";
        const PgResult counts = connection_->exec(
            messages + "SELECT COUNT(*) FILTER (WHERE m.direction = 'in'), COUNT(*) FILTER (WHERE m.direction = 'out'), "
                       "COUNT(*) FILTER (WHERE m.direction = 'in' AND m.o->>'kind' = 'message'), "
                       "COUNT(*) FILTER (WHERE m.direction = 'in' AND m.o->>'kind' = 'message' "
                       "AND m.o->>'understood' = 'false') FROM m",
            where.params);
        result["messages_in"] = integer(counts, 0, 0);
        result["messages_out"] = integer(counts, 0, 1);
        const std::int64_t typed = integer(counts, 0, 2);
        const std::int64_t not_understood = integer(counts, 0, 3);

        json outcomes = review::zero_outcomes();
        const PgResult levels = connection_->exec(
            "SELECT COALESCE(c.outcome_level, 'none'), COUNT(*) FROM conversations c WHERE " + selected + " GROUP BY 1",
            where.params);
        for (int row = 0; row < levels.rows(); ++row) outcomes[levels.text(row, 0)] = integer(levels, row, 1);
        result["outcomes"] = outcomes;
        result["fallback_rate"] = typed == 0 ? json(nullptr) : json(static_cast<double>(not_understood) / typed);

        // The person's messages and choices before the first reply with a triage.
        const PgResult to_outcome = connection_->exec(
            messages + ", f AS (SELECT m.conversation, MIN(m.seq) AS first FROM m WHERE m.direction = 'out' "
                       "AND m.o->>'level' IS NOT NULL GROUP BY m.conversation) "
                       "SELECT (SELECT COUNT(*) FROM m WHERE m.conversation = f.conversation AND m.direction = 'in' "
                       "AND m.o->>'kind' IN ('message', 'choice') AND m.seq < f.first) FROM f",
            where.params);
        std::vector<std::int64_t> turns_to_outcome;
        for (int row = 0; row < to_outcome.rows(); ++row) turns_to_outcome.push_back(integer(to_outcome, row, 0));
        result["median_turns_to_outcome"] = review::median_or_null(std::move(turns_to_outcome));

        json drop_off = json::array();
        const PgResult stopped = connection_->exec(
            "SELECT c.state, c.asking, COUNT(*) FROM conversations c WHERE " + selected +
                " AND c.outcome_level IS NULL GROUP BY c.state, c.asking "
                "ORDER BY 3 DESC, c.state COLLATE \"C\" NULLS FIRST, c.asking COLLATE \"C\" NULLS FIRST",
            where.params);
        for (int row = 0; row < stopped.rows(); ++row) {
            drop_off.push_back(review::drop_off_entry(optional_text(stopped, row, 0), optional_text(stopped, row, 1),
                                                      integer(stopped, row, 2)));
        }
        result["drop_off"] = drop_off;

        json per_day = json::array();
        const PgResult days = connection_->exec(
            "SELECT to_char(to_timestamp(c.started / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, "
            "COALESCE(c.outcome_level, 'none'), COUNT(*) FROM conversations c WHERE " + selected +
                " GROUP BY 1, 2 ORDER BY 1",
            where.params);
        for (int row = 0; row < days.rows(); ++row) {
            review::add_per_day(per_day, days.text(row, 0), days.text(row, 1), integer(days, row, 2));
        }
        const PgResult typed_days = connection_->exec(
            messages + "SELECT to_char(to_timestamp(c.started / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "
                       "COUNT(*) FILTER (WHERE m.direction = 'in' AND m.o->>'kind' = 'message'), "
                       "COUNT(*) FILTER (WHERE m.direction = 'in' AND m.o->>'kind' = 'message' "
                       "AND m.o->>'understood' = 'false') FROM m JOIN conversations c ON c.id = m.conversation "
                       "GROUP BY 1",
            where.params);
        for (int row = 0; row < typed_days.rows(); ++row) {
            review::add_typed_per_day(per_day, typed_days.text(row, 0), integer(typed_days, row, 1),
                                      integer(typed_days, row, 2));
        }
        result["per_day"] = per_day;
        return result;
    });
}

json PgReviewReader::unmatched(const review::Filter& filter) {
    const Where where = conversation_where(filter);
    return in_snapshot(*connection_, [&] {
        const PgResult rows = connection_->exec(
            // The question that was open: the bot's last reply before the message.
            "WITH " + messages_cte("SELECT c.id FROM conversations c WHERE " + where.sql) + " SELECT m.o->>'text', " +
                own_or_row("time", "::bigint") + " AS at, m.o->>'asking', m.conversation, "
                "(SELECT q.o->>'text' FROM m q WHERE q.conversation = m.conversation AND q.seq < m.seq "
                "AND q.direction = 'out' AND q.o->>'kind' = 'reply' ORDER BY q.seq DESC LIMIT 1) "
                "FROM m WHERE m.direction = 'in' "
                "AND m.o->>'kind' = 'message' AND m.o->>'understood' = 'false' "
                "ORDER BY at, m.conversation COLLATE \"C\", m.seq",
            where.params);
        std::vector<review::UnmatchedMessage> messages;
        for (int row = 0; row < rows.rows(); ++row) {
            messages.push_back({rows.text(row, 0), integer(rows, row, 1), optional_text(rows, row, 2), rows.text(row, 3),
                                optional_text(rows, row, 4)});
        }
        return review::group_unmatched(messages, filter.limit);
    });
}

int PgReviewReader::schema_version() { return pg::schema_version(*connection_); }

int PgReviewReader::latest_schema_version() const { return pg::latest_schema_version(); }

}  // namespace backtalk::store::pg
