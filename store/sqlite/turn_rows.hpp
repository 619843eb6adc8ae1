// The conversation log's rows from schema 8 on: one row per turn in `turns`,
// holding the person's object (JSON, null when the turn has none) and the
// bot's replies (a JSON array), each with its triage and the rule basis
// behind it, instead of one row per object. A row's objects take the
// sequence numbers seq, seq + 1, ... in order; the view `messages` expands
// the rows back into the one-row-per-object form every review query reads,
// so their output is the same as before.
//
// A row is a person's object and the replies queued right after it for the
// same conversation (a logged turn), or replies with no object before them;
// a turn split across two batches takes two rows, which read back the same.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::store::detail {

// One object of the log, as the row stores it. The JSON fields (intents,
// reasons, basis) are JSON text; empty text fields are left out (read back
// as NULL, as the one-row-per-object log stored them).
struct LoggedObject {
    std::int64_t time_ms = 0;
    bool inbound = false;
    std::string_view kind;
    std::string_view text;
    std::string_view code;
    std::string intents;  // inbound only
    std::optional<double> confidence;
    std::optional<bool> understood;
    std::string_view state;
    std::string_view asking;
    std::string_view level;
    std::string reasons;
    std::string basis;
    std::string_view rules_version;
    std::string_view channel;
    std::optional<std::int64_t> processing_us;
};

// Whether `object` of `conversation` continues the row being gathered
// (`row` of `row_conversation`): replies join the row before them.
bool joins_turn_row(const std::vector<LoggedObject>& row, std::string_view row_conversation,
                    std::string_view conversation, const LoggedObject& object);

// The statement that inserts a row (bound by write_turn_row).
extern const char* const insert_turn_row_sql;

// Inserts `objects` (not empty; only the first may be inbound) as one row of
// `conversation` whose first object has sequence number `first_seq`.
void write_turn_row(SQLite::Statement& insert, const std::string& conversation, std::int64_t first_seq,
                    const std::vector<LoggedObject>& objects);

// The sequence number of a conversation's last object, 0 when it has none.
extern const char* const last_seq_sql;

// Migration 8: creates `turns`, moves the rows of the `messages` table into
// it (a turn per row) and replaces the table with the view.
void convert_messages_to_turn_rows(SQLite::Database& db);

}  // namespace backtalk::store::detail
