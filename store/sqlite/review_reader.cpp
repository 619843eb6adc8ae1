#include "store/sqlite/review_reader.hpp"

#include "store/sqlite/review_queries.hpp"
#include "store/sqlite/schema.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace backtalk::store {

SqliteReviewReader::SqliteReviewReader(SQLite::Database db) : db_(std::move(db)) {}

nlohmann::json SqliteReviewReader::list_conversations(const review::Filter& filter) {
    return review::list_conversations(db_, filter);
}

std::optional<std::string> SqliteReviewReader::resolve_id(const std::string& id_or_prefix) {
    return review::resolve_id(db_, id_or_prefix);
}

std::optional<nlohmann::json> SqliteReviewReader::transcript(const std::string& id) {
    return review::transcript(db_, id);
}

std::size_t SqliteReviewReader::write_export(const review::Filter& filter, review::ExportFormat format,
                                             std::ostream& out) {
    return review::write_export(db_, filter, format, out);
}

nlohmann::json SqliteReviewReader::stats(const review::Filter& filter) { return review::stats(db_, filter); }

nlohmann::json SqliteReviewReader::unmatched(const review::Filter& filter) {
    return review::unmatched(db_, filter);
}

int SqliteReviewReader::schema_version() { return store::schema_version(db_); }

int SqliteReviewReader::latest_schema_version() const { return store::latest_schema_version(); }

SQLite::Database open_existing_log_read_only(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw std::runtime_error("no log database at " + path.string() + " (set --db or BACKTALK_DB)");
    }
    SQLite::Database db(path, SQLite::OPEN_READONLY, 5000);
    try {
        check_schema_supported(db);
    } catch (const SQLite::Exception& error) {
        // SQLite's own words ("attempt to write a readonly database") would
        // puzzle someone who only asked to read.
        if (error.getErrorCode() != SQLITE_READONLY && error.getErrorCode() != SQLITE_CANTOPEN) throw;
        throw std::runtime_error("cannot read " + path.string() +
                                 ": even reading the log needs write access to its folder (SQLite's WAL mode "
                                 "keeps a shared-memory file beside it); run this as the user the server runs as");
    }
    if (store::schema_version(db) == 0) throw std::runtime_error(path.string() + " is not a backtalk log");
    return db;
}

}  // namespace backtalk::store
