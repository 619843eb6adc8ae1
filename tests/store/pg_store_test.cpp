// The store on PostgreSQL: the same records written through the same
// interface read back as on SQLite (every review query compared), sessions,
// bindings, maintenance, a refused value dropped alone, and a database from
// a newer backtalk refused. One throwaway server per test process
// (postgres_server.hpp), a database per test.
#include "postgres_server.hpp"
#include "review_scenario.hpp"
#include "store/postgresql/pg_connection.hpp"
#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <sstream>
#include <string>

using namespace backtalk;
using nlohmann::json;
namespace review = backtalk::store::review;

namespace {

// A new, empty database on the shared server; its URL.
std::string fresh_database() {
    static std::atomic<int> next{0};
    return test::fresh_postgres_database("store_test_" + std::to_string(++next));
}

store::StoreOptions postgresql_options(const test::TempDir& dir, const std::string& url) {
    store::StoreOptions options = test::quiet_options(dir);
    options.postgresql_url = url;
    return options;
}

// Everything the review queries say, with and without filters.
json review_output(review::ReviewReader& reader) {
    json output;
    std::vector<review::Filter> filters(10);
    filters[1].level = "none";
    filters[2].channel = "websocket";
    filters[3].limit = 2;
    filters[4].since_ms = test::may_1 + 24 * test::hour_ms;
    filters[5].reviewed = true;
    filters[6].reviewed = false;
    filters[7].tag = "wording";
    filters[8].text = "BACK hurts";
    filters[9].text = "ambulance numbness";
    for (const review::Filter& filter : filters) {
        json answers;
        answers["list"] = reader.list_conversations(filter);
        for (const auto format : {review::ExportFormat::jsonl, review::ExportFormat::csv}) {
            std::ostringstream out;
            answers["rows"].push_back(reader.write_export(filter, format, out));
            answers["exports"].push_back(out.str());
        }
        answers["stats"] = reader.stats(filter);
        answers["unmatched"] = reader.unmatched(filter);
        output["filters"].push_back(answers);
    }
    for (const char* id : {"e1", "s1", "n1", "t1", "nope"}) {
        const auto transcript = reader.transcript(id);
        output["transcripts"][id] = transcript ? *transcript : json(nullptr);
    }
    for (const char* id : {"e1", "zzzzzzzz", "abc"}) {
        try {
            const auto found = reader.resolve_id(id);
            output["resolved"][id] = found ? json(*found) : json(nullptr);
        } catch (const std::invalid_argument& error) {
            output["resolved"][id] = error.what();
        }
    }
    return output;
}

// The review scenario, then a turn logged in one call (one row of three
// objects, with a basis, text JSON escapes) and replies logged alone.
void log_everything(store::Store& log) {
    test::log_review_scenario(log);
    store::TurnLog turn;
    turn.conversation = test::conversation("t1", "rest", test::may_1 + 30 * test::hour_ms);
    turn.messages.push_back(test::inbound("t1", test::may_1 + 30 * test::hour_ms, "numb \"down\" there\n\tñ"));
    turn.messages.back().intents = {"saddle_numbness"};
    turn.messages.back().understood = true;
    turn.messages.back().confidence = 0.75;
    turn.messages.push_back(test::outbound("t1", test::may_1 + 30 * test::hour_ms, "Call 112 now."));
    turn.messages.back().triage = Triage{Level::emergency, {"cauda_equina"}};
    turn.messages.back().basis = {RuleBasis{"EM-1", Level::emergency, {{"saddle_numbness", "yes", 1}}}};
    turn.messages.push_back(test::outbound("t1", test::may_1 + 30 * test::hour_ms + 5, "Stay where you are."));
    turn.messages.back().channel = "";
    turn.now_ms = test::may_1 + 30 * test::hour_ms;
    log.log_turn(turn);
    log.log_message(test::outbound("t1", test::may_1 + 31 * test::hour_ms, "Are you still there?"));
    review::ReviewMark mark{"e1", test::may_1 + 40 * test::hour_ms, "cli alice", "caught at once", {"follow-up", "wording"}};
    REQUIRE(log.mark_reviewed(mark));
    mark.conversation = "n1";
    mark.tags = {"wording"};
    REQUIRE(log.mark_reviewed(mark));
    mark.conversation = "unknown";
    CHECK_FALSE(log.mark_reviewed(mark));
}

}  // namespace

