// The review queries in SQL over a (read-only) SQLite connection; see
// ReviewReader in store/review.hpp for what each returns.
#pragma once

#include "store/review.hpp"

#include <SQLiteCpp/Database.h>

namespace backtalk::store::review {

nlohmann::json list_conversations(SQLite::Database& db, const Filter& filter);
std::optional<std::string> resolve_id(SQLite::Database& db, const std::string& id_or_prefix);
std::optional<nlohmann::json> transcript(SQLite::Database& db, const std::string& id);
// Every message of the selected conversations, conversation by conversation
// (oldest first), in sequence: the message fields plus "conversation".
void for_each_export_row(SQLite::Database& db, const Filter& filter,
                         const std::function<void(const nlohmann::json&)>& row);
std::size_t write_export(SQLite::Database& db, const Filter& filter, ExportFormat format, std::ostream& out);
nlohmann::json stats(SQLite::Database& db, const Filter& filter);
nlohmann::json unmatched(SQLite::Database& db, const Filter& filter);

}  // namespace backtalk::store::review
