#include "store/sqlite/review_queries.hpp"
#include "store/store.hpp"
#include "review_scenario.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace backtalk;
using nlohmann::json;
namespace review = backtalk::store::review;

namespace {

using test::hour_ms;
using test::may_1;
using test::Script;
using test::log_conversation;

// Three conversations: an emergency on the WebSocket on May 1st, a self-care
// outcome in the terminal and one that stopped at the fever question, both
// on May 2nd.
struct ReviewFixture {
    test::TempDir dir;
    std::optional<SQLite::Database> db;

    ReviewFixture() : ReviewFixture(store::StoreOptions{}.batch_rows) {}
    explicit ReviewFixture(std::size_t batch_rows) {
        store::StoreOptions options = test::quiet_options(dir);
        options.batch_rows = batch_rows;
        store::Store log(options);
        test::log_review_scenario(log);
        log.close();
        db.emplace(dir / "log.db", SQLite::OPEN_READONLY);
    }
};

std::vector<std::string> ids(const json& conversations) {
    std::vector<std::string> result;
    for (const auto& conversation : conversations) result.push_back(conversation.at("id"));
    return result;
}

// A conversation's message counts as the stats computed them before schema 6,
// straight from its messages: the oracle for the counts the writer keeps.
std::vector<std::int64_t> counts_from_messages(SQLite::Database& db, const std::string& id) {
    SQLite::Statement query(
        db, "SELECT COUNT(*) FILTER (WHERE direction = 'in'), COUNT(*) FILTER (WHERE direction = 'out'), "
            "COUNT(*) FILTER (WHERE direction = 'in' AND kind IN ('message', 'choice')), "
            "COUNT(*) FILTER (WHERE direction = 'in' AND kind = 'message'), "
            "COUNT(*) FILTER (WHERE direction = 'in' AND kind = 'message' AND understood = 0), "
            "(SELECT (SELECT COUNT(*) FROM messages i WHERE i.conversation = f.conversation AND i.direction = 'in' "
            " AND i.kind IN ('message', 'choice') AND i.seq < f.first_seq) "
            " FROM (SELECT conversation, MIN(seq) AS first_seq FROM messages "
            "       WHERE direction = 'out' AND triage_level IS NOT NULL GROUP BY conversation) f "
            " WHERE f.conversation = ?1) "
            "FROM messages WHERE conversation = ?1");
    query.bind(1, id);
    query.executeStep();
    std::vector<std::int64_t> counts;
    for (int i = 0; i < 6; ++i) counts.push_back(query.getColumn(i).isNull() ? -1 : query.getColumn(i).getInt64());
    return counts;
}

std::vector<std::int64_t> kept_counts(SQLite::Database& db, const std::string& id) {
    SQLite::Statement query(db, "SELECT messages_in, messages_out, answers, typed, not_understood, "
                                "COALESCE(turns_to_outcome, -1) FROM conversations WHERE id = ?");
    query.bind(1, id);
    REQUIRE(query.executeStep());
    std::vector<std::int64_t> counts;
    for (int i = 0; i < 6; ++i) counts.push_back(query.getColumn(i).getInt64());
    return counts;
}

void check_counts_match_messages(SQLite::Database& db) {
    SQLite::Statement ids(db, "SELECT id FROM conversations");
    while (ids.executeStep()) {
        const std::string id = ids.getColumn(0).getString();
        CAPTURE(id);
        CHECK(kept_counts(db, id) == counts_from_messages(db, id));
    }
}

review::Filter with_level(const std::string& level) {
    review::Filter filter;
    filter.level = level;
    return filter;
}

}  // namespace