TEST_CASE("postgresql: the same records read back exactly as from SQLite, through every review query") {
    test::TempDir dir;
    json from_sqlite;
    {
        store::Store log(test::quiet_options(dir));
        log_everything(log);
        REQUIRE(log.flush());
        from_sqlite = review_output(*log.review());
    }
    const std::string url = fresh_database();
    store::Store log(postgresql_options(dir, url));
    log_everything(log);
    REQUIRE(log.flush());
    const json from_postgresql = review_output(*log.review());
    CHECK(from_postgresql == from_sqlite);
    REQUIRE(from_sqlite["transcripts"]["t1"]["messages"].size() == 4);
    CHECK(from_sqlite["filters"][0]["rows"][0] == 23);
    // The review filters and the search select what they should, alike.
    const auto listed = [&](int filter) {
        std::vector<std::string> ids;
        for (const json& conversation : from_sqlite["filters"][filter]["list"]) ids.push_back(conversation["id"]);
        return ids;
    };
    CHECK(listed(5) == std::vector<std::string>{"n1", "e1"});
    CHECK(listed(6) == std::vector<std::string>{"t1", "s1"});
    CHECK(listed(7) == std::vector<std::string>{"n1", "e1"});
    CHECK(listed(8) == std::vector<std::string>{"e1"});
    CHECK(from_sqlite["resolved"]["e1"] == "e1");
    CHECK(from_sqlite["resolved"]["zzzzzzzz"].is_null());
    CHECK(from_sqlite["resolved"]["abc"].get<std::string>().find("at least 8 characters") != std::string::npos);

    // The same through open_review_reader, as `backtalk logs --db URL` reads.
    const auto reader = review::open_review_reader(store::parse_database_location(url));
    CHECK(reader->transcript("t1") == from_sqlite["transcripts"]["t1"]);
    CHECK(reader->schema_version() == reader->latest_schema_version());

    // One row per turn: the logged turn's three objects, and the reply
    // queued right after it, which has no object of the person's before it.
    store::pg::PgConnection db(url);
    CHECK(db.exec("SELECT COUNT(*), SUM(objects) FROM turns WHERE conversation = 't1'").text(0, 0) == "1");
    CHECK(db.exec("SELECT objects FROM turns WHERE conversation = 't1'").text(0, 0) == "4");
}

TEST_CASE("postgresql: sessions and bindings survive a restart, each session write raises its version") {
    test::TempDir dir;
    const std::string url = fresh_database();
    Session session;
    session.state = "asking";
    session.asking = "duration";
    session.turns = 1;
    {
        store::Store log(postgresql_options(dir, url));
        CHECK_FALSE(log.load_session("s").has_value());
        log.save_session("s", session, 1000);
        REQUIRE(log.flush());
        session.turns = 2;
        log.save_session("s", session, 2000);
        log.set_binding("telegram", "chat-1", "s", 2000);
        log.set_binding("telegram", "chat-2", "other", 2000);
        log.set_binding("telegram", "chat-2", "s2", 2100);  // the last value of one batch wins
    }
    store::Store log(postgresql_options(dir, url));
    const auto restored = log.load_session("s");
    REQUIRE(restored.has_value());
    CHECK(restored->turns == 2);
    CHECK(restored->asking == "duration");
    CHECK(log.binding("telegram", "chat-1") == std::optional<std::string>("s"));
    CHECK(log.binding("telegram", "chat-2") == std::optional<std::string>("s2"));
    CHECK_FALSE(log.binding("telegram", "chat-3").has_value());
    auto values = log.binding_values("telegram");
    std::sort(values.begin(), values.end());
    CHECK(values == std::vector<std::string>{"s", "s2"});
    store::pg::PgConnection db(url);
    CHECK(db.exec("SELECT version FROM sessions WHERE id = 's'").text(0, 0) == "2");
}

