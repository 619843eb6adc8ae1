// Schema 8: one log row per turn. The review queries must read the same out
// of a log converted from schemas 5, 6 and 7 as they read before, and the
// writer must write a turn as one row.
#include "store/sqlite/review_queries.hpp"
#include "store/sqlite/schema.hpp"
#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>
#include <string>

using namespace backtalk;
using nlohmann::json;

namespace {

// A version-5 log as a backtalk of that version wrote it, with the cases a
// conversion must keep: a whole conversation, replies before the person's
// first object, a gap in the numbers, text JSON must escape, objects of one
// turn at different times, unknown processing times and a broken JSON column.
void write_version_5_log(const std::filesystem::path& path) {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    store::migrate(db, 5);
    REQUIRE(store::schema_version(db) == 5);
    db.exec("INSERT INTO conversations (id, channel, user_hash, started, last_activity, locale, outcome_level, "
            "outcome_reasons, turns, state, asking) VALUES "
            "('done', 'websocket', 'h1', 1000, 5000, 'en', 'self_care', '[\"mechanical\"]', 4, 'advice', NULL), "
            "('lone', 'telegram', NULL, 2000, 2500, 'en', NULL, NULL, 1, 'asking', 'duration'), "
            "('gap', 'rest', NULL, 3000, 3100, 'de', NULL, NULL, 1, 'asking', 'pain_location')");
    db.exec("INSERT INTO messages (conversation, seq, time, direction, kind, text, code, intents, confidence, "
            "understood, state, asking, triage_level, triage_reasons, rules_version, channel, processing_us) VALUES "
            "('done', 1, 1000, 'in', 'start', '', NULL, '[]', 0.0, 1, NULL, NULL, NULL, NULL, 'r1', 'websocket', 40), "
            "('done', 2, 1000, 'out', 'session', 'new', NULL, NULL, NULL, NULL, 'greeting', NULL, NULL, NULL, 'r1', "
            "'websocket', 40), "
            "('done', 3, 2000, 'in', 'message', 'it says \"ouch\"\n\tñ 😬', NULL, '[\"pain\",\"lower_back\"]', 0.9, 1, "
            "'greeting', NULL, NULL, NULL, 'r1', 'websocket', 55), "
            "('done', 4, 2001, 'out', 'reply', 'How long?', NULL, NULL, NULL, NULL, 'asking', 'duration', NULL, NULL, "
            "'r1', 'websocket', 55), "
            "('done', 5, 3000, 'in', 'message', 'zzz', NULL, 'not json', 1.0, 0, 'asking', 'duration', NULL, NULL, "
            "'r1', 'websocket', NULL), "
            "('done', 6, 3000, 'out', 'error', 'Sorry?', 'not_understood', NULL, NULL, NULL, 'asking', 'duration', "
            "NULL, NULL, 'r2', NULL, NULL), "
            "('done', 7, 4000, 'in', 'choice', 'no', NULL, '[\"no\"]', 1.0, 1, 'asking', 'red_flags', NULL, NULL, "
            "'r2', 'websocket', 70), "
            "('done', 8, 4000, 'out', 'reply', 'Self-care.', NULL, NULL, NULL, NULL, 'advice', NULL, 'self_care', "
            "'[\"mechanical\"]', 'r2', 'websocket', 70), "
            "('done', 9, 4000, 'out', 'reply', 'Take care.', NULL, NULL, NULL, NULL, 'advice', NULL, NULL, NULL, "
            "'r2', 'websocket', 70), "
            "('lone', 1, 2000, 'out', 'session', 'resumed', NULL, NULL, NULL, NULL, 'asking', NULL, NULL, NULL, "
            "'r1', 'telegram', 10), "
            "('lone', 2, 2000, 'out', 'reply', 'Where were we?', NULL, NULL, NULL, NULL, 'asking', 'duration', NULL, "
            "NULL, 'r1', 'telegram', 10), "
            "('lone', 3, 2500, 'in', 'message', 'qwerty', NULL, '[]', 0.1, 0, 'asking', 'duration', NULL, NULL, 'r1', "
            "'telegram', 12), "
            "('gap', 1, 3000, 'in', 'message', 'hallo', NULL, '[]', 0.2, 0, NULL, NULL, NULL, NULL, 'r1', 'rest', 9), "
            "('gap', 3, 3100, 'out', 'reply', 'Wo tut es weh?', NULL, NULL, NULL, NULL, 'asking', 'pain_location', "
            "NULL, NULL, 'r1', 'rest', 9)");
}

// Everything the review queries say about a log.
json review_output(SQLite::Database& db) {
    const store::review::Filter all;
    json output;
    output["list"] = store::review::list_conversations(db, all);
    for (const char* id : {"done", "lone", "gap"}) output["transcripts"][id] = *store::review::transcript(db, id);
    for (const auto format : {store::review::ExportFormat::jsonl, store::review::ExportFormat::csv}) {
        std::ostringstream out;
        store::review::write_export(db, all, format, out);
        output["exports"].push_back(out.str());
    }
    output["stats"] = store::review::stats(db, all);
    output["unmatched"] = store::review::unmatched(db, all);
    return output;
}

}  // namespace

