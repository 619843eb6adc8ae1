#include "bot/store/schema.hpp"
#include "bot/store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace backtalk;

TEST_CASE("a new database gets the latest schema in WAL mode") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    log.close();

    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(store::schema_version(db) == store::latest_schema_version());
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
    for (const char* table : {"conversations", "messages", "sessions", "audit", "bindings"}) {
        CHECK_MESSAGE(db.tableExists(table), table);
    }
}

TEST_CASE("an older database is migrated and keeps its rows") {
    test::TempDir dir;
    {
        SQLite::Database db(dir / "log.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        store::migrate(db, 1);
        REQUIRE(store::schema_version(db) == 1);
        db.exec("INSERT INTO conversations (id, channel, started, last_activity, turns) "
                "VALUES ('old', 'terminal', 1000, 2000, 3)");
        CHECK_FALSE(db.tableExists("sessions"));
    }
    store::Store log(test::quiet_options(dir));
    log.close();

    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(store::schema_version(db) == store::latest_schema_version());
    CHECK(db.tableExists("sessions"));
    CHECK(db.tableExists("bindings"));
    CHECK(db.execAndGet("SELECT turns FROM conversations WHERE id = 'old'").getInt() == 3);
}

TEST_CASE("a database from a newer backtalk is refused, untouched") {
    test::TempDir dir;
    const int newer = store::latest_schema_version() + 1;
    {
        SQLite::Database db(dir / "log.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("PRAGMA user_version = " + std::to_string(newer));
    }
    CHECK_THROWS_WITH_AS(store::Store(test::quiet_options(dir)),
                         doctest::Contains("newer than this backtalk supports"), std::runtime_error);
    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(store::schema_version(db) == newer);
    CHECK_FALSE(db.tableExists("conversations"));
}

TEST_CASE("a file that is not a database is refused") {
    test::TempDir dir;
    {
        std::ofstream out(dir / "log.db");
        out << "this is a text file, not SQLite, and it is long enough to have a header.....";
    }
    CHECK_THROWS_WITH_AS(store::Store(test::quiet_options(dir)), doctest::Contains("not a backtalk database"),
                         std::runtime_error);
}