TEST_CASE("postgresql: purge and delete remove a conversation's rows, session and bindings") {
    test::TempDir dir;
    const std::string url = fresh_database();
    store::Store log(postgresql_options(dir, url));
    constexpr std::int64_t day_ms = 24 * test::hour_ms;
    for (const auto& [id, time] : {std::pair{"old", 10 * day_ms}, std::pair{"new", 100 * day_ms},
                                   std::pair{"gone", 100 * day_ms}}) {
        log.log_conversation(test::conversation(id, "websocket", time));
        log.log_message(test::inbound(id, time, "hello"));
        log.save_session(id, Session{}, time);
        log.set_binding("telegram", std::string("chat-") + id, id, time);
    }
    CHECK(log.purge_before(50 * day_ms) == 1);
    CHECK(log.delete_conversation("gone"));
    CHECK_FALSE(log.delete_conversation("never-there"));
    store::pg::PgConnection db(url);
    for (const char* table : {"conversations", "sessions", "bindings"}) {
        CAPTURE(table);
        CHECK(db.exec(std::string("SELECT COUNT(*) FROM ") + table).text(0, 0) == "1");
    }
    CHECK(db.exec("SELECT conversation FROM turns").text(0, 0) == "new");
    CHECK_FALSE(log.load_session("old").has_value());
    CHECK(log.load_session("new").has_value());
    CHECK_THROWS_WITH_AS(log.backup_to(dir / "copy.db"), doctest::Contains("pg_dump"), std::runtime_error);
}

TEST_CASE("postgresql: a value the database refuses is dropped alone, the rest of its batch is written") {
    test::TempDir dir;
    const std::string url = fresh_database();
    store::Store log(postgresql_options(dir, url));
    log.record_audit({1000, "cli", "list", "fine"});
    // PostgreSQL text cannot hold a NUL byte.
    log.record_audit({1001, std::string("bad\0actor", 9), "show", "refused"});
    log.log_conversation(test::conversation("c1", "websocket", 1000));
    log.log_message(test::inbound("c1", 1000, "still written"));
    const auto counts = log.close();
    CHECK(counts.dropped == 1);
    CHECK(counts.rows_written == 3);
    store::pg::PgConnection db(url);
    CHECK(db.exec("SELECT string_agg(detail, ',') FROM audit").text(0, 0) == "fine");
    CHECK(db.exec("SELECT json_extract_path_text(person, 'text') FROM turns").text(0, 0) == "still written");
}

TEST_CASE("postgresql: a database from a newer backtalk is refused, untouched") {
    test::TempDir dir;
    const std::string url = fresh_database();
    { store::Store log(postgresql_options(dir, url)); }
    store::pg::PgConnection db(url);
    db.exec("UPDATE backtalk_schema SET version = version + 1");
    CHECK_THROWS_WITH_AS(store::Store(postgresql_options(dir, url)),
                         doctest::Contains("newer than this backtalk supports"), std::runtime_error);
    CHECK_THROWS_WITH_AS(review::open_review_reader(store::parse_database_location(url)),
                         doctest::Contains("newer than this backtalk supports"), std::runtime_error);
}

