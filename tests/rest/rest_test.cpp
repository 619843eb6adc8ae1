// The REST channel of a real `backtalk serve`: POST /api/v1/chat per
// PROTOCOL.md and docs/rest.md, with its errors, request signing (signed the
// way docs/rest.md shows, with openssl dgst in a shell), idempotent retries
// by message_id, and the same conversation held over `backtalk chat --json`
// for comparison.
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"
#include "tests/telegram/channel_support.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using backtalk::test::ChatProcess;
using backtalk::test::HttpReply;
using backtalk::test::json;
using backtalk::test::ServerProcess;
using backtalk::test::TempDir;

namespace {

constexpr const char* rest_secret = "correct horse battery staple 42";

using Headers = std::vector<std::pair<std::string, std::string>>;

class RestServer {
public:
    explicit RestServer(const TempDir& dir, bool signed_requests = false) : dir_(dir.path()) {
        if (signed_requests) {
            std::ofstream(dir_ / "rest.secret") << rest_secret << "\n";
            args_ = {"--rest-secret-file", (dir_ / "rest.secret").string()};
        }
        process_.emplace(db(), args_);
    }

    std::filesystem::path db() const { return dir_ / "chat.db"; }

    HttpReply post_body(std::string body, Headers headers = {{"Content-Type", "application/json"}}) {
        return backtalk::test::http_request(process_->port(), "POST", "/api/v1/chat", headers, std::move(body));
    }
    HttpReply post(const json& body) { return post_body(body.dump()); }

    // A 200 answer's body.
    json chat(const json& body) {
        const auto reply = post(body);
        INFO(reply.body);
        REQUIRE(reply.status == 200);
        CHECK(reply.header("Content-Type") == "application/json");
        return json::parse(reply.body);
    }

    std::uint16_t port() const { return process_->port(); }
    std::string metrics() { return backtalk::test::http_request(port(), "GET", "/metrics").body; }

    void stop() {
        const auto result = process_->stop(SIGTERM, std::chrono::seconds(15));
        REQUIRE(result);
        CHECK(result->exit_code == 0);
    }
    void restart() {
        stop();
        process_.emplace(db(), args_);
    }

private:
    std::filesystem::path dir_;
    std::vector<std::string> args_;
    std::optional<ServerProcess> process_;
};

// The one error object of a refused request, after checking the shape.
json error_of(const HttpReply& reply) {
    INFO(reply.body);
    CHECK(reply.header("Content-Type") == "application/json");
    const json body = json::parse(reply.body);
    REQUIRE(body["replies"].size() == 1);
    const json& error = body["replies"][0];
    CHECK(error["type"] == "error");
    CHECK(error["end_of_turn"] == true);
    CHECK_FALSE(error["message"].get<std::string>().empty());
    return error;
}

std::string unix_seconds(long offset = 0) { return std::to_string(static_cast<long>(std::time(nullptr)) + offset); }

// The signature as docs/rest.md computes it in a shell.
std::string shell_signature(const std::string& secret, const std::string& timestamp, const std::string& body) {
    setenv("SIGN_SECRET", secret.c_str(), 1);
    setenv("SIGN_TS", timestamp.c_str(), 1);
    setenv("SIGN_BODY", body.c_str(), 1);
    FILE* pipe = popen(R"(printf '%s.%s' "$SIGN_TS" "$SIGN_BODY" | openssl dgst -sha256 -hmac "$SIGN_SECRET" | sed 's/^.*= //')",
                       "r");
    REQUIRE(pipe != nullptr);
    char line[256] = {};
    const bool read = std::fgets(line, sizeof line, pipe) != nullptr;
    pclose(pipe);
    REQUIRE(read);
    std::string hex(line);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
    REQUIRE(hex.size() == 64);
    return hex;
}

Headers signed_headers(const std::string& timestamp, const std::string& signature) {
    return {{"Content-Type", "application/json"},
            {"X-Backtalk-Timestamp", timestamp},
            {"X-Backtalk-Signature", "sha256=" + signature}};
}

// The protocol objects of a REST answer or a terminal turn that say
// something, without what differs between two conversations (the ids).
std::vector<json> comparable(const std::vector<json>& objects) {
    std::vector<json> kept;
    for (const auto& object : objects) {
        if (object.value("type", "") != "session") kept.push_back(object);
    }
    return kept;
}

}  // namespace

