#include "store/sqlite/sqlite_backend.hpp"

#include "store/private_file.hpp"
#include "store/sqlite/schema.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

namespace backtalk::store {

void configure_sqlite_library() { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

}  // namespace backtalk::store

namespace backtalk::store::detail {

namespace {

// A reader that never pauses keeps automatic checkpoints from finishing and
// the WAL grows; past this size the writer forces a truncating checkpoint.
constexpr std::uintmax_t wal_limit_bytes = 64u << 20;
constexpr int batches_between_wal_checks = 100;

}  // namespace

SqliteBackend::SqliteBackend(const StoreOptions& options) : options_(options) {}

SqliteBackend::~SqliteBackend() = default;

void SqliteBackend::ensure_writer() {
    if (writer_) return;
    const auto& path = options_.path;
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    // A folder (or a device) where the file should be is a mistake in the
    // settings, not a fault that retrying would get past.
    if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
        throw FatalOpenError(path.string() + " is not a database file (it is a directory or a device)");
    }
    // Created 0600 before SQLite sees it, so the log and its -wal and -shm
    // files are private whatever the umask. A file that cannot be created is
    // left to SQLite's open below, which reports why in its own words.
    std::error_code not_created;
    create_private_file(path, not_created);
    const int busy_ms = static_cast<int>(options_.busy_timeout.count());
    // Only the writer thread uses this connection: no SQLite mutex on every
    // bind and step.
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, busy_ms);
    try {
        // Check before changing anything in a file from a newer backtalk.
        check_schema_supported(db);
        configure_writer_connection(db, busy_ms);
        if (options_.max_bytes > 0) {
            const auto page_size = db.execAndGet("PRAGMA page_size").getInt64();
            const auto pages = std::max<std::uint64_t>(1, options_.max_bytes / static_cast<std::uint64_t>(page_size));
            db.execAndGet("PRAGMA max_page_count = " + std::to_string(pages));
        }
        migrate(db);
    } catch (const SchemaTooNew& error) {
        throw FatalOpenError(error.what());
    } catch (const SQLite::Exception& error) {
        if (error.getErrorCode() == SQLITE_NOTADB) {
            throw FatalOpenError(path.string() + " is not a backtalk database: " + error.what());
        }
        throw;
    }
    writer_ = std::make_unique<SqliteBatchWriter>(std::move(db), options_.report);
}

void SqliteBackend::reset_writer() { writer_.reset(); }

void SqliteBackend::write_batch(const Batch& batch, const WriteQueue& queue, std::uint64_t& rejected,
                                WrittenSessions& written_sessions) {
    ensure_writer();
    writer_->write_batch(batch, queue, rejected, written_sessions);
}

void SqliteBackend::after_batch() {
    if (++batches_since_wal_check_ < batches_between_wal_checks) return;
    batches_since_wal_check_ = 0;
    std::error_code ec;
    const auto wal_size = std::filesystem::file_size(options_.path.string() + "-wal", ec);
    if (ec || wal_size <= wal_limit_bytes || !writer_) return;
    try {
        writer_->db().execAndGet("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (const SQLite::Exception& error) {
        options_.report(std::string("the WAL is ") + std::to_string(wal_size >> 20) +
                        " MiB and could not be checkpointed: " + error.what());
    }
}

bool SqliteBackend::is_record_error(const std::exception& error) const {
    const auto* sqlite_error = dynamic_cast<const SQLite::Exception*>(&error);
    return sqlite_error && is_sqlite_record_error(*sqlite_error);
}

}  // namespace backtalk::store::detail