TEST_CASE("schema 8: a log of schema 5, 6 or 7 becomes one row per turn and reads back as before") {
    for (const int from : {5, 6, 7}) {
        CAPTURE(from);
        test::TempDir dir;
        write_version_5_log(dir / "log.db");
        {
            SQLite::Database db(dir / "log.db", SQLite::OPEN_READWRITE);
            store::migrate(db, from);
            if (from == 7) {
                db.exec("UPDATE messages SET basis = '[{\"rule\":\"mechanical\",\"level\":\"self_care\",\"facts\":"
                        "[{\"slot\":\"red_flags\",\"value\":\"no\",\"turn\":3}]}]' "
                        "WHERE conversation = 'done' AND seq = 8");
            }
        }
        // What the queries read at schema 7, where messages are a table.
        std::filesystem::copy_file(dir / "log.db", dir / "before.db");
        json before;
        {
            SQLite::Database db(dir / "before.db", SQLite::OPEN_READWRITE);
            store::migrate(db, 7);
            before = review_output(db);
        }
        REQUIRE(before["transcripts"]["done"]["messages"].size() == 9);

        store::Store log(test::quiet_options(dir));
        log.close();
        SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
        CHECK(store::schema_version(db) == 8);
        CHECK(review_output(db) == before);
        // done: 4 turns; lone: the replies before the person's first object,
        // then that object; gap: two rows, one per number kept.
        CHECK(db.execAndGet("SELECT COUNT(*) FROM turns").getInt() == 4 + 2 + 2);
        CHECK(db.execAndGet("SELECT COUNT(*) FROM messages").getInt() == 9 + 3 + 2);
        CHECK(db.execAndGet("SELECT group_concat(seq || ':' || objects, ' ') FROM "
                            "(SELECT seq, objects FROM turns WHERE conversation = 'done' ORDER BY seq)")
                  .getString() == "1:2 3:2 5:2 7:3");
        if (from == 7) {
            CHECK(before["transcripts"]["done"]["messages"][7]["basis"][0]["rule"] == "mechanical");
        }
    }
}

TEST_CASE("schema 8: a logged turn is one row holding the person's object, the replies and the basis") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    store::TurnLog turn;
    turn.conversation = test::conversation("t1", "websocket", 1000);
    turn.messages.push_back(test::inbound("t1", 1000, "numb down there"));
    turn.messages.push_back(test::outbound("t1", 1000, "Call 112 now."));
    turn.messages.back().triage = Triage{Level::emergency, {"cauda_equina"}};
    turn.messages.back().basis = {RuleBasis{"cauda_equina", Level::emergency, {{"saddle_numbness", "yes", 1}}}};
    turn.messages.push_back(test::outbound("t1", 1000, "Stay where you are."));
    turn.now_ms = 1000;
    CHECK(log.log_turn(turn));
    CHECK(log.log_turn([] {
        store::TurnLog next;
        next.conversation = test::conversation("t1", "websocket", 1000);
        next.messages.push_back(test::inbound("t1", 2000, "ok"));
        next.messages.push_back(test::outbound("t1", 2000, "Call now."));
        return next;
    }()));
    REQUIRE(log.flush());
    const auto transcript = log.review()->transcript("t1");
    log.close();

    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT COUNT(*) FROM turns").getInt() == 2);
    SQLite::Statement first(db, "SELECT seq, objects, json_extract(person, '$.text'), "
                                "json_array_length(replies), json_extract(replies, '$[0].basis[0].rule') "
                                "FROM turns WHERE conversation = 't1' ORDER BY seq");
    REQUIRE(first.executeStep());
    CHECK(first.getColumn(0).getInt() == 1);
    CHECK(first.getColumn(1).getInt() == 3);
    CHECK(first.getColumn(2).getString() == "numb down there");
    CHECK(first.getColumn(3).getInt() == 2);
    CHECK(first.getColumn(4).getString() == "cauda_equina");
    REQUIRE(first.executeStep());
    CHECK(first.getColumn(0).getInt() == 4);

    REQUIRE(transcript);
    const json& messages = (*transcript)["messages"];
    REQUIRE(messages.size() == 5);
    CHECK(messages[1]["triage"] == json{{"level", "emergency"}, {"reasons", {"cauda_equina"}}});
    CHECK(messages[1]["basis"][0]["facts"][0]["slot"] == "saddle_numbness");
    CHECK(messages[2]["basis"] == json::array());
    CHECK(messages[3]["seq"] == 4);
    CHECK(messages[3]["intents"] == json::array());
    CHECK(messages[3]["understood"] == false);
    CHECK(messages[4]["time_ms"] == 2000);
}