TEST_CASE_FIXTURE(ReviewFixture, "list filters by level, channel, time and limit, newest first") {
    CHECK(ids(review::list_conversations(*db, {})) == std::vector<std::string>{"n1", "s1", "e1"});
    CHECK(ids(review::list_conversations(*db, with_level("emergency"))) == std::vector<std::string>{"e1"});
    CHECK(ids(review::list_conversations(*db, with_level("none"))) == std::vector<std::string>{"n1"});
    CHECK(review::list_conversations(*db, with_level("urgent")).empty());

    review::Filter filter;
    filter.channel = "websocket";
    CHECK(ids(review::list_conversations(*db, filter)) == std::vector<std::string>{"n1", "e1"});
    filter = {};
    filter.since_ms = may_1 + 24 * hour_ms;
    CHECK(ids(review::list_conversations(*db, filter)) == std::vector<std::string>{"n1", "s1"});
    filter = {};
    filter.until_ms = may_1 + 24 * hour_ms;
    CHECK(ids(review::list_conversations(*db, filter)) == std::vector<std::string>{"e1"});
    filter = {};
    filter.limit = 1;
    CHECK(ids(review::list_conversations(*db, filter)) == std::vector<std::string>{"n1"});

    const json e1 = review::list_conversations(*db, with_level("emergency")).at(0);
    CHECK(e1.at("channel") == "websocket");
    CHECK(e1.at("started") == "2024-05-01T10:00:00.000Z");
    CHECK(e1.at("turns") == 3);
    CHECK(e1.at("outcome") == json{{"level", "emergency"}, {"reasons", {"cauda_equina"}}});
    CHECK(e1.at("user_hash").is_null());
}

TEST_CASE_FIXTURE(ReviewFixture, "a transcript lists every object in order with what was understood") {
    const auto transcript = review::transcript(*db, "e1");
    REQUIRE(transcript.has_value());
    CHECK(transcript->at("conversation").at("id") == "e1");
    const json& messages = transcript->at("messages");
    REQUIRE(messages.size() == 7);
    std::string directions;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        CHECK(messages[i].at("seq") == i + 1);
        directions += messages[i].at("direction") == "in" ? 'i' : 'o';
    }
    CHECK(directions == "iooioio");
    CHECK(messages[3].at("text") == "my back hurts");
    CHECK(messages[3].at("intents") == json{"pain", "lower_back"});
    CHECK(messages[3].at("confidence") == 0.9);
    CHECK(messages[3].at("understood") == true);
    CHECK(messages[4].at("asking") == "saddle_numbness");
    CHECK(messages[4].at("understood").is_null());
    CHECK(messages[6].at("triage") == json{{"level", "emergency"}, {"reasons", {"cauda_equina"}}});
    CHECK(messages[6].at("processing_us") == 42);
    CHECK_FALSE(review::transcript(*db, "nope").has_value());
}

TEST_CASE_FIXTURE(ReviewFixture, "export writes every message of the selected conversations as JSON lines") {
    std::ostringstream out;
    CHECK(review::write_export(*db, {}, review::ExportFormat::jsonl, out) == 19);
    std::istringstream lines(out.str());
    std::vector<std::string> order;
    for (std::string line; std::getline(lines, line);) {
        const json row = json::parse(line);
        order.push_back(row.at("conversation").get<std::string>() + ":" + std::to_string(row.at("seq").get<int>()));
    }
    REQUIRE(order.size() == 19);
    CHECK(order.front() == "e1:1");
    CHECK(order[7] == "s1:1");
    CHECK(order[15] == "n1:1");
    CHECK(order.back() == "n1:4");

    std::ostringstream self_care;
    CHECK(review::write_export(*db, with_level("self_care"), review::ExportFormat::jsonl, self_care) == 8);
}

TEST_CASE_FIXTURE(ReviewFixture, "CSV export quotes what needs quoting and defuses formulas") {
    std::ostringstream out;
    CHECK(review::write_export(*db, with_level("none"), review::ExportFormat::csv, out) == 4);
    const std::string csv = out.str();
    CHECK(csv.rfind("conversation,seq,time,direction,kind,text,", 0) == 0);
    CHECK(csv.find("n1,3,2024-05-02T01:00:00.003Z,in,message,'=cmd,") != std::string::npos);

    std::ostringstream quoted;
    review::write_export(*db, with_level("self_care"), review::ExportFormat::csv, quoted);
    CHECK(quoted.str().find(R"("Try ""cat-cow"", gently")") != std::string::npos);
    CHECK(quoted.str().find(",self_care,muscle_strain,") != std::string::npos);
}

