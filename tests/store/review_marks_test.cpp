// The review workflow in the store: marks with notes and tags, the filters
// on them, short ids, unmatched messages linked to their conversation, and
// the not-understood rate per day.
#include "store/sqlite/review_queries.hpp"
#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

using namespace backtalk;
using nlohmann::json;
namespace review = backtalk::store::review;

namespace {

constexpr std::int64_t day_ms = 24 * 60 * 60 * 1000;
constexpr std::int64_t may_1 = 1714521600000;  // 2024-05-01T00:00:00Z

// Ids shaped as the server makes them (32 hex digits); the first two share
// their first 8 characters, as conversations started in the same minute do.
const std::string first_id = "abcdef0111111111111111111111111a";
const std::string second_id = "abcdef0122222222222222222222222b";
const std::string third_id = "9999999933333333333333333333333c";

// Three conversations: the first two on May 1st (one typed message each, the
// first not understood after a question), the third on May 2nd (two typed
// messages, both understood).
struct MarksFixture {
    test::TempDir dir;
    std::optional<store::Store> log;

    MarksFixture() {
        log.emplace(test::quiet_options(dir));
        for (const auto& [id, started] : {std::pair{first_id, may_1}, std::pair{second_id, may_1 + 1000},
                                          std::pair{third_id, may_1 + day_ms}}) {
            log->log_conversation(test::conversation(id, "websocket", started));
        }
        store::MessageRecord question = test::outbound(first_id, may_1 + 1, "How long has it hurt?");
        question.asking = "duration";
        log->log_message(question);
        store::MessageRecord puzzling = test::inbound(first_id, may_1 + 2, "blue sky");
        puzzling.asking = "duration";
        log->log_message(puzzling);
        store::MessageRecord clear = test::inbound(second_id, may_1 + 1002, "my back hurts");
        clear.understood = true;
        log->log_message(clear);
        for (int i = 0; i < 2; ++i) {
            store::MessageRecord typed = test::inbound(third_id, may_1 + day_ms + 1 + i, "since monday");
            typed.understood = true;
            log->log_message(typed);
        }
        REQUIRE(log->flush());
    }

    review::ReviewMark mark(const std::string& id, std::string note, std::vector<std::string> tags) {
        review::ReviewMark result;
        result.conversation = id;
        result.time_ms = may_1 + 2 * day_ms;
        result.reviewer = "cli alice";
        result.note = std::move(note);
        result.tags = std::move(tags);
        return result;
    }

    json list(review::Filter filter = {}) { return log->review()->list_conversations(filter); }
};

std::vector<std::string> ids(const json& conversations) {
    std::vector<std::string> result;
    for (const auto& conversation : conversations) result.push_back(conversation.at("id"));
    return result;
}

}  // namespace

TEST_CASE_FIXTURE(MarksFixture, "a mark records who, when, a note and tags, marking again replaces it") {
    CHECK(list().at(0).at("review").is_null());
    REQUIRE(log->mark_reviewed(mark(third_id, "good answer", {"follow-up", "wording"})));

    const json marked = list().at(0);
    REQUIRE(marked.at("id") == third_id);
    CHECK(marked.at("review") == json{{"time", "2024-05-03T00:00:00.000Z"},
                                      {"time_ms", may_1 + 2 * day_ms},
                                      {"reviewer", "cli alice"},
                                      {"note", "good answer"},
                                      {"tags", {"follow-up", "wording"}}});
    const auto transcript = log->review()->transcript(third_id);
    REQUIRE(transcript);
    CHECK(transcript->at("conversation").at("review").at("note") == "good answer");

    REQUIRE(log->mark_reviewed(mark(third_id, "", {})));
    CHECK(list().at(0).at("review").at("tags") == json::array());
    CHECK(list().at(0).at("review").at("note") == "");
}

