// The admin routes of a real `backtalk serve`: absent without a token,
// refusing a missing or wrong one, the JSON of each route over a conversation
// held through POST /api/v1/chat, the audit row of every view, the exports,
// and rule reloads (accepted, and refused for a broken copy of rules/).
#include "tests/admin/admin_server.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using backtalk::test::AdminServer;
using backtalk::test::admin_token;
using backtalk::test::HttpReply;
using backtalk::test::json;
using backtalk::test::TempDir;

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> admin_routes{"/api/v1/conversations", "/api/v1/conversations/x",
                                            "/api/v1/stats", "/api/v1/unmatched",
                                            "/api/v1/export?format=csv"};

}  // namespace

TEST_CASE("without an admin token the admin routes and page do not exist") {
    TempDir dir;
    AdminServer server(dir, false);
    CHECK(server.get("/admin", "").status == 404);
    CHECK(server.get("/admin.js", "").status == 404);
    CHECK(server.get("/markdown.js", "").status == 404);
    for (const auto& route : admin_routes) {
        INFO(route);
        CHECK(server.get(route).status == 404);
    }
    CHECK(server.request("POST", "/api/v1/rules/reload", admin_token).status == 404);
}

TEST_CASE("a missing or wrong token gets 401 with WWW-Authenticate, and no audit row") {
    TempDir dir;
    AdminServer server(dir, true);
    for (const auto& route : admin_routes) {
        INFO(route);
        for (const std::string token : {"", "wrong-token-of-the-same-size-0123", "admin-token-for-tests-012345678"}) {
            const auto reply = server.get(route, token);
            CHECK(reply.status == 401);
            CHECK(reply.header("WWW-Authenticate").rfind("Bearer", 0) == 0);
        }
    }
    CHECK(server.request("POST", "/api/v1/rules/reload", "").status == 401);
    CHECK(server.stop_and_read_audit().empty());
}

TEST_CASE("the page is served without the token, under the self-only CSP") {
    TempDir dir;
    AdminServer server(dir, true);
    const auto page = server.get("/admin", "");
    REQUIRE(page.status == 200);
    CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(page.body.find("<script src=\"/admin.js\"") != std::string::npos);
    CHECK(page.header("Content-Security-Policy").find("script-src 'self'") != std::string::npos);
    CHECK(server.get("/admin.js", "").header("Content-Type") == "text/javascript; charset=utf-8");
    CHECK(server.get("/admin.css", "").status == 200);
    // The widget's markdown subset, for transcripts.
    CHECK(page.body.find("<script src=\"/markdown.js\"") != std::string::npos);
    CHECK(server.get("/markdown.js", "").header("Content-Type") == "text/javascript; charset=utf-8");
}

TEST_CASE("list, transcript, stats and unmatched answer JSON, and each view is audited") {
    TempDir dir;
    AdminServer server(dir, true);
    const std::string session = server.chat(3);

    const json list = server.get_json("/api/v1/conversations?since=1d&channel=rest&limit=10");
    REQUIRE(list["conversations"].size() == 1);
    CHECK(list["conversations"][0]["id"] == session);
    CHECK(list["conversations"][0]["channel"] == "rest");
    CHECK(server.get_json("/api/v1/conversations?channel=telegram")["conversations"].empty());

    const json transcript = server.get_json("/api/v1/conversations/" + session);
    REQUIRE(transcript["messages"].size() >= 6);
    CHECK(transcript["messages"][0]["direction"] == "in");
    CHECK(transcript["messages"][0]["text"] == "my lower back hurts");
    CHECK(transcript["messages"][0]["intents"].is_array());
    CHECK(transcript["messages"][1]["direction"] == "out");
    CHECK(server.get("/api/v1/conversations/no-such-id").status == 404);

    const json stats = server.get_json("/api/v1/stats");
    CHECK(stats["conversations"] == 1);
    CHECK(stats["per_day"].size() == 1);
    CHECK(server.get_json("/api/v1/unmatched")["unmatched"].is_array());

    const auto bad = server.get("/api/v1/conversations?level=purple");
    CHECK(bad.status == 400);
    CHECK(json::parse(bad.body)["error"]["code"] == "bad_request");
    CHECK(server.get("/api/v1/stats?colour=red").status == 400);
    CHECK(server.get("/api/v1/conversations?limit=ten").status == 400);

    const auto audit = server.stop_and_read_audit();
    std::vector<std::string> actions;
    for (const auto& row : audit) {
        CHECK(row[0] == "admin-api 127.0.0.1");
        actions.push_back(row[1]);
    }
    CHECK(actions == std::vector<std::string>{"list", "list", "show", "show", "stats", "unmatched", "list",
                                              "stats", "list"});
    CHECK(audit[0][2] == "since=1d&channel=rest&limit=10");
    CHECK(audit[2][2] == session);
}