TEST_CASE_FIXTURE(ReviewFixture, "stats count outcomes, fallbacks, turns to an outcome and drop-off points") {
    const json stats = review::stats(*db, {});
    CHECK(stats.at("conversations") == 3);
    CHECK(stats.at("turns") == 9);
    CHECK(stats.at("messages_in") == 9);
    CHECK(stats.at("messages_out") == 10);
    CHECK(stats.at("outcomes") ==
          json{{"emergency", 1}, {"urgent", 0}, {"gp_soon", 0}, {"self_care", 1}, {"none", 1}});
    // 7 typed messages, 3 not understood.
    CHECK(stats.at("fallback_rate").get<double>() == doctest::Approx(3.0 / 7.0));
    // e1 reached its outcome after 2 turns, s1 after 4.
    CHECK(stats.at("median_turns_to_outcome") == 3.0);
    CHECK(stats.at("drop_off") == json::array({{{"state", "screening"}, {"asking", "fever"}, {"conversations", 1}}}));
    const json& per_day = stats.at("per_day");
    REQUIRE(per_day.size() == 2);
    CHECK(per_day[0].at("day") == "2024-05-01");
    CHECK(per_day[0].at("emergency") == 1);
    CHECK(per_day[1].at("day") == "2024-05-02");
    CHECK(per_day[1].at("conversations") == 2);
    CHECK(per_day[1].at("self_care") == 1);
    CHECK(per_day[1].at("none") == 1);

    const json websocket_only = review::stats(*db, [] {
        review::Filter filter;
        filter.channel = "websocket";
        return filter;
    }());
    CHECK(websocket_only.at("conversations") == 2);
    CHECK(websocket_only.at("median_turns_to_outcome") == 2);
}

TEST_CASE_FIXTURE(ReviewFixture, "stats with a limit count the newest conversations only, after the other filters") {
    review::Filter filter;
    filter.limit = 1;
    json stats = review::stats(*db, filter);
    CHECK(stats.at("conversations") == 1);
    CHECK(stats.at("outcomes") ==
          json{{"emergency", 0}, {"urgent", 0}, {"gp_soon", 0}, {"self_care", 0}, {"none", 1}});
    CHECK(stats.at("per_day").size() == 1);
    filter.limit = 2;
    stats = review::stats(*db, filter);
    CHECK(stats.at("conversations") == 2);
    CHECK(stats.at("outcomes").at("self_care") == 1);
    CHECK(stats.at("outcomes").at("emergency") == 0);
    filter.level = "emergency";
    stats = review::stats(*db, filter);
    CHECK(stats.at("conversations") == 1);
    CHECK(stats.at("outcomes").at("emergency") == 1);
}

TEST_CASE("stats are the same however the writer's batches split the conversations") {
    // Batches of one record put each conversation row and each message in a
    // transaction of its own; of two, a turn's records straddle batches.
    ReviewFixture whole;
    check_counts_match_messages(*whole.db);
    const json expected = review::stats(*whole.db, {});
    for (const std::size_t batch_rows : {1, 2, 3}) {
        CAPTURE(batch_rows);
        ReviewFixture split(batch_rows);
        check_counts_match_messages(*split.db);
        CHECK(review::stats(*split.db, {}) == expected);
    }
}

TEST_CASE("messages written while their conversation's row is missing are counted once the row exists") {
    // The row can be missing when its record was dropped (queue full) or
    // refused, or the conversation was deleted between a turn's records.
    test::TempDir dir;
    {
        store::Store log(test::quiet_options(dir));
        Script(log, "late", "websocket", may_1)
            .in("message", "zzz", false)
            .out("Sorry, where does it hurt?", "greeting", "pain_location");
        REQUIRE(log.flush());
        log_conversation(log, "late", "websocket", may_1, 2, "outcome", "", Triage{Level::gp_soon, {"sciatica"}});
        Script(log, "late", "websocket", may_1 + 10)
            .in("choice", "lower back", true, {"lower_back"})
            .out("Book an appointment.", "outcome", "", Triage{Level::gp_soon, {"sciatica"}});
        REQUIRE(log.flush());
        // And from then on, counted as they come.
        Script(log, "late", "websocket", may_1 + 20).in("message", "thanks", true).out("Take care.", "outcome");
        log.close();
    }
    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(kept_counts(db, "late") == std::vector<std::int64_t>{3, 3, 3, 2, 1, 2});
    check_counts_match_messages(db);
}

