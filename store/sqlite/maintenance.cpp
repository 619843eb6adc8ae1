// The SQLite backend's maintenance: purge and delete on the writer's
// connection (the store runs them on its writer thread, in queue order),
// and the online backup.
#include "store/private_file.hpp"
#include "store/sqlite/sqlite_backend.hpp"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace backtalk::store::detail {

namespace {

// Deleted text must not linger in the WAL either: secure_delete zeroes the
// freed pages, and a truncating checkpoint empties the WAL (best effort: a
// reader in progress can keep frames alive until the next checkpoint).
void checkpoint_truncate(SQLite::Database& db) { db.execAndGet("PRAGMA wal_checkpoint(TRUNCATE)"); }

}  // namespace

std::size_t SqliteBackend::purge_before(std::int64_t cutoff_ms) {
    ensure_writer();
    SQLite::Database& db = writer_->db();
    std::size_t removed = 0;
    {
        SQLite::Transaction transaction(db);
        const char* old_conversations = "SELECT id FROM conversations WHERE last_activity < ?1";
        SQLite::Statement messages(db, std::string("DELETE FROM turns WHERE conversation IN (") +
                                           old_conversations +
                                           ") OR (time < ?1 AND conversation NOT IN "
                                           "(SELECT id FROM conversations))");
        messages.bind(1, cutoff_ms);
        messages.exec();
        SQLite::Statement sessions(db, std::string("DELETE FROM sessions WHERE updated < ?1 OR id IN (") +
                                           old_conversations + ")");
        sessions.bind(1, cutoff_ms);
        sessions.exec();
        SQLite::Statement bindings(db, "DELETE FROM bindings WHERE updated < ?1");
        bindings.bind(1, cutoff_ms);
        bindings.exec();
        SQLite::Statement conversations(db, "DELETE FROM conversations WHERE last_activity < ?1");
        conversations.bind(1, cutoff_ms);
        removed = static_cast<std::size_t>(conversations.exec());
        transaction.commit();
    }
    writer_->forget_sequences();
    checkpoint_truncate(db);
    return removed;
}

bool SqliteBackend::delete_conversation(const std::string& id) {
    ensure_writer();
    SQLite::Database& db = writer_->db();
    bool found = false;
    {
        SQLite::Transaction transaction(db);
        int changed = 0;
        // Bindings that name the conversation: a chat's binding has its id as
        // the value, a stored REST answer holds it inside the value (ids are
        // 32 hex digits with 80 random bits, so a match is this conversation).
        for (const char* sql : {"DELETE FROM turns WHERE conversation = ?", "DELETE FROM sessions WHERE id = ?",
                                "DELETE FROM bindings WHERE instr(value, ?) > 0",
                                "DELETE FROM conversations WHERE id = ?"}) {
            SQLite::Statement statement(db, sql);
            statement.bind(1, id);
            changed += statement.exec();
        }
        transaction.commit();
        found = changed > 0;
    }
    writer_->forget_sequence(id);
    checkpoint_truncate(db);
    return found;
}

void SqliteBackend::backup_to(const std::filesystem::path& target) {
    // Created 0600 (whatever the umask) before SQLite writes into it; outside
    // the try below, so that a file someone made meanwhile is never removed.
    std::error_code create_error;
    if (!create_private_file(target, create_error)) {
        if (!create_error) throw std::runtime_error(target.string() + " exists; backups never overwrite a file");
        throw std::runtime_error("backup to " + target.string() + " failed: " + create_error.message());
    }
    try {
        SQLite::Database source = open_read_only();
        SQLite::Database copy(target, SQLite::OPEN_READWRITE);
        SQLite::Backup backup(copy, source);
        // One step copies everything under a single read transaction, so the
        // copy is a consistent snapshot even while the writer commits.
        while (backup.executeStep(-1) != SQLITE_DONE) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        const std::string check = copy.execAndGet("PRAGMA quick_check").getString();
        if (check != "ok") throw std::runtime_error("quick_check on the copy says: " + check);
    } catch (const std::exception& error) {
        std::error_code ec;
        std::filesystem::remove(target, ec);
        throw std::runtime_error("backup to " + target.string() + " failed: " + error.what());
    }
}

}  // namespace backtalk::store::detail
