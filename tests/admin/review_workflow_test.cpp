// The review workflow over the admin API of a real `backtalk serve`:
// marking a conversation reviewed with a note and tags (audited, by whom),
// the reviewed / unreviewed / tag filters, short ids, unmatched messages
// linked to their conversation and open question, and the not-understood
// rate per day.
#include "tests/admin/admin_server.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using backtalk::test::AdminServer;
using backtalk::test::admin_token;
using backtalk::test::json;
using backtalk::test::TempDir;

namespace {

std::vector<std::string> listed(const AdminServer& server, const std::string& query) {
    std::vector<std::string> ids;
    for (const json& conversation : server.get_json("/api/v1/conversations" + query)["conversations"]) {
        ids.push_back(conversation["id"]);
    }
    return ids;
}

}  // namespace

TEST_CASE("a conversation is marked reviewed by its short id with a note and tags; filters find it; the audit says who") {
    TempDir dir;
    AdminServer server(dir, true);
    const std::string marked = server.chat(2);
    const std::string other = server.chat(1);
    const std::string path = "/api/v1/conversations/" + marked.substr(0, 8) + "/review";

    CHECK(server.request("POST", path, "", R"({"note": "x"})").status == 401);
    const auto reply =
        server.request("POST", path, admin_token, R"({"note": "asked twice about fever", "tags": "Follow-up, wording"})");
    INFO(reply.body);
    REQUIRE(reply.status == 200);
    const json answer = json::parse(reply.body);
    CHECK(answer["reviewed"] == marked);
    CHECK(answer["review"]["reviewer"] == "admin-api 127.0.0.1");
    CHECK(answer["review"]["note"] == "asked twice about fever");
    CHECK(answer["review"]["tags"] == json{"follow-up", "wording"});
    CHECK(answer["review"]["time"].is_string());

    // The list and the transcript (found by its short id) carry the mark.
    const json shown = server.get_json("/api/v1/conversations/" + marked.substr(0, 8));
    CHECK(shown["id"] == marked);
    CHECK(shown["conversation"]["review"]["tags"] == json{"follow-up", "wording"});
    CHECK(listed(server, "?reviewed=yes") == std::vector<std::string>{marked});
    CHECK(listed(server, "?reviewed=no") == std::vector<std::string>{other});
    CHECK(listed(server, "?tag=wording") == std::vector<std::string>{marked});
    CHECK(listed(server, "?tag=other").empty());
    CHECK(server.get_json("/api/v1/stats?reviewed=yes")["conversations"] == 1);

    // Bad input gets a clear error and changes nothing.
    for (const auto& [body, says] : std::vector<std::pair<std::string, std::string>>{
             {"not json", "send a JSON object"},
             {R"({"tags": "Bad!"})", "bad tag 'bad!'"},
             {R"({"tags": [1]})", "tags must be"},
             {R"({"note": 5})", "note must be text"},
             {R"({"colour": "red"})", "unknown field 'colour'"}}) {
        const auto refused = server.request("POST", path, admin_token, body);
        CAPTURE(body);
        CHECK(refused.status == 400);
        CHECK(json::parse(refused.body)["error"]["message"].get<std::string>().find(says) != std::string::npos);
    }
    CHECK(server.get_json("/api/v1/conversations/" + marked)["conversation"]["review"]["note"] ==
          "asked twice about fever");
    CHECK(server.get("/api/v1/conversations?reviewed=maybe").status == 400);
    CHECK(server.get("/api/v1/conversations?tag=Not%20a%20tag").status == 400);
    CHECK(server.request("POST", "/api/v1/conversations/00000000/review", admin_token, "{}").status == 404);
    CHECK(server.request("POST", "/api/v1/conversations/" + marked, admin_token, "{}").status == 404);
    const auto too_short = server.get("/api/v1/conversations/" + marked.substr(0, 4));
    CHECK(too_short.status == 400);
    CHECK(json::parse(too_short.body)["error"]["message"].get<std::string>().find("at least 8 characters") !=
          std::string::npos);

    std::vector<std::string> reviews;
    for (const auto& row : server.stop_and_read_audit()) {
        if (row[1] == "review" && row[2].find("tags=") != std::string::npos) {
            CHECK(row[0] == "admin-api 127.0.0.1");
            reviews.push_back(row[2]);
        }
    }
    CHECK(reviews == std::vector<std::string>{marked + " tags=[\"follow-up\",\"wording\"]"});
}

TEST_CASE("unmatched messages link to their conversation and the question that was open; stats give the rate per day") {
    TempDir dir;
    AdminServer server(dir, true);
    const std::string session = server.post_chat(json{{"text", "my lower back hurts"}})["session"];
    server.post_chat(json{{"session", session}, {"text", "plorb zindle quax"}});

    const json groups = server.get_json("/api/v1/unmatched")["unmatched"];
    REQUIRE(groups.size() == 1);
    const json& seen = groups[0]["seen"][0];
    CHECK(seen["conversation"] == session);
    CHECK(seen["question"].is_string());
    CHECK_FALSE(seen["question"].get<std::string>().empty());

    const json day = server.get_json("/api/v1/stats")["per_day"][0];
    CHECK(day["typed"] == 2);
    CHECK(day["not_understood"] == 1);
    CHECK(day["not_understood_rate"] == 0.5);
}
