#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

using namespace backtalk;

namespace {

constexpr std::int64_t day_ms = 24 * 60 * 60 * 1000;

// Two conversations: "old" last active on day 1, "new" on day 40.
void log_two_conversations(store::Store& log) {
    Session session;
    session.state = "greeting";
    for (const auto& [id, time] : {std::pair<std::string, std::int64_t>{"old", day_ms}, {"new", 40 * day_ms}}) {
        log.log_conversation(test::conversation(id, "terminal", time));
        log.log_message(test::inbound(id, time, "words of " + id));
        log.log_message(test::outbound(id, time, "answer to " + id));
        log.save_session(id, session, time);
        log.set_binding("telegram", "chat-" + id, id, time);
    }
}

}  // namespace

TEST_CASE("purge removes conversations older than the cutoff with their messages, sessions and bindings") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    log_two_conversations(log);
    CHECK(log.purge_before(30 * day_ms) == 1);
    CHECK_FALSE(log.load_session("old").has_value());
    CHECK(log.load_session("new").has_value());
    CHECK_FALSE(log.binding("telegram", "chat-old").has_value());
    CHECK(log.binding("telegram", "chat-new") == std::optional<std::string>("new"));
    log.close();

    const auto db = dir / "log.db";
    CHECK(test::query_int(db, "SELECT COUNT(*) FROM conversations") == 1);
    CHECK(test::query_int(db, "SELECT COUNT(*) FROM messages WHERE conversation = 'old'") == 0);
    CHECK(test::query_int(db, "SELECT COUNT(*) FROM messages WHERE conversation = 'new'") == 2);
    CHECK(test::query_int(db, "SELECT COUNT(*) FROM sessions") == 1);
}

TEST_CASE("deleting one conversation removes its rows, its session and its text from the file") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    log_two_conversations(log);
    log.log_message(test::inbound("old", 2 * day_ms, "zebracorn"));
    REQUIRE(log.flush());
    CHECK(log.delete_conversation("old"));
    CHECK_FALSE(log.delete_conversation("old"));
    CHECK_FALSE(log.delete_conversation("never-existed"));
    CHECK_FALSE(log.load_session("old").has_value());

    // secure_delete and the truncating checkpoint leave no copy behind.
    const std::string bytes = test::file_bytes(dir / "log.db") + test::file_bytes(dir / "log.db-wal");
    CHECK(bytes.find("zebracorn") == std::string::npos);
    CHECK(bytes.find("words of old") == std::string::npos);
    log.close();
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM conversations") == 1);
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages") == 2);
}

TEST_CASE("a conversation that goes on after being deleted starts its numbering again") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    log.log_message(test::inbound("c1", 1, "one"));
    log.log_message(test::inbound("c1", 2, "two"));
    REQUIRE(log.delete_conversation("c1"));
    log.log_message(test::inbound("c1", 3, "three"));
    log.close();
    CHECK(test::query_int(dir / "log.db", "SELECT seq FROM messages WHERE text = 'three'") == 1);
}

TEST_CASE("an online backup holds every committed row, passes quick_check and can be restored") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    log_two_conversations(log);
    const auto backup = dir / "backup.db";
    log.backup_to(backup);
    // Writing goes on after the backup; the copy is a snapshot.
    log.log_message(test::inbound("new", 41 * day_ms, "after the backup"));
    CHECK_THROWS_WITH_AS(log.backup_to(backup), doctest::Contains("exists"), std::runtime_error);
    log.close();

    {
        SQLite::Database copy(backup, SQLite::OPEN_READONLY);
        CHECK(copy.execAndGet("PRAGMA quick_check").getString() == "ok");
    }
    // Restore: a store opened on the copy reads the same conversations.
    auto options = test::quiet_options(dir);
    options.path = backup;
    store::Store restored(options);
    CHECK(restored.load_session("old").has_value());
    CHECK(restored.load_session("new").has_value());
    restored.close();
    CHECK(test::query_int(backup, "SELECT COUNT(*) FROM messages") == 4);
    CHECK(test::query_int(backup, "SELECT COUNT(*) FROM messages WHERE text = 'after the backup'") == 0);
}

TEST_CASE("a backup to a folder that does not exist fails clearly and leaves nothing") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    const auto target = dir / "missing" / "backup.db";
    CHECK_THROWS_WITH_AS(log.backup_to(target), doctest::Contains("backup to"), std::runtime_error);
    CHECK_FALSE(std::filesystem::exists(target));
}

TEST_CASE("audit records are kept") {
    test::TempDir dir;
    {
        store::Store log(test::quiet_options(dir));
        log.record_audit({1234, "admin-api 127.0.0.1", "show", "c1"});
    }
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM audit WHERE actor = 'admin-api 127.0.0.1' "
                                           "AND action = 'show' AND detail = 'c1' AND time = 1234") == 1);
}
