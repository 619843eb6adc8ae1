// The WebSocket of PROTOCOL.md against a running `backtalk serve`.
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"
#include "tests/support/eventually.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>

using backtalk::test::ChatClient;
using backtalk::test::json;
using backtalk::test::ServerProcess;
using backtalk::test::TempDir;

namespace {

// A test answers far faster than a person types: lift the rate limit.
const std::vector<std::string> fast_client{"--rate", "1000", "--burst", "1000"};

const std::set<std::string> levels{"self_care", "gp_soon", "urgent", "emergency"};

// Every object but the last says end_of_turn: false; the last says true.
void check_turn_markers(const std::vector<json>& turn) {
    REQUIRE_FALSE(turn.empty());
    for (std::size_t i = 0; i + 1 < turn.size(); ++i) CHECK(turn[i]["end_of_turn"] == false);
    CHECK(turn.back()["end_of_turn"] == true);
}

std::vector<json> start(ChatClient& chat, const std::string& session = {}) {
    json object{{"type", "start"}, {"locale", "en"}};
    if (!session.empty()) object["session"] = session;
    chat.send(object);
    return chat.receive_turn();
}

json error_for(ChatClient& chat, const std::string& frame) {
    chat.send_text(frame);
    const auto turn = chat.receive_turn();
    REQUIRE(turn.size() == 1);
    REQUIRE(turn[0]["type"] == "error");
    return turn[0];
}

}  // namespace

TEST_CASE("a whole conversation reaches an outcome, one end_of_turn per turn") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db", fast_client);
    ChatClient chat(server.port(), server.origin());

    const auto opening = start(chat);
    check_turn_markers(opening);
    REQUIRE(opening.front()["type"] == "session");
    CHECK(opening.front()["resumed"] == false);
    CHECK(opening.front()["session"].get<std::string>().size() == 32);
    CHECK(backtalk::test::last_reply(opening)["text"].get<std::string>().size() > 0);

    const auto outcome = backtalk::test::chat_to_outcome(chat, opening);
    CHECK(levels.count(outcome["triage"]["level"].get<std::string>()) == 1);
    CHECK(outcome["triage"]["reasons"].is_array());
    chat.close();
}

TEST_CASE("the first message opens a conversation without start") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    ChatClient chat(server.port());
    chat.send({{"type", "message"}, {"text", "my lower back hurts"}});
    const auto turn = chat.receive_turn();
    check_turn_markers(turn);
    CHECK(turn.front()["type"] == "session");
    CHECK(backtalk::test::last_reply(turn)["type"] == "reply");
}

TEST_CASE("a reconnect resumes the conversation where it stood") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    std::string session;
    json asked;
    {
        ChatClient chat(server.port());
        const auto opening = start(chat);
        session = opening.front()["session"];
        chat.send(backtalk::test::answer_to(backtalk::test::last_reply(opening)));
        asked = backtalk::test::last_reply(chat.receive_turn())["asking"];
    }
    ChatClient again(server.port());
    const auto resumed = start(again, session);
    check_turn_markers(resumed);
    REQUIRE(resumed.front()["type"] == "session");
    CHECK(resumed.front()["session"] == session);
    CHECK(resumed.front()["resumed"] == true);
    CHECK(backtalk::test::last_reply(resumed)["asking"] == asked);
}

TEST_CASE("an unknown session starts a new conversation") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    ChatClient chat(server.port());
    const auto opening = start(chat, "0123456789abcdef0123456789abcdef");
    CHECK(opening.front()["resumed"] == false);
    CHECK(opening.front()["session"] != "0123456789abcdef0123456789abcdef");
}

TEST_CASE("each error code is answered and the conversation goes on") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db", fast_client);
    ChatClient chat(server.port());
    const auto opening = start(chat);
    const auto session = opening.front()["session"];
    chat.send({{"type", "message"}, {"text", "my lower back hurts"}});
    const json question = backtalk::test::last_reply(chat.receive_turn());

    CHECK(error_for(chat, "{not json")["code"] == "bad_json");
    CHECK(error_for(chat, R"({"type":"dance"})")["code"] == "unknown_type");
    CHECK(error_for(chat, R"({"type":"message","text":"   "})")["code"] == "empty");
    CHECK(error_for(chat, json{{"type", "message"}, {"text", std::string(2001, 'a')}}.dump())["code"] ==
          "too_long");
    CHECK(error_for(chat, R"({"type":"choice","id":"no-such-choice"})")["code"] == "bad_choice");

    chat.send_binary("\x01\x02\x03");
    const auto binary = chat.receive_turn();
    REQUIRE(binary.size() == 1);
    CHECK(binary[0]["code"] == "bad_json");
    CHECK(binary[0]["message"].get<std::string>().size() > 0);

    // Nothing said before the errors is lost: a resume asks the same thing.
    ChatClient again(server.port());
    const auto resumed = start(again, session);
    CHECK(resumed.front()["resumed"] == true);
    CHECK(backtalk::test::last_reply(resumed)["asking"] == question["asking"]);
    // And the first connection still chats.
    chat.send(backtalk::test::answer_to(question));
    check_turn_markers(chat.receive_turn());
}

TEST_CASE("2,000 characters escaped as surrogate pairs are a message, 2,001 are too_long, over 32 KiB closes with 1009") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    ChatClient chat(server.port());
    const auto escaped_message = [](int characters) {
        std::string text;
        for (int i = 0; i < characters; ++i) text += "\\ud83d\\ude00";  // one emoji, 12 bytes
        return R"({"type":"message","text":")" + text + R"("})";
    };
    chat.send_text(escaped_message(2000));
    const auto answered = chat.receive_turn();
    CHECK(answered.front()["type"] == "session");
    CHECK(backtalk::test::last_reply(answered)["type"] == "reply");
    CHECK(error_for(chat, escaped_message(2001))["code"] == "too_long");
    chat.send_text(std::string(33 * 1024, 'a'));
    CHECK(chat.wait_for_close() == 1009);
}