TEST_CASE("a conversation over REST: a new session, its replies, then a choice") {
    TempDir dir;
    RestServer server(dir);
    const json first = server.chat({{"text", "my lower back hurts since I lifted boxes yesterday"}});
    REQUIRE(first["session"].is_string());
    const std::string session = first["session"];
    CHECK(session.size() == 32);
    CHECK(first["new_session"] == true);
    REQUIRE_FALSE(first["replies"].empty());
    for (const auto& reply : first["replies"]) CHECK(reply["type"] == "reply");
    CHECK(first["replies"].back()["end_of_turn"] == true);
    CHECK(first["replies"].front()["end_of_turn"] == (first["replies"].size() == 1));

    json reply = first["replies"].back();
    for (int i = 0; i < 5 && reply["quick_replies"].empty(); ++i) {
        reply = server.chat({{"session", session}, {"text", "35"}})["replies"].back();
    }
    REQUIRE_FALSE(reply["quick_replies"].empty());
    const json chosen = server.chat({{"session", session}, {"choice", reply["quick_replies"][0]["id"]}});
    CHECK(chosen["session"] == session);
    CHECK(chosen["new_session"] == false);
    CHECK(chosen["replies"].back()["type"] == "reply");
}

TEST_CASE("a body without text or choice opens, or resumes, the conversation") {
    TempDir dir;
    RestServer server(dir);
    const json opened = server.chat(json::object());
    CHECK(opened["new_session"] == true);
    REQUIRE(opened["session"].is_string());
    CHECK_FALSE(opened["replies"].empty());
    const json resumed = server.chat({{"session", opened["session"]}});
    CHECK(resumed["session"] == opened["session"]);
    CHECK(resumed["new_session"] == false);
    CHECK_FALSE(resumed["replies"].empty());
}

TEST_CASE("a missing, unknown or expired session opens a new conversation and returns its id") {
    TempDir dir;
    RestServer server(dir);
    const json fresh = server.chat({{"session", "0123456789abcdef0123456789abcdef"}, {"text", "my neck hurts"}});
    CHECK(fresh["new_session"] == true);
    CHECK(fresh["session"] != "0123456789abcdef0123456789abcdef");
    const json null_session = server.chat({{"session", nullptr}, {"text", "my neck hurts"}});
    CHECK(null_session["new_session"] == true);
    CHECK(null_session["session"] != fresh["session"]);
}

TEST_CASE("bad requests get JSON errors with the protocol's codes and lose nothing") {
    TempDir dir;
    RestServer server(dir);
    const json opened = server.chat({{"text", "my lower back hurts"}});
    const std::string session = opened["session"];

    const auto bad_json = server.post_body("{\"text\": ");
    CHECK(bad_json.status == 400);
    CHECK(error_of(bad_json)["code"] == "bad_json");
    CHECK(error_of(server.post_body("[\"text\"]"))["code"] == "bad_json");
    CHECK(error_of(server.post({{"session", session}, {"text", 5}}))["code"] == "bad_json");
    CHECK(error_of(server.post({{"session", 12}, {"text", "hi"}}))["code"] == "bad_json");
    CHECK(error_of(server.post({{"session", session}, {"text", "hi"}, {"choice", "yes"}}))["code"] == "bad_json");
    CHECK(error_of(server.post({{"session", session}, {"text", "hi"}, {"message_id", ""}}))["code"] == "bad_json");
    CHECK(error_of(server.post_body("{\"text\": \"\xFF\"}"))["code"] == "bad_json");

    const auto empty = server.post({{"session", session}, {"text", "   "}});
    CHECK(empty.status == 400);
    CHECK(error_of(empty)["code"] == "empty");
    const auto too_long = server.post({{"session", session}, {"text", std::string(2001, 'a')}});
    CHECK(too_long.status == 400);
    CHECK(error_of(too_long)["code"] == "too_long");
    const auto bad_choice = server.post({{"session", session}, {"choice", "not_offered"}});
    CHECK(bad_choice.status == 400);
    CHECK(error_of(bad_choice)["code"] == "bad_choice");
    CHECK(json::parse(bad_choice.body)["session"] == session);
    // A request that cannot be read still names its session in the answer.
    for (const json& unreadable : {json{{"session", session}, {"text", 5}},
                                   json{{"session", session}, {"text", "a"}, {"choice", "no"}}}) {
        const auto refused = server.post(unreadable);
        CHECK(refused.status == 400);
        CHECK(error_of(refused)["code"] == "bad_json");
        CHECK(json::parse(refused.body)["session"] == session);
    }

    const auto wrong_type = server.post_body(R"({"text": "hi"})", {{"Content-Type", "text/plain"}});
    CHECK(wrong_type.status == 415);
    CHECK(error_of(wrong_type)["code"] == "bad_json");
    CHECK(server.post_body(R"({"text": "hi"})", {{"Content-Type", "Application/JSON; charset=utf-8"}}).status == 200);
    const auto large = server.post({{"session", session}, {"text", std::string(40 * 1024, 'a')}});
    CHECK(large.status == 413);
    CHECK(error_of(large)["code"] == "too_long");
    CHECK(backtalk::test::http_request(server.port(), "GET", "/api/v1/chat").status == 405);

    // The conversation goes on where it was.
    const json after = server.chat({{"session", session}, {"text", "since yesterday"}});
    CHECK(after["session"] == session);
    CHECK(after["new_session"] == false);
    CHECK(backtalk::test::metric_sample(server.metrics(), R"(backtalk_rest_rejected_total{reason="content_type"})") == 1);
}

