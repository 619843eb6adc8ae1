#include "store/sqlite/turn_rows.hpp"

#include "bot/json_writer.hpp"
#include "bot/utf8.hpp"

#include <nlohmann/json.hpp>

#include <deque>
#include <stdexcept>

namespace backtalk::store::detail {

namespace {

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

// Runs a bound insert once and leaves it ready for the next binding, also
// when it throws.
void exec_once(SQLite::Statement& insert) {
    try {
        insert.exec();
    } catch (...) {
        insert.reset();
        throw;
    }
    insert.reset();
}

std::string text_or_empty(const SQLite::Column& column) { return column.isNull() ? std::string() : column.getString(); }

// `text` as the row's JSON holds it, after `out`. The JSON has invalid UTF-8
// replaced (U+FFFD), and a deletion gives the index the words it reads from
// there: the index must get the same ones.
void append_as_in_row(std::string& out, std::string_view text) {
    if (utf8::count_code_points(text)) {
        out += text;
        return;
    }
    JsonWriter json(text.size() + 2);
    json.string(text);
    out += nlohmann::json::parse(json.take()).get<std::string>();
}

}  // namespace

const char* const insert_turn_row_sql =
    "INSERT INTO turns (conversation, seq, objects, time, person, replies, rules_version, channel, processing_us) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

const char* const insert_turn_text_sql = "INSERT INTO turns_text (rowid, person, bot) VALUES (?, ?, ?)";

void index_turn_text(SQLite::Statement& insert, std::int64_t rowid, const std::vector<LoggedObject>& objects) {
    std::string person;
    std::string bot;
    bool has_person = false;
    bool has_bot = false;
    for (const LoggedObject& object : objects) {
        if (object.inbound) {
            has_person = true;
            append_as_in_row(person, object.text);
            continue;
        }
        if (has_bot) bot += '\n';
        has_bot = true;
        append_as_in_row(bot, object.text);
    }
    insert.bind(1, rowid);
    if (has_person) insert.bindNoCopy(2, person);
    else insert.bind(2);
    if (has_bot) insert.bindNoCopy(3, bot);
    else insert.bind(3);
    exec_once(insert);
}

const char* const last_seq_sql =
    "SELECT COALESCE((SELECT seq + objects - 1 FROM turns WHERE conversation = ? ORDER BY seq DESC LIMIT 1), 0)";

void write_turn_row(SQLite::Statement& insert, const std::string& conversation, std::int64_t first_seq,
                    const std::vector<LoggedObject>& objects) {
    const TurnRow row = turn_row(objects);
    insert.bindNoCopy(1, conversation);
    insert.bind(2, first_seq);
    insert.bind(3, row.objects);
    insert.bind(4, row.time_ms);
    if (row.person.empty()) insert.bind(5);
    else insert.bindNoCopy(5, row.person);
    insert.bindNoCopy(6, row.replies);
    bind_text_or_null(insert, 7, row.rules_version);
    bind_text_or_null(insert, 8, row.channel);
    if (row.processing_us) insert.bind(9, *row.processing_us);
    else insert.bind(9);
    exec_once(insert);
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
