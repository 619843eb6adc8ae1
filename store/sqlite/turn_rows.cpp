#include "store/sqlite/turn_rows.hpp"

#include "bot/json_writer.hpp"

#include <deque>
#include <stdexcept>

namespace backtalk::store::detail {

namespace {

// A row takes the time, rules version, channel and processing time of its
// first object; an object whose own differ carries them (JSON null for none).
struct RowHead {
    std::int64_t time_ms = 0;
    std::string_view rules_version;
    std::string_view channel;
    std::optional<std::int64_t> processing_us;
};

void text_field(JsonWriter& json, std::string_view name, std::string_view value) {
    if (value.empty()) return;
    json.key(name);
    json.string(value);
}

void json_field(JsonWriter& json, std::string_view name, const std::string& value) {
    if (value.empty()) return;
    json.key(name);
    json.literal(value);
}

void override_text(JsonWriter& json, std::string_view name, std::string_view value, std::string_view head) {
    if (value == head) return;
    json.key(name);
    json.string_or_null(value);
}

void write_object(JsonWriter& json, const LoggedObject& object, const RowHead& head) {
    json.open('{');
    json.key("kind");
    json.string(object.kind);
    json.key("text");
    json.string(object.text);
    text_field(json, "code", object.code);
    json_field(json, "intents", object.intents);
    if (object.confidence) {
        json.key("confidence");
        json.decimal(*object.confidence);
    }
    if (object.understood) {
        json.key("understood");
        json.boolean(*object.understood);
    }
    text_field(json, "state", object.state);
    text_field(json, "asking", object.asking);
    text_field(json, "level", object.level);
    json_field(json, "reasons", object.reasons);
    json_field(json, "basis", object.basis);
    if (object.time_ms != head.time_ms) {
        json.key("time");
        json.number(object.time_ms);
    }
    override_text(json, "rules_version", object.rules_version, head.rules_version);
    override_text(json, "channel", object.channel, head.channel);
    if (object.processing_us != head.processing_us) {
        json.key("processing_us");
        if (object.processing_us) json.number(*object.processing_us);
        else json.literal("null");
    }
    json.close('}');
}

void bind_text_or_null(SQLite::Statement& statement, int index, std::string_view text) {
    if (text.empty()) statement.bind(index);
    else statement.bind(index, std::string(text));
}

// A message column read from the JSON object `o` of turn row `t`.
std::string column(const std::string& o, const char* key) {
    return "json_extract(" + o + ", '$." + key + "')";
}

// A column an object only carries when it differs from its row's.
std::string column_or_row(const std::string& o, const char* key, const char* row_column) {
    return "CASE WHEN json_type(" + o + ", '$." + key + "') IS NULL THEN t." + row_column + " ELSE " +
           column(o, key) + " END";
}

std::string message_columns(const std::string& o, const char* direction) {
    return column_or_row(o, "time", "time") + ", '" + direction + "', " + column(o, "kind") + ", " +
           column(o, "text") + ", " + column(o, "code") + ", " + column(o, "intents") + ", " +
           column(o, "confidence") + ", " + column(o, "understood") + ", " + column(o, "state") + ", " +
           column(o, "asking") + ", " + column(o, "level") + ", " + column(o, "reasons") + ", " +
           column_or_row(o, "rules_version", "rules_version") + ", " + column_or_row(o, "channel", "channel") +
           ", " + column_or_row(o, "processing_us", "processing_us") + ", " + column(o, "basis");
}

// The old table's columns, in its order, so that `SELECT *` and every query
// written for the table read the view alike.
std::string messages_view_sql() {
    return "CREATE VIEW messages (conversation, seq, time, direction, kind, text, code, intents, confidence, "
           "understood, state, asking, triage_level, triage_reasons, rules_version, channel, processing_us, basis) "
           "AS SELECT t.conversation, t.seq, " + message_columns("t.person", "in") +
           " FROM turns t WHERE t.person IS NOT NULL"
           " UNION ALL SELECT t.conversation, t.seq + (t.person IS NOT NULL) + r.key, " +
           message_columns("r.value", "out") + " FROM turns t JOIN json_each(t.replies) r";
}

const char* const create_turns_sql = R"sql(
    CREATE TABLE turns (
        conversation  TEXT NOT NULL,
        seq           INTEGER NOT NULL,   -- the sequence number of its first object
        objects       INTEGER NOT NULL,   -- its objects take seq .. seq + objects - 1
        time          INTEGER NOT NULL,
        person        TEXT,               -- JSON object: what the person sent, or null
        replies       TEXT NOT NULL,      -- JSON array: the bot's objects, with triage and basis
        rules_version TEXT,
        channel       TEXT,
        processing_us INTEGER,
        UNIQUE (conversation, seq)
    );
)sql";

// An object read back from the one-row-per-object table, owning its text.
struct MigratedObject {
    std::string conversation;
    std::int64_t seq = 0;
    std::string kind, text, code, state, asking, level, rules_version, channel;
    LoggedObject object;
};

std::string text_or_empty(const SQLite::Column& column) { return column.isNull() ? std::string() : column.getString(); }

}  // namespace