TEST_CASE("postgresql: the search goes through the words index, which the upgrade from schema 3 builds for the turns there") {
    test::TempDir dir;
    const std::string url = fresh_database();
    {
        store::Store log(postgresql_options(dir, url));
        log.log_conversation(test::conversation("w1", "websocket", 1000));
        log.log_conversation(test::conversation("w2", "websocket", 2000));
        log.log_message(test::inbound("w1", 1000, "my back hurts since the gardening"));
        log.log_message(test::outbound("w1", 1000, "Do you have any numbness?"));
        log.log_message(test::inbound("w2", 2000, "knee pain only"));
        REQUIRE(log.flush());
    }
    // As schema 3 left it: the turns, no function and no index.
    store::pg::PgConnection db(url);
    db.exec_script("DROP INDEX turns_words; DROP FUNCTION backtalk_turn_words; UPDATE backtalk_schema SET version = 3");

    store::Store log(postgresql_options(dir, url));
    CHECK(db.exec("SELECT version FROM backtalk_schema").text(0, 0) == "4");
    const auto found = [&](const std::string& words) {
        review::Filter filter;
        filter.text = words;
        std::vector<std::string> ids;
        for (const json& conversation : log.review()->list_conversations(filter)) ids.push_back(conversation["id"]);
        return ids;
    };
    CHECK(found("Gardening") == std::vector<std::string>{"w1"});
    CHECK(found("numbness hurts") == std::vector<std::string>{"w1"});  // the person's and the bot's words
    CHECK(found("knee").size() == 1);
    CHECK(found("knee gardening").empty());

    // The plan reads the index (the planner would scan a table this small,
    // so scanning is made to look dear).
    db.exec("SET enable_seqscan = off");
    const store::pg::PgResult plan =
        db.exec("EXPLAIN SELECT conversation FROM turns t WHERE backtalk_turn_words(t.person, t.replies) @@ "
                "plainto_tsquery('simple', 'gardening')");
    std::string plan_text;
    for (int row = 0; row < plan.rows(); ++row) plan_text += plan.text(row, 0) + "\n";
    CHECK_MESSAGE(plan_text.find("turns_words") != std::string::npos, plan_text);
}

TEST_CASE("postgresql: two stores on one database (two instances) both migrate it and both write") {
    test::TempDir dir;
    const std::string url = fresh_database();
    store::Store first(postgresql_options(dir, url));
    store::Store second(postgresql_options(dir, url));
    first.log_message(test::inbound("c1", 1000, "one"));
    second.log_message(test::inbound("c1", 2000, "two"));
    REQUIRE(first.flush());
    REQUIRE(second.flush());
    const auto transcript = first.review()->transcript("c1");
    REQUIRE(transcript);
    REQUIRE((*transcript)["messages"].size() == 2);
    CHECK((*transcript)["messages"][0]["text"] == "one");
    CHECK((*transcript)["messages"][1]["seq"] == 2);
}

TEST_CASE("postgresql: a store whose database cannot be reached reports degraded, and recovers by itself") {
    test::TempDir dir;
    const std::string name = "store_test_unreachable";
    store::pg::PgConnection admin(test::shared_postgres_server().url());
    admin.exec("DROP DATABASE IF EXISTS " + name);
    admin.exec("CREATE DATABASE " + name);
    store::Store log(postgresql_options(dir, test::shared_postgres_server().url(name)));
    log.commit_session("s1", Session{}, test::may_1, 0);
    REQUIRE(log.health().ok);

    // The database gone from under the store, with nothing for its writer
    // to write: only the failed read can tell.
    admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", {name});
    admin.exec("ALTER DATABASE " + name + " RENAME TO " + name + "_away");
    CHECK_THROWS_AS(log.load_versioned_session("s1"), store::StoreUnavailable);
    const store::StoreHealth degraded = log.health();
    CHECK_FALSE(degraded.ok);
    CHECK(degraded.reason.find("cannot reach the database") != std::string::npos);

    // Back: health() has the reader try again, without any turn.
    admin.exec("ALTER DATABASE " + name + "_away RENAME TO " + name);
    CHECK(test::eventually([&] { return log.health().ok; }));
    CHECK(log.load_versioned_session("s1"));
}