TEST_CASE_FIXTURE(MarksFixture, "an unknown conversation cannot be marked, and a bad mark is refused before it is written") {
    CHECK_FALSE(log->mark_reviewed(mark("0000000000000000000000000000000f", "", {})));
    CHECK_THROWS_WITH_AS(log->mark_reviewed(mark(first_id, "", {"Not OK"})), doctest::Contains("bad tag 'Not OK'"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(log->mark_reviewed(mark(first_id, "", {"a", "a"})), doctest::Contains("given twice"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(log->mark_reviewed(mark(first_id, std::string(2001, 'x'), {})),
                         doctest::Contains("at most 2000"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        log->mark_reviewed(mark(first_id, "", {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"})),
        doctest::Contains("too many tags"), std::invalid_argument);
    REQUIRE(log->flush());
    for (const json& conversation : list()) CHECK(conversation.at("review").is_null());
}

TEST_CASE_FIXTURE(MarksFixture, "filters select reviewed, unreviewed and tagged conversations, in every query") {
    REQUIRE(log->mark_reviewed(mark(first_id, "", {"follow-up"})));
    REQUIRE(log->mark_reviewed(mark(third_id, "", {"wording"})));
    review::Filter reviewed;
    reviewed.reviewed = true;
    CHECK(ids(list(reviewed)) == std::vector<std::string>{third_id, first_id});
    review::Filter unreviewed;
    unreviewed.reviewed = false;
    CHECK(ids(list(unreviewed)) == std::vector<std::string>{second_id});
    review::Filter tagged;
    tagged.tag = "follow-up";
    CHECK(ids(list(tagged)) == std::vector<std::string>{first_id});
    CHECK(log->review()->stats(tagged).at("conversations") == 1);
    CHECK(log->review()->unmatched(tagged).size() == 1);
    tagged.tag = "follow";
    CHECK(list(tagged).empty());
    tagged.tag = "Follow Up";
    CHECK_THROWS_AS(list(tagged), std::invalid_argument);
}

TEST_CASE_FIXTURE(MarksFixture, "deleting or purging a conversation removes its mark") {
    REQUIRE(log->mark_reviewed(mark(first_id, "note", {"x"})));
    REQUIRE(log->mark_reviewed(mark(third_id, "note", {"x"})));
    REQUIRE(log->delete_conversation(first_id));
    CHECK(log->purge_before(may_1 + day_ms + 10'000'000) == 2);
    log->close();
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM reviews") == 0);
}

TEST_CASE_FIXTURE(MarksFixture, "a short id (the start or the end of an id) finds its conversation, an ambiguous or too short one is refused clearly") {
    const auto reader = log->review();
    CHECK(reader->resolve_id(third_id) == third_id);
    CHECK(reader->resolve_id("99999999") == third_id);
    CHECK(reader->resolve_id("abcdef012") == second_id);
    CHECK(reader->resolve_id("abcdef0199") == std::nullopt);
    CHECK(reader->resolve_id("0000000000000000000000000000000f") == std::nullopt);
    CHECK(reader->resolve_id("3333333c") == third_id);
    CHECK(reader->resolve_id("1111111a") == first_id);
    const std::string ambiguous = "'abcdef01' names more than one conversation (" + first_id + ", " +
                                  second_id + "); give more of the id";
    CHECK_THROWS_WITH_AS(reader->resolve_id("abcdef01"), doctest::Contains(ambiguous.c_str()), std::invalid_argument);
    CHECK_THROWS_WITH_AS(reader->resolve_id("9999"), doctest::Contains("at least 8 characters"),
                         std::invalid_argument);
    // LIKE's wildcards are only characters here.
    CHECK(reader->resolve_id("abcdef0_") == std::nullopt);
    CHECK(reader->resolve_id("%%%%%%%%") == std::nullopt);
}

TEST_CASE_FIXTURE(MarksFixture, "an unmatched message names its conversation and the question that was open") {
    const json groups = log->review()->unmatched({});
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].at("seen") == json::array({{{"conversation", first_id},
                                                {"time", "2024-05-01T00:00:00.002Z"},
                                                {"asking", "duration"},
                                                {"question", "How long has it hurt?"}}}));
}

TEST_CASE_FIXTURE(MarksFixture, "stats per day carry the not-understood rate of typed messages") {
    const json per_day = log->review()->stats({}).at("per_day");
    REQUIRE(per_day.size() == 2);
    CHECK(per_day[0].at("day") == "2024-05-01");
    CHECK(per_day[0].at("typed") == 2);
    CHECK(per_day[0].at("not_understood") == 1);
    CHECK(per_day[0].at("not_understood_rate") == 0.5);
    CHECK(per_day[1].at("typed") == 2);
    CHECK(per_day[1].at("not_understood") == 0);
    CHECK(per_day[1].at("not_understood_rate") == 0.0);
}

TEST_CASE("tags are read as people type them") {
    CHECK(review::parse_tags("Follow-up, wording  x_1,") == std::vector<std::string>{"follow-up", "wording", "x_1"});
    CHECK(review::parse_tags(" , ").empty());
}

TEST_CASE_FIXTURE(MarksFixture, "full-text search finds conversations by what the person or the bot wrote") {
    const auto search = [&](const std::string& words) {
        review::Filter filter;
        filter.text = words;
        return ids(list(filter));
    };
    CHECK(search("sky") == std::vector<std::string>{first_id});
    CHECK(search("HURT") == std::vector<std::string>{first_id});           // the bot's question
    CHECK(search("hurts") == std::vector<std::string>{second_id});         // the person's words
    CHECK(search("blue long") == std::vector<std::string>{first_id});      // every word, either side
    CHECK(search("blue monday").empty());
    CHECK(search("Monday!") == std::vector<std::string>{third_id});
    // FTS5's own syntax is only text here.
    CHECK(search("sky\" OR \"monday").empty());
    CHECK(search("NEAR(sky* monday)").empty());
    review::Filter filter;
    filter.text = "?!";
    CHECK_THROWS_WITH_AS(list(filter), doctest::Contains("the search has no words"), std::invalid_argument);

    // Deleting a conversation takes its words out of the index.
    REQUIRE(log->delete_conversation(first_id));
    CHECK(search("sky").empty());
    log->close();
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM turns_text WHERE turns_text MATCH 'sky'") == 0);
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM turns_text WHERE turns_text MATCH 'monday'") == 2);
}