bool joins_turn_row(const std::vector<LoggedObject>& row, std::string_view row_conversation,
                    std::string_view conversation, const LoggedObject& object) {
    return !row.empty() && !object.inbound && conversation == row_conversation;
}

const char* const insert_turn_row_sql =
    "INSERT INTO turns (conversation, seq, objects, time, person, replies, rules_version, channel, processing_us) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

const char* const last_seq_sql =
    "SELECT COALESCE((SELECT seq + objects - 1 FROM turns WHERE conversation = ? ORDER BY seq DESC LIMIT 1), 0)";

void write_turn_row(SQLite::Statement& insert, const std::string& conversation, std::int64_t first_seq,
                    const std::vector<LoggedObject>& objects) {
    if (objects.empty()) throw std::logic_error("a turn row without objects");
    const LoggedObject& first = objects.front();
    const RowHead head{first.time_ms, first.rules_version, first.channel, first.processing_us};
    std::string person;
    JsonWriter replies(256 * objects.size());
    replies.open('[');
    for (const LoggedObject& object : objects) {
        if (object.inbound) {
            if (&object != &first) throw std::logic_error("a person's object inside a turn row");
            JsonWriter json(256);
            write_object(json, object, head);
            person = json.take();
        } else {
            write_object(replies, object, head);
        }
    }
    replies.close(']');
    const std::string replies_json = replies.take();
    insert.bindNoCopy(1, conversation);
    insert.bind(2, first_seq);
    insert.bind(3, static_cast<std::int64_t>(objects.size()));
    insert.bind(4, head.time_ms);
    if (person.empty()) insert.bind(5);
    else insert.bindNoCopy(5, person);
    insert.bindNoCopy(6, replies_json);
    bind_text_or_null(insert, 7, head.rules_version);
    bind_text_or_null(insert, 8, head.channel);
    if (head.processing_us) insert.bind(9, *head.processing_us);
    else insert.bind(9);
    try {
        insert.exec();
    } catch (...) {
        insert.reset();
        throw;
    }
    insert.reset();
}

void convert_messages_to_turn_rows(SQLite::Database& db) {
    db.exec(create_turns_sql);
    SQLite::Statement insert(db, insert_turn_row_sql);
    // JSON columns that do not parse are left out rather than breaking every
    // object of their row (the old queries read them as empty arrays too).
    SQLite::Statement messages(
        db, "SELECT conversation, seq, time, direction, kind, text, code, "
            "CASE WHEN json_valid(intents) THEN intents END, confidence, understood, state, asking, triage_level, "
            "CASE WHEN json_valid(triage_reasons) THEN triage_reasons END, rules_version, channel, processing_us, "
            "CASE WHEN json_valid(basis) THEN basis END FROM messages ORDER BY conversation, seq");
    std::deque<MigratedObject> gathered;  // a deque: the objects' views into it stay valid
    std::vector<LoggedObject> row;
    const auto write_row = [&] {
        if (row.empty()) return;
        write_turn_row(insert, gathered.front().conversation, gathered.front().seq, row);
        row.clear();
        gathered.clear();
    };
    while (messages.executeStep()) {
        MigratedObject read;
        read.conversation = messages.getColumn(0).getString();
        read.seq = messages.getColumn(1).getInt64();
        read.kind = messages.getColumn(4).getString();
        read.text = messages.getColumn(5).getString();
        read.code = text_or_empty(messages.getColumn(6));
        read.state = text_or_empty(messages.getColumn(10));
        read.asking = text_or_empty(messages.getColumn(11));
        read.level = text_or_empty(messages.getColumn(12));
        read.rules_version = text_or_empty(messages.getColumn(14));
        read.channel = text_or_empty(messages.getColumn(15));
        LoggedObject& object = read.object;
        object.time_ms = messages.getColumn(2).getInt64();
        object.inbound = messages.getColumn(3).getString() == "in";
        object.intents = text_or_empty(messages.getColumn(7));
        if (!messages.getColumn(8).isNull()) object.confidence = messages.getColumn(8).getDouble();
        if (!messages.getColumn(9).isNull()) object.understood = messages.getColumn(9).getInt() != 0;
        object.reasons = text_or_empty(messages.getColumn(13));
        if (!messages.getColumn(16).isNull()) object.processing_us = messages.getColumn(16).getInt64();
        object.basis = text_or_empty(messages.getColumn(17));
        // A gap in the numbers starts a row, so that every object keeps its own.
        const bool continues = !gathered.empty() && read.seq == gathered.back().seq + 1 &&
                               joins_turn_row(row, gathered.front().conversation, read.conversation, object);
        if (!continues) write_row();
        MigratedObject& kept = gathered.emplace_back(std::move(read));
        kept.object.kind = kept.kind;
        kept.object.text = kept.text;
        kept.object.code = kept.code;
        kept.object.state = kept.state;
        kept.object.asking = kept.asking;
        kept.object.level = kept.level;
        kept.object.rules_version = kept.rules_version;
        kept.object.channel = kept.channel;
        row.push_back(kept.object);
    }
    write_row();
    messages.reset();
    db.exec("DROP TABLE messages");
    db.exec(messages_view_sql());
}

}  // namespace backtalk::store::detail
