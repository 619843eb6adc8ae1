// Records and options shared by the store tests.
#pragma once

#include "store/store.hpp"
#include "temp_dir.hpp"
#include "tests/support/eventually.hpp"

#include <SQLiteCpp/Database.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace backtalk::test {

// A store in `dir` that never reports to stderr and never waits long.
inline store::StoreOptions quiet_options(const TempDir& dir) {
    store::StoreOptions options;
    options.path = dir / "log.db";
    options.hash_key_file = dir / "hash.key";
    options.report = [](std::string_view) {};
    return options;
}

inline store::MessageRecord inbound(const std::string& conversation, std::int64_t time_ms, const std::string& text) {
    store::MessageRecord record;
    record.conversation = conversation;
    record.time_ms = time_ms;
    record.direction = store::Direction::in;
    record.kind = "message";
    record.text = text;
    record.channel = "websocket";
    record.rules_version = "test-1";
    return record;
}

inline store::MessageRecord outbound(const std::string& conversation, std::int64_t time_ms, const std::string& text) {
    store::MessageRecord record = inbound(conversation, time_ms, text);
    record.direction = store::Direction::out;
    record.kind = "reply";
    return record;
}

inline store::ConversationRecord conversation(const std::string& id, const std::string& channel,
                                              std::int64_t started_ms) {
    store::ConversationRecord record;
    record.id = id;
    record.channel = channel;
    record.started_ms = started_ms;
    record.last_activity_ms = started_ms;
    record.locale = "en";
    return record;
}

inline std::int64_t query_int(const std::filesystem::path& db_path, const std::string& sql) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    return db.execAndGet(sql).getInt64();
}

inline std::string query_text(const std::filesystem::path& db_path, const std::string& sql) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    return db.execAndGet(sql).getString();
}

inline bool writable(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

// Makes a file read-only even for root (whom file modes do not stop) with the
// immutable attribute; returns false where neither works.
inline bool make_read_only(const std::filesystem::path& path) {
    ::chmod(path.c_str(), 0444);
    if (writable(path) && geteuid() == 0) {
        const std::string command = "chattr +i '" + path.string() + "' 2>/dev/null";
        if (std::system(command.c_str()) != 0) return false;
    }
    return !writable(path);
}

inline void make_writable(const std::filesystem::path& path) {
    if (geteuid() == 0) {
        const std::string command = "chattr -i '" + path.string() + "' 2>/dev/null";
        static_cast<void>(std::system(command.c_str()));
    }
    ::chmod(path.c_str(), 0644);
}

}  // namespace backtalk::test
