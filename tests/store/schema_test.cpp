#include "store/sqlite/schema.hpp"
#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace backtalk;

TEST_CASE("a new database gets the latest schema in WAL mode") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    log.close();

    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(store::schema_version(db) == store::latest_schema_version());
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
    for (const char* table : {"conversations", "turns", "sessions", "audit", "bindings", "reviews"}) {
        CHECK_MESSAGE(db.tableExists(table), table);
    }
    // Schema 8: messages are a view of the turns.
    CHECK(db.execAndGet("SELECT type FROM sqlite_master WHERE name = 'messages'").getString() == "view");
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

TEST_CASE("schema 6 counts the messages a database already holds onto their conversations") {
    test::TempDir dir;
    {
        SQLite::Database db(dir / "log.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        store::migrate(db, 5);
        db.exec("INSERT INTO conversations (id, channel, started, last_activity, turns) VALUES "
                "('done', 'terminal', 1000, 2000, 4), ('open', 'terminal', 1000, 2000, 1), "
                "('empty', 'terminal', 1000, 2000, 0)");
        db.exec("INSERT INTO messages (conversation, seq, time, direction, kind, text, understood, triage_level) VALUES "
                "('done', 1, 1, 'in', 'start', '', 1, NULL), "
                "('done', 2, 1, 'out', 'session', 'new', NULL, NULL), "
                "('done', 3, 2, 'in', 'message', 'back hurts', 1, NULL), "
                "('done', 4, 2, 'out', 'reply', 'How long?', NULL, NULL), "
                "('done', 5, 3, 'in', 'message', 'zzz', 0, NULL), "
                "('done', 6, 3, 'out', 'reply', 'Sorry?', NULL, NULL), "
                "('done', 7, 4, 'in', 'choice', 'no', 1, NULL), "
                "('done', 8, 4, 'out', 'reply', 'Self-care.', NULL, 'self_care'), "
                "('done', 9, 5, 'in', 'message', 'thanks', 1, NULL), "
                "('done', 10, 5, 'out', 'reply', 'Take care.', NULL, NULL), "
                "('open', 1, 1, 'in', 'message', 'qwerty', 0, NULL), "
                "('open', 2, 1, 'out', 'reply', 'Sorry?', NULL, NULL)");
    }
    store::Store log(test::quiet_options(dir));
    log.close();

    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    const auto counts = [&](const std::string& id) {
        SQLite::Statement query(db, "SELECT messages_in, messages_out, answers, typed, not_understood, "
                                    "COALESCE(turns_to_outcome, -1) FROM conversations WHERE id = ?");
        query.bind(1, id);
        REQUIRE(query.executeStep());
        std::vector<int> values;
        for (int i = 0; i < 6; ++i) values.push_back(query.getColumn(i).getInt());
        return values;
    };
    // done: 3 answers before the self-care reply (two messages, one choice).
    CHECK(counts("done") == std::vector<int>{5, 5, 4, 3, 1, 3});
    CHECK(counts("open") == std::vector<int>{1, 1, 1, 1, 1, -1});
    CHECK(counts("empty") == std::vector<int>{0, 0, 0, 0, 0, -1});
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

TEST_CASE("a directory where the database should be is refused, not retried") {
    // It used to give a degraded store that dropped every record, so a
    // chat or a server ran with no log and said so only in counters.
    test::TempDir dir;
    std::filesystem::create_directory(dir / "log.db");
    CHECK_THROWS_WITH_AS(store::Store(test::quiet_options(dir)), doctest::Contains("is not a database file"),
                         std::runtime_error);
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

TEST_CASE("schema 7: a version-5 log gains the basis of each advice, its messages read back unchanged, with no basis") {
    test::TempDir dir;
    {
        SQLite::Database db(dir / "log.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        store::migrate(db, 5);
        REQUIRE(store::schema_version(db) == 5);
        db.exec("INSERT INTO conversations (id, channel, started, last_activity, outcome_level, outcome_reasons, turns) "
                "VALUES ('v5', 'terminal', 1000, 2000, 'emergency', '[\"cauda_equina\"]', 2)");
        db.exec("INSERT INTO messages (conversation, seq, time, direction, kind, text, intents, confidence, "
                "understood, triage_level, triage_reasons) VALUES "
                "('v5', 1, 1000, 'in', 'message', 'numb down there', '[\"saddle_numbness\"]', 0.9, 1, NULL, NULL), "
                "('v5', 2, 1000, 'out', 'reply', 'Call 112 now.', NULL, NULL, NULL, 'emergency', '[\"cauda_equina\"]')");
    }
    store::Store log(test::quiet_options(dir));
    const auto transcript = log.review()->transcript("v5");
    log.close();
    REQUIRE(transcript);
    const auto& messages = (*transcript)["messages"];
    REQUIRE(messages.size() == 2);
    CHECK(messages[0]["text"] == "numb down there");
    CHECK(messages[1]["triage"]["level"] == "emergency");
    CHECK(messages[1]["basis"] == nlohmann::json::array());

    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(store::schema_version(db) == store::latest_schema_version());
    CHECK(db.execAndGet("SELECT COUNT(*) FROM messages WHERE basis IS NULL").getInt() == 2);
}

TEST_CASE("schema 9: a version-8 log gains an empty reviews table, its conversations read back unreviewed") {
    test::TempDir dir;
    {
        SQLite::Database db(dir / "log.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        store::migrate(db, 8);
        CHECK_FALSE(db.tableExists("reviews"));
        db.exec("INSERT INTO conversations (id, channel, started, last_activity, turns) "
                "VALUES ('v7', 'terminal', 1000, 2000, 1)");
    }
    store::Store log(test::quiet_options(dir));
    const auto list = log.review()->list_conversations({});
    log.close();
    REQUIRE(list.size() == 1);
    CHECK(list[0]["review"].is_null());
    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(store::schema_version(db) == store::latest_schema_version());
    CHECK(db.execAndGet("SELECT COUNT(*) FROM reviews").getInt() == 0);
}

TEST_CASE("schema 10: the turns a version-9 log holds are indexed for full-text search, damaged JSON as nothing") {
    test::TempDir dir;
    {
        SQLite::Database db(dir / "log.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        store::migrate(db, 9);
        db.exec("INSERT INTO conversations (id, channel, started, last_activity, turns) VALUES "
                "('v9', 'terminal', 1000, 2000, 1), ('broken', 'terminal', 1000, 2000, 1)");
        db.exec("INSERT INTO turns (conversation, seq, objects, time, person, replies) VALUES "
                "('v9', 1, 2, 1000, '{\"kind\":\"message\",\"text\":\"my knee aches\"}', "
                "'[{\"kind\":\"reply\",\"text\":\"Since when?\"}]'), "
                "('broken', 1, 1, 1000, '{not json', '[also not')");
    }
    store::Store log(test::quiet_options(dir));
    const auto search = [&](const std::string& words) {
        store::review::Filter filter;
        filter.text = words;
        return log.review()->list_conversations(filter);
    };
    const auto knee = search("knee");
    const auto since = search("since");
    log.close();
    REQUIRE(knee.size() == 1);
    CHECK(knee[0]["id"] == "v9");
    CHECK(since.size() == 1);
    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT COUNT(*) FROM turns_text WHERE turns_text MATCH 'knee'").getInt() == 1);
}

namespace {

// Every "word rowid" pair of full-text table `schema.table`, through fts5vocab.
std::vector<std::string> indexed_words(SQLite::Database& db, const std::string& schema, const std::string& table) {
    db.exec("CREATE VIRTUAL TABLE temp." + table + "_words USING fts5vocab(" + schema + ", " + table + ", 'instance')");
    SQLite::Statement words(db, "SELECT term || ' ' || doc FROM temp." + table + "_words ORDER BY term, doc");
    std::vector<std::string> found;
    while (words.executeStep()) found.push_back(words.getColumn(0).getString());
    return found;
}

}  // namespace

TEST_CASE("schema 11: the writer indexes the words schema 10's trigger read from the row's JSON") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    store::TurnLog turn;
    turn.conversation = test::conversation("t1", "websocket", 1000);
    // Escapes, accents, an emoji and a byte that is not UTF-8 (the JSON holds U+FFFD).
    turn.messages.push_back(test::inbound("t1", 1000, "it says \"ouch\"\n\tcafé 😬 na\xffve knee"));
    turn.messages.push_back(test::outbound("t1", 1000, "Since when?"));
    turn.messages.push_back(test::outbound("t1", 1000, "Tell me, señor."));
    CHECK(log.log_turn(turn));
    CHECK(log.log_message(test::outbound("t2", 2000, "Welcome back")));  // a row without the person
    CHECK(log.log_message(test::inbound("t3", 3000, "only words in")));  // and one without the bot
    REQUIRE(log.flush());

    std::vector<std::string> written;
    {
        SQLite::Database db(dir / "log.db", SQLite::OPEN_READWRITE);
        written = indexed_words(db, "main", "turns_text");
        db.exec("CREATE VIRTUAL TABLE temp.reference USING fts5(person, bot, content = '', detail = none, "
                "columnsize = 0, tokenize = 'unicode61 remove_diacritics 2')");
        db.exec("INSERT INTO temp.reference (rowid, person, bot) SELECT t.rowid, json_extract(t.person, '$.text'), "
                "(SELECT group_concat(json_extract(r.value, '$.text'), char(10)) FROM json_each(t.replies) r) "
                "FROM turns t");
        CHECK(written == indexed_words(db, "temp", "reference"));
    }
    CHECK(std::find(written.begin(), written.end(), "knee 1") != written.end());
    CHECK(std::find(written.begin(), written.end(), "senor 1") != written.end());

    // A deletion takes out the words it reads from the JSON: the same ones.
    REQUIRE(log.delete_conversation("t1"));
    log.close();
    SQLite::Database db(dir / "log.db", SQLite::OPEN_READWRITE);
    CHECK(db.execAndGet("SELECT COUNT(*) FROM turns_text WHERE turns_text MATCH 'knee OR senor'").getInt() == 0);
    CHECK(indexed_words(db, "main", "turns_text").size() == 5);  // welcome back, only words in
}