TEST_CASE("a conversation's JSON names the rule behind its advice: EM-1 for saddle numbness with new bladder trouble") {
    TempDir dir;
    AdminServer server(dir, true);
    const std::string session = server.post_chat(json{{"text", "my lower back hurts since I lifted a box"}})["session"];
    server.post_chat(json{{"session", session}, {"text", "no"}});
    server.post_chat(json{{"session", session},
                          {"text", "I can't feel the toilet paper when I wipe and I've been leaking urine"}});
    const json transcript = server.get_json("/api/v1/conversations/" + session);
    bool named = false;
    for (const json& message : transcript["messages"]) {
        for (const json& rule : message["basis"]) {
            named = named || (rule["rule"] == "EM-1" && message["triage"]["level"] == "emergency");
        }
    }
    CHECK_MESSAGE(named, transcript.dump());
}

TEST_CASE("stats?limit=N counts the newest N conversations") {
    TempDir dir;
    AdminServer server(dir, true);
    for (int i = 0; i < 3; ++i) server.chat(1);
    CHECK(server.get_json("/api/v1/stats")["conversations"] == 3);
    CHECK(server.get_json("/api/v1/stats?limit=2")["conversations"] == 2);
    CHECK(server.get_json("/api/v1/stats?limit=2")["messages_in"] == 2);
}

TEST_CASE("exports download every message as JSON lines or CSV, and are audited") {
    TempDir dir;
    AdminServer server(dir, true);
    const std::string session = server.chat(2);

    const auto jsonl = server.get("/api/v1/export?format=jsonl");
    REQUIRE(jsonl.status == 200);
    CHECK(jsonl.header("Content-Disposition") == "attachment; filename=\"backtalk-export.jsonl\"");
    std::istringstream lines(jsonl.body);
    std::vector<json> rows;
    for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
    REQUIRE(rows.size() >= 4);
    CHECK(rows[0]["conversation"] == session);
    CHECK(rows[0]["direction"] == "in");

    const auto csv = server.get("/api/v1/export?format=csv&channel=rest");
    REQUIRE(csv.status == 200);
    CHECK(csv.header("Content-Type") == "text/csv; charset=utf-8");
    CHECK(csv.header("Content-Disposition") == "attachment; filename=\"backtalk-export.csv\"");
    CHECK(csv.body.find(session) != std::string::npos);
    // A header line plus one line per message.
    CHECK(static_cast<std::size_t>(std::count(csv.body.begin(), csv.body.end(), '\n')) >= rows.size() + 1);

    CHECK(server.get("/api/v1/export?format=xml").status == 400);

    const auto audit = server.stop_and_read_audit();
    REQUIRE(audit.size() == 3);
    CHECK(audit[0][1] == "export");
    CHECK(audit[1][2] == "format=csv&channel=rest");
}

TEST_CASE("DELETE of a conversation erases it from the log and from memory, and is audited") {
    TempDir dir;
    AdminServer server(dir, true);
    const std::string session = server.chat(2);
    // A retried REST message leaves its stored answer in the bindings table.
    server.post_chat(json{{"session", session}, {"text", "about a week"}, {"message_id", "m-1"}});
    const std::string other = server.chat(2);

    CHECK(server.request("DELETE", "/api/v1/conversations/" + session, "").status == 401);
    const auto deleted = server.request("DELETE", "/api/v1/conversations/" + session, admin_token);
    INFO(deleted.body);
    REQUIRE(deleted.status == 200);
    CHECK(json::parse(deleted.body)["deleted"] == session);
    CHECK(server.get("/api/v1/conversations/" + session).status == 404);
    CHECK(server.request("DELETE", "/api/v1/conversations/" + session, admin_token).status == 404);
    CHECK(server.request("DELETE", "/api/v1/conversations/no-such-id", admin_token).status == 404);

    // The deleted conversation cannot go on: its id opens a new one.
    const json next = server.post_chat(json{{"session", session}, {"text", "my back still hurts"}});
    CHECK(next["session"] != session);

    const auto audit = server.stop_and_read_audit();
    SQLite::Database db(server.db(), SQLite::OPEN_READONLY);
    const auto count = [&](const std::string& sql) {
        SQLite::Statement query(db, sql);
        query.bind(1, session);
        REQUIRE(query.executeStep());
        return query.getColumn(0).getInt64();
    };
    CHECK(count("SELECT COUNT(*) FROM messages WHERE conversation = ?") == 0);
    CHECK(count("SELECT COUNT(*) FROM conversations WHERE id = ?") == 0);
    CHECK(count("SELECT COUNT(*) FROM sessions WHERE id = ?") == 0);
    CHECK(count("SELECT COUNT(*) FROM bindings WHERE instr(value, ?) > 0") == 0);
    SQLite::Statement kept(db, "SELECT COUNT(*) FROM messages WHERE conversation = ?");
    kept.bind(1, other);
    REQUIRE(kept.executeStep());
    CHECK(kept.getColumn(0).getInt64() > 0);
    std::vector<std::string> deletions;
    for (const auto& row : audit) {
        if (row[1] == "delete") deletions.push_back(row[2]);
    }
    CHECK(deletions == std::vector<std::string>{session, session, "no-such-id"});
}

