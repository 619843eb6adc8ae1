// The conversation log's rows in SQLite from schema 8 on: one row per turn
// (store/turn_row.hpp) in `turns`, whose objects take the sequence numbers
// seq, seq + 1, ... in order; the view `messages` expands the rows back into
// the one-row-per-object form every review query reads, so their output is
// the same as before.
#pragma once

#include "store/turn_row.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <string>
#include <vector>

namespace backtalk::store::detail {

// The statement that inserts a row (bound by write_turn_row).
extern const char* const insert_turn_row_sql;

// Inserts `objects` (not empty; only the first may be inbound) as one row of
// `conversation` whose first object has sequence number `first_seq`.
void write_turn_row(SQLite::Statement& insert, const std::string& conversation, std::int64_t first_seq,
                    const std::vector<LoggedObject>& objects);

// The statement that indexes a row's text for full-text search (schema 11;
// bound by index_turn_text).
extern const char* const insert_turn_text_sql;

// Indexes the row `rowid`, just inserted with `objects`, as schema 10's
// trigger did from its JSON: the person's text, and the bot's texts joined
// by newlines (NULL when it has none).
void index_turn_text(SQLite::Statement& insert, std::int64_t rowid, const std::vector<LoggedObject>& objects);

// The sequence number of a conversation's last object, 0 when it has none.
extern const char* const last_seq_sql;

// Migration 8: creates `turns`, moves the rows of the `messages` table into
// it (a turn per row) and replaces the table with the view.
void convert_messages_to_turn_rows(SQLite::Database& db);

}  // namespace backtalk::store::detail