TEST_CASE("signed requests: a good signature passes, bad, stale or missing ones get 401") {
    TempDir dir;
    RestServer server(dir, true);
    const std::string body = R"({"text":"my back hurts, it's sore"})";
    const std::string now = unix_seconds();

    const auto good = server.post_body(body, signed_headers(now, shell_signature(rest_secret, now, body)));
    INFO(good.body);
    CHECK(good.status == 200);
    std::string upper = shell_signature(rest_secret, now, body);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(server.post_body(body, signed_headers(now, upper)).status == 200);

    const auto refused = [&](Headers headers, const std::string& sent_body, const std::string& why) {
        const auto reply = server.post_body(sent_body, std::move(headers));
        CHECK(reply.status == 401);
        const json error = error_of(reply);
        CHECK(error["code"] == "unauthorized");
        CHECK(error["message"].get<std::string>().find(why) != std::string::npos);
    };
    refused({{"Content-Type", "application/json"}}, body, "missing X-Backtalk-Timestamp");
    refused({{"Content-Type", "application/json"}, {"X-Backtalk-Timestamp", now}}, body, "missing X-Backtalk-Signature");
    refused(signed_headers(now, shell_signature("another secret", now, body)), body, "does not match");
    refused(signed_headers(now, shell_signature(rest_secret, now, body)), R"({"text":"something else"})",
            "does not match");
    const std::string stale = unix_seconds(-301);
    refused(signed_headers(stale, shell_signature(rest_secret, stale, body)), body, "seconds away");
    const std::string future = unix_seconds(400);
    refused(signed_headers(future, shell_signature(rest_secret, future, body)), body, "seconds away");
    refused(signed_headers("yesterday", shell_signature(rest_secret, "yesterday", body)), body, "unix time");
    refused({{"Content-Type", "application/json"}, {"X-Backtalk-Timestamp", now}, {"X-Backtalk-Signature", "deadbeef"}},
            body, "sha256=");
    CHECK(backtalk::test::metric_sample(server.metrics(), R"(backtalk_rest_rejected_total{reason="signature"})") == 8);
    server.stop();
    // Only the two signed requests reached a conversation.
    CHECK(backtalk::test::logged_conversations(server.db()).size() == 2);
}