TEST_CASE("stats of an empty log have no rates") {
    test::TempDir dir;
    { store::Store log(test::quiet_options(dir)); }
    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    const json stats = review::stats(db, {});
    CHECK(stats.at("conversations") == 0);
    CHECK(stats.at("fallback_rate").is_null());
    CHECK(stats.at("median_turns_to_outcome").is_null());
    CHECK(stats.at("drop_off").empty());
}

TEST_CASE_FIXTURE(ReviewFixture, "unmatched messages are grouped by normalised text and counted") {
    const json unmatched = review::unmatched(*db, {});
    REQUIRE(unmatched.size() == 2);
    CHECK(unmatched[0].at("text") == "asdf qwerty");
    CHECK(unmatched[0].at("count") == 2);
    CHECK(unmatched[0].at("example") == "asdf qwerty");
    CHECK(unmatched[0].at("asking") == json{{"duration", 1}, {"fever", 1}});
    CHECK(unmatched[0].at("last_seen") == "2024-05-02T01:00:00.001Z");
    CHECK(unmatched[1].at("text") == "cmd");
    CHECK(unmatched[1].at("example") == "=cmd");

    review::Filter filter;
    filter.channel = "terminal";
    const json terminal_only = review::unmatched(*db, filter);
    REQUIRE(terminal_only.size() == 1);
    CHECK(terminal_only[0].at("count") == 1);
}

TEST_CASE("filters with a bad level or an empty range are refused") {
    CHECK_THROWS_WITH_AS(review::validate(with_level("critical")), doctest::Contains("unknown level 'critical'"),
                         std::invalid_argument);
    review::Filter filter;
    filter.since_ms = 10;
    filter.until_ms = 10;
    CHECK_THROWS_WITH_AS(review::validate(filter), doctest::Contains("empty"), std::invalid_argument);
}

TEST_CASE("text is normalised for grouping") {
    CHECK(review::normalise_for_grouping("  Hello,   World!! ") == "hello, world");
    CHECK(review::normalise_for_grouping("...") == "");
    CHECK(review::normalise_for_grouping("Rücken") == "rücken");
    CHECK(review::normalise_for_grouping("call me at [phone].") == "call me at [phone]");
}

TEST_CASE("durations and times are parsed as people type them") {
    CHECK(review::parse_duration_ms("30d") == 30LL * 86400 * 1000);
    CHECK(review::parse_duration_ms("12h") == 12LL * 3600 * 1000);
    CHECK(review::parse_duration_ms("90m") == 90LL * 60 * 1000);
    CHECK(review::parse_duration_ms("2w") == 14LL * 86400 * 1000);
    for (const char* bad : {"", "d", "30", "30x", "-3d", "0d", "3.5d", "12345678901d"}) {
        CHECK_THROWS_WITH_AS(review::parse_duration_ms(bad), doctest::Contains("bad duration"),
                             std::invalid_argument);
    }
    CHECK_THROWS_WITH_AS(review::parse_duration_ms("12345678901d"), doctest::Contains("too large"),
                         std::invalid_argument);
    CHECK(review::parse_duration_ms("999999999s") == 999999999LL * 1000);
    const std::int64_t now = may_1 + 5 * hour_ms;
    CHECK(review::parse_time_ms("2024-05-01", now) == may_1);
    CHECK(review::parse_time_ms("2024-05-01T10:30", now) == may_1 + 10 * hour_ms + 30 * 60 * 1000);
    CHECK(review::parse_time_ms("2024-05-01T10:30:15Z", now) == may_1 + 10 * hour_ms + (30 * 60 + 15) * 1000);
    CHECK(review::parse_time_ms("5h", now) == may_1);
    for (const char* bad : {"yesterday", "2024-5-1", "2024-02-30", "2024-05-01 10:30", "2024-13-01", "01/05/2024"}) {
        CHECK_THROWS_WITH_AS(review::parse_time_ms(bad, now), doctest::Contains("bad time"), std::invalid_argument);
    }
}