// The button that says "none of these" or "no" to a safety question.
std::string negative_answer(const json& reply) {
    for (const auto& button : reply["quick_replies"]) {
        if (button["id"] == "none" || button["id"] == "no") return button["id"];
    }
    FAIL("no negative answer among " << reply["quick_replies"].dump());
    return {};
}

TEST_CASE("a button clicked in a window left behind by another does not answer the question open now") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db", fast_client);
    ChatClient first(server.port());
    const std::string session = start(first).front()["session"];
    first.send({{"type", "message"}, {"text", "my lower back has been sore for two days"}});
    const json question = backtalk::test::last_reply(first.receive_turn());
    const std::string asked = question["asking"];
    REQUIRE_FALSE(asked.empty());
    const std::string no = negative_answer(question);

    // A second window resumes and answers the first safety question.
    ChatClient second(server.port());
    REQUIRE(backtalk::test::last_reply(start(second, session))["asking"] == asked);
    second.send({{"type", "choice"}, {"id", no}});
    const json next = backtalk::test::last_reply(second.receive_turn());
    const std::string open_now = next["asking"];
    REQUIRE(open_now != asked);

    // The first window still shows the first question; its answer is not
    // taken as an answer to the question open now.
    first.send({{"type", "choice"}, {"id", no}});
    const auto stale = first.receive_turn();
    CHECK(stale.front()["text"].get<std::string>().find("earlier question") != std::string::npos);
    CHECK(backtalk::test::last_reply(stale)["asking"] == open_now);
    // Now that it shows the open question, the first window answers it.
    first.send({{"type", "choice"}, {"id", negative_answer(next)}});
    CHECK(backtalk::test::last_reply(first.receive_turn())["asking"] != open_now);
}

TEST_CASE("with the default limits a client that answers as soon as the bot is done is never rate limited") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    ChatClient chat(server.port());
    auto turn = start(chat);
    // A conversation to its outcome, the stretching guide, start over, again.
    for (int sent = 0; sent < 55; ++sent) {
        chat.send(backtalk::test::answer_to(backtalk::test::last_reply(turn)));
        turn = chat.receive_turn();
        REQUIRE_MESSAGE(turn.back()["type"] != "error", turn.back().dump());
    }
}

TEST_CASE("the rate limit answers rate_limited, then closes with 1008") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db", {"--rate", "1", "--burst", "3"});
    ChatClient chat(server.port());
    for (int i = 0; i < 30; ++i) chat.send({{"type", "message"}, {"text", "hello"}});
    std::vector<json> received;
    CHECK(chat.wait_for_close(&received) == 1008);
    int limited = 0;
    for (const auto& object : received) {
        if (object["type"] == "error" && object["code"] == "rate_limited") {
            ++limited;
            CHECK(object["end_of_turn"] == true);
        }
    }
    CHECK(limited >= 1);
    // The burst was served before the limit applied.
    CHECK(received.front()["type"] == "session");
    // The message that brought the close was answered too.
    CHECK(received.back()["code"] == "rate_limited");
}

TEST_CASE("the Origin allow-list: own origin in, foreign origin 403, configured origin in too") {
    TempDir dir;
    SUBCASE("default: the server's own origin") {
        ServerProcess server(dir.path() / "chat.db");
        CHECK(backtalk::test::websocket_upgrade_status(server.port(), server.origin()) == 101);
        CHECK(backtalk::test::websocket_upgrade_status(
                  server.port(), "http://localhost:" + std::to_string(server.port())) == 101);
        CHECK(backtalk::test::websocket_upgrade_status(server.port(), "https://evil.example") == 403);
        CHECK(backtalk::test::websocket_upgrade_status(server.port(), "null") == 403);
    }
    SUBCASE("--allowed-origin adds to the server's own origin, whose page keeps working") {
        ServerProcess server(dir.path() / "chat.db", {"--allowed-origin", "https://clinic.example"});
        CHECK(backtalk::test::websocket_upgrade_status(server.port(), "https://CLINIC.example/") == 101);
        CHECK(backtalk::test::websocket_upgrade_status(server.port(), server.origin()) == 101);
        CHECK(backtalk::test::websocket_upgrade_status(server.port(), "https://evil.example") == 403);
    }
}

TEST_CASE("a refused origin is logged once a minute, with how many were refused in between") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db", {"--allowed-origin", "https://clinic.example"});
    for (int i = 0; i < 5; ++i) {
        CHECK(backtalk::test::websocket_upgrade_status(server.port(), "https://shop.example") == 403);
    }
    const std::string log = server.log();
    INFO(log);
    std::size_t lines = 0;
    for (std::size_t at = 0; (at = log.find("\"event\":\"websocket origin refused\"", at)) != std::string::npos; ++at) {
        ++lines;
    }
    CHECK(lines == 1);
    CHECK(log.find("\"origin\":\"https://shop.example\"") != std::string::npos);
    CHECK(log.find("\"level\":\"warn\"") != std::string::npos);
    CHECK(log.find("--allowed-origin") != std::string::npos);
}

TEST_CASE("connections over the per-address cap are refused with 503") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db", {"--max-connections-per-address", "2"});
    ChatClient first(server.port());
    ChatClient second(server.port());
    CHECK(backtalk::test::websocket_upgrade_status(server.port(), server.origin()) == 503);
    first.close();
    // The lease is returned when the connection ends.
    CHECK(backtalk::test::eventually(
        [&] { return backtalk::test::websocket_upgrade_status(server.port(), server.origin()) == 101; }));
}
