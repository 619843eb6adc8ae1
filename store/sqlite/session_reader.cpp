// The SQLite backend's reads: sessions and bindings through one shared
// read-only connection (reopened after a failure), review through a
// connection of its own per call, so that a long export never holds up the
// session lookups.
#include "store/sqlite/review_reader.hpp"
#include "store/sqlite/sqlite_backend.hpp"

#include <SQLiteCpp/Statement.h>

namespace backtalk::store::detail {

SQLite::Database SqliteBackend::open_read_only() const {
    return SQLite::Database(options_.path, SQLite::OPEN_READONLY, static_cast<int>(options_.busy_timeout.count()));
}

template <class Read>
auto SqliteBackend::with_reader(Read&& read) {
    std::lock_guard lock(reader_mutex_);
    try {
        if (!reader_) reader_.emplace(open_read_only());
        return read(*reader_);
    } catch (...) {
        reader_.reset();
        throw;
    }
}

std::optional<std::string> SqliteBackend::session_snapshot(const std::string& id) {
    return with_reader([&](SQLite::Database& db) -> std::optional<std::string> {
        SQLite::Statement query(db, "SELECT snapshot FROM sessions WHERE id = ?");
        query.bind(1, id);
        if (!query.executeStep()) return std::nullopt;
        return query.getColumn(0).getString();
    });
}

std::optional<std::string> SqliteBackend::binding(const std::string& scope, const std::string& key) {
    return with_reader([&](SQLite::Database& db) -> std::optional<std::string> {
        SQLite::Statement query(db, "SELECT value FROM bindings WHERE scope = ? AND key = ?");
        query.bind(1, scope);
        query.bind(2, key);
        if (!query.executeStep()) return std::nullopt;
        return query.getColumn(0).getString();
    });
}

std::vector<std::string> SqliteBackend::binding_values(const std::string& scope) {
    SQLite::Database db = open_read_only();
    SQLite::Statement query(db, "SELECT value FROM bindings WHERE scope = ?");
    query.bind(1, scope);
    std::vector<std::string> values;
    while (query.executeStep()) values.push_back(query.getColumn(0).getString());
    return values;
}

std::unique_ptr<review::ReviewReader> SqliteBackend::review() {
    return std::make_unique<SqliteReviewReader>(open_read_only());
}

void SqliteBackend::close_readers() {
    std::lock_guard lock(reader_mutex_);
    reader_.reset();
}

}  // namespace backtalk::store::detail
