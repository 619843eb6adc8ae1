// `backtalk logs review` and the review filters end to end: a conversation
// `chat --json` wrote is marked by its short id, found by the filters, shown
// with its mark, audited; unmatched messages name their conversation.
#include "run_backtalk.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using backtalk::test::quoted;
using backtalk::test::Run;
using backtalk::test::run_backtalk;
using nlohmann::json;

TEST_CASE("logs review marks a conversation by its short id, list filters and show find the mark, the audit says who") {
    backtalk::test::TempDir dir;
    const std::string db = quoted((dir / "log.db").string());
    const std::string input = R"({"type":"start"})" "\n" R"({"type":"message","text":"my lower back hurts"})" "\n"
                              R"({"type":"message","text":"plorb zindle quax"})" "\n";
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, input).exit_code == 0);
    const std::string id = json::parse(run_backtalk(dir, "logs list --json --db " + db).out).at(0).at("id");
    const std::string short_id = id.substr(id.size() - 8);

    Run run = run_backtalk(dir, "logs review " + short_id + " --note 'asked twice' --tags 'Follow-up,wording' --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(run.out == "marked " + id + " reviewed\n");

    const json reviewed = json::parse(run_backtalk(dir, "logs list --reviewed --json --db " + db).out);
    REQUIRE(reviewed.size() == 1);
    CHECK(reviewed[0].at("review").at("note") == "asked twice");
    CHECK(reviewed[0].at("review").at("tags") == json{"follow-up", "wording"});
    CHECK(reviewed[0].at("review").at("reviewer").get<std::string>().rfind("cli ", 0) == 0);
    CHECK(json::parse(run_backtalk(dir, "logs list --unreviewed --json --db " + db).out).empty());
    CHECK(json::parse(run_backtalk(dir, "logs list --tag wording --json --db " + db).out).size() == 1);
    CHECK(json::parse(run_backtalk(dir, "logs stats --tag other --json --db " + db).out).at("conversations") == 0);
    CHECK(run_backtalk(dir, "logs list --reviewed --unreviewed --db " + db).exit_code != 0);

    const Run show = run_backtalk(dir, "logs show " + short_id + " --db " + db);
    REQUIRE_MESSAGE(show.exit_code == 0, show.err);
    CHECK(show.out.find("Conversation " + id) != std::string::npos);
    CHECK(show.out.find("tags follow-up wording; note: asked twice") != std::string::npos);
    CHECK(run_backtalk(dir, "logs list --db " + db).out.find("[reviewed ") != std::string::npos);

    CHECK(json::parse(run_backtalk(dir, "logs list --search 'Zindle plorb' --json --db " + db).out).size() == 1);
    CHECK(json::parse(run_backtalk(dir, "logs list --search nowhere --json --db " + db).out).empty());
    run = run_backtalk(dir, "logs list --search '!!' --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("the search has no words") != std::string::npos);

    const Run unmatched = run_backtalk(dir, "logs unmatched --db " + db);
    REQUIRE_MESSAGE(unmatched.exit_code == 0, unmatched.err);
    CHECK(unmatched.out.find("latest in " + id + " after: ") != std::string::npos);

    // Bad input: a clear error, and the mark stays as it was.
    run = run_backtalk(dir, "logs review " + id + " --tags 'Bad!' --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("bad tag 'bad!'") != std::string::npos);
    run = run_backtalk(dir, "logs review 00000000 --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("no conversation 00000000") != std::string::npos);
    run = run_backtalk(dir, "logs show abc --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("at least 8 characters") != std::string::npos);
    CHECK(json::parse(run_backtalk(dir, "logs list --reviewed --json --db " + db).out)[0].at("review").at("note") ==
          "asked twice");

    CHECK(backtalk::test::query_int(dir / "log.db", "SELECT COUNT(*) FROM audit WHERE action = 'review'") == 1);
    CHECK(backtalk::test::query_text(dir / "log.db", "SELECT detail FROM audit WHERE action = 'review'") ==
          id + " tags=[\"follow-up\",\"wording\"]");
}