TEST_CASE("a retry with the same message_id gets the stored answer without a second turn") {
    TempDir dir;
    RestServer server(dir);
    const json first_request{{"text", "my lower back hurts"}, {"message_id", "5b0c3c5e-8f9e-4c3a-9d56-1e2a3b4c5d6e"}};
    const auto first = server.post(first_request);
    REQUIRE(first.status == 200);
    // The answer was lost on the way: the client sends the same again.
    const auto retried = server.post(first_request);
    CHECK(retried.status == 200);
    CHECK(retried.body == first.body);
    CHECK(retried.header("X-Backtalk-Replayed") == "true");
    const std::string session = json::parse(first.body)["session"];

    const json second_request{{"session", session}, {"text", "since yesterday"}, {"message_id", "m-2"}};
    const auto second = server.post(second_request);
    REQUIRE(second.status == 200);
    // Reusing a message_id for something else is refused, not replayed.
    const auto reused = server.post({{"session", session}, {"text", "something new"}, {"message_id", "m-2"}});
    CHECK(reused.status == 409);
    CHECK(error_of(reused)["code"] == "conflict");
    CHECK(json::parse(reused.body)["session"] == session);
    // The same message_id in another session is another message.
    CHECK(server.post({{"text", "my neck hurts"}, {"message_id", "m-2"}}).status == 200);

    server.restart();
    const auto after_restart = server.post(second_request);
    CHECK(after_restart.status == 200);
    CHECK(after_restart.body == second.body);
    CHECK(backtalk::test::metric_sample(server.metrics(), "backtalk_rest_replays_total") == 1);
    server.stop();

    const auto conversations = backtalk::test::logged_conversations(server.db());
    REQUIRE(conversations.size() == 2);
    CHECK(conversations[0].id == session);
    CHECK(conversations[0].inbound_messages == 2);
}

TEST_CASE("concurrent requests for one session are taken one at a time") {
    TempDir dir;
    RestServer server(dir);
    const std::string session = server.chat({{"text", "my lower back hurts"}})["session"];
    constexpr int requests = 12;
    std::vector<unsigned> statuses(requests);
    std::vector<std::thread> clients;
    for (int i = 0; i < requests; ++i) {
        clients.emplace_back([&, i] {
            statuses[static_cast<std::size_t>(i)] =
                server.post({{"session", session}, {"text", "it started " + std::to_string(i + 1) + " days ago"}}).status;
        });
    }
    for (auto& client : clients) client.join();
    for (const unsigned status : statuses) CHECK(status == 200);
    server.stop();
    const auto conversations = backtalk::test::logged_conversations(server.db());
    REQUIRE(conversations.size() == 1);
    CHECK(conversations[0].inbound_messages == requests + 1);
}

TEST_CASE("a whole conversation over REST matches the same conversation over backtalk chat --json") {
    TempDir dir;
    RestServer server(dir);
    const auto terminal_db = dir.path() / "terminal.db";
    json outcome;
    std::string session;
    {
        ChatProcess terminal(terminal_db);
        const json opened = server.chat(json::object());
        session = opened["session"];
        CHECK(comparable(opened["replies"].get<std::vector<json>>()) == comparable(terminal.turn({{"type", "start"}})));
        json client_object{{"type", "message"}, {"text", "my lower back hurts since I lifted boxes yesterday"}};
        for (int answers = 0; answers < 40 && outcome.is_null(); ++answers) {
            const auto terminal_turn = terminal.turn(client_object);
            json request{{"session", session}};
            if (client_object["type"] == "choice") {
                request["choice"] = client_object["id"];
            } else {
                request["text"] = client_object["text"];
            }
            const json answer = server.chat(request);
            CHECK(answer["session"] == session);
            const auto replies = answer["replies"].get<std::vector<json>>();
            CHECK(replies == comparable(terminal_turn));
            for (const auto& reply : replies) {
                if (reply.contains("triage") && reply["triage"].is_object()) outcome = reply["triage"];
            }
            client_object = backtalk::test::answer_to(replies.back());
        }
    }
    REQUIRE(outcome.is_object());
    server.stop();
    const auto rest = backtalk::test::logged_conversations(server.db());
    const auto terminal = backtalk::test::logged_conversations(terminal_db);
    REQUIRE(rest.size() == 1);
    REQUIRE(terminal.size() == 1);
    CHECK(rest[0].channel == "rest");
    CHECK(rest[0].outcome_level == outcome["level"]);
    CHECK(rest[0].outcome_level == terminal[0].outcome_level);
    CHECK(rest[0].outcome_reasons == terminal[0].outcome_reasons);
    CHECK(rest[0].turns == terminal[0].turns);
}