TEST_CASE("reviews waiting for a locked database leave the network threads to everyone else") {
    TempDir dir;
    AdminServer server(dir, true);
    const std::string session = server.chat(1);
    REQUIRE(server.get("/api/v1/stats").status == 200);  // the first turn is committed

    SQLite::Database other(server.db(), SQLite::OPEN_READWRITE);
    other.exec("BEGIN EXCLUSIVE");
    // Queued and not committable: every review now waits 250 ms for it.
    server.post_chat(json{{"session", session}, {"text", "since yesterday"}});
    constexpr int reviews = 16;
    std::vector<std::thread> reviewers;
    std::vector<int> statuses(reviews, 0);
    for (int i = 0; i < reviews; ++i) {
        reviewers.emplace_back([&, i] { statuses[static_cast<std::size_t>(i)] = server.get("/api/v1/stats").status; });
    }
    // Meanwhile (about 4 s of reviews, one at a time on the admin worker)
    // the server answers others at once; with reviews on the two network
    // threads each answer here would wait about 2 s for them. The bound
    // leaves room for a slow shared machine.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::chrono::steady_clock::duration slowest{};
    for (int i = 0; i < 5; ++i) {
        const auto started = std::chrono::steady_clock::now();
        CHECK(backtalk::test::http_request(server.port(), "GET", "/healthz").status == 200);
        slowest = std::max(slowest, std::chrono::steady_clock::now() - started);
    }
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count() < 1000);
    for (auto& reviewer : reviewers) reviewer.join();
    other.exec("ROLLBACK");
    CHECK(std::count(statuses.begin(), statuses.end(), 200) == reviews);
}

TEST_CASE("POST /api/v1/rules/reload swaps in good rules and refuses a broken set") {
    TempDir dir;
    const fs::path rules = dir.path() / "rules";
    fs::copy(fs::path(BACKTALK_SOURCE_DIR) / "rules", rules, fs::copy_options::recursive);
    AdminServer server(dir, true, {"--rules", rules.string()});

    const auto good = server.request("POST", "/api/v1/rules/reload", admin_token);
    INFO(good.body);
    REQUIRE(good.status == 200);
    const json accepted = json::parse(good.body);
    CHECK(accepted["ok"] == true);
    CHECK(accepted["errors"].empty());
    CHECK_FALSE(accepted.contains("published"));  // SQLite: no other instance to tell

    std::ofstream(rules / "en" / "flow.json", std::ios::trunc) << "{ broken";
    const auto broken = server.request("POST", "/api/v1/rules/reload", admin_token);
    CHECK(broken.status == 422);
    const json refused = json::parse(broken.body);
    CHECK(refused["ok"] == false);
    CHECK(refused["version"] == accepted["version"]);
    REQUIRE_FALSE(refused["errors"].empty());
    CHECK(refused["errors"][0].get<std::string>().find("flow.json") != std::string::npos);

    // The old rules keep answering.
    CHECK(server.chat(1).size() > 0);

    const auto audit = server.stop_and_read_audit();
    REQUIRE(audit.size() == 2);
    CHECK(audit[0][1] == "reload");
    CHECK(audit[1][2].rfind("refused", 0) == 0);
}

TEST_CASE("admin.md lists every action the audit table records") {
    const auto read = [](const std::string& relative) {
        std::ifstream in(std::string(BACKTALK_SOURCE_DIR) + "/" + relative);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    const std::string routes = read("adapters/server/admin_routes.cpp");
    std::string doc = read("docs/admin.md");
    const auto section = doc.find("## The audit table");
    REQUIRE(section != std::string::npos);
    doc = doc.substr(section, doc.find("```", section) - section);
    const std::regex audited(R"re(guarded\("([a-z_]+)")re");
    int actions = 0;
    for (std::sregex_iterator it(routes.begin(), routes.end(), audited), end; it != end; ++it, ++actions) {
        CHECK_MESSAGE(doc.find("`" + (*it)[1].str() + "`") != std::string::npos, (*it)[1].str());
    }
    CHECK(actions >= 7);
}

TEST_CASE("a too short admin token stops the server at startup with a clear error") {
    TempDir dir;
    std::ofstream(dir.path() / "short.token") << "short\n";
    const auto result = backtalk::test::run_backtalk(
        {"serve", "--listen", "127.0.0.1:0", "--db", (dir.path() / "x.db").string(), "--admin-token-file",
         (dir.path() / "short.token").string()});
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("at least 16 characters") != std::string::npos);
}
