// Sessions survive JSON, and the protocol helpers every channel uses check
// and write the wire format of PROTOCOL.md.
#include "bot/protocol.hpp"
#include "bot/session.hpp"
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace backtalk {
namespace {

using test::Chat;

// The snapshot as a nlohmann object of the same fields, dumped: the reference
// that session_snapshot, which writes the text directly, must match. Invalid
// UTF-8 becomes U+FFFD (nlohmann's default dump threw on it, and the log
// writer then retried its batch until it gave up).
std::string reference_snapshot(const Session& s) {
    nlohmann::json out = nlohmann::json::object();
    out["version"] = 1;
    out["state"] = s.state;
    out["asking"] = s.asking;
    out["attempts"] = s.attempts;
    out["non_answers"] = s.non_answers;
    out["slot_turns"] = s.slot_turns;
    out["one_at_a_time"] = s.one_at_a_time;
    out["followed_up"] = s.followed_up;
    out["picking"] = s.picking;
    auto& pending = out["pending_correction"] = nlohmann::json::object();
    for (const auto& [name, value] : s.pending_correction) std::visit([&](const auto& v) { pending[name] = v; }, value);
    auto& slots = out["slots"] = nlohmann::json::object();
    for (const auto& [name, value] : s.slots) std::visit([&](const auto& v) { slots[name] = v; }, value);
    out["asked"] = s.asked;
    out["triage"] = s.triage ? nlohmann::json{{"level", to_string(s.triage->level)}, {"reasons", s.triage->reasons}}
                             : nlohmann::json(nullptr);
    out["step_index"] = s.step_index;
    out["offered"] = nlohmann::json::array();
    for (const auto& q : s.offered) out["offered"].push_back({{"id", q.id}, {"title", q.title}});
    out["turns"] = s.turns;
    out["started_ms"] = s.started_ms;
    out["last_active_ms"] = s.last_active_ms;
    out["rules_version"] = s.rules_version;
    out["locale"] = s.locale;
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST_CASE("session: the snapshot text is byte for byte the reference") {
    Chat chat;
    CHECK(session_snapshot(chat.session()) == reference_snapshot(chat.session()));
    chat.say("I'm 38, lower back sore since I moved house 5 days ago, temperature was 37.2");
    CHECK(session_snapshot(chat.session()) == reference_snapshot(chat.session()));
    chat.answer_until_done({{"age", "38"}});
    REQUIRE(chat.session().triage.has_value());
    CHECK(session_snapshot(chat.session()) == reference_snapshot(chat.session()));
    // Odd text anywhere: escapes, control characters, invalid UTF-8, and
    // numbers with and without a fraction.
    Session odd = chat.session();
    const std::string strange = "q\"uote\\ \n\x01 caf\xc3\xa9 bad \xff";
    odd.slots[strange] = strange;
    odd.slots["whole"] = 7.0;
    odd.slots["fraction"] = 37.25;
    odd.slots["tiny"] = 1e-7;
    odd.asked.push_back(strange);
    odd.offered.push_back({strange, strange});
    odd.state = strange;
    odd.rules_version = strange;
    odd.last_active_ms = 1795508633436;
    CHECK(session_snapshot(odd) == reference_snapshot(odd));
    const Session restored = session_from_json(nlohmann::json::parse(session_snapshot(odd)));
    CHECK(std::get<double>(restored.slots.at("whole")) == 7.0);
    CHECK(std::get<double>(restored.slots.at("fraction")) == 37.25);
    CHECK(restored.last_active_ms == 1795508633436);
}

TEST_CASE("session: JSON round trip keeps every field") {
    Chat chat;
    chat.say("I'm 38, lower back sore since I moved house 5 days ago, temperature was 37.2");
    chat.say("no");
    chat.say("maybe");
    const Session& original = chat.session();
    REQUIRE(original.attempts == 1);
    const std::string dumped = session_snapshot(original);
    const Session restored = session_from_json(nlohmann::json::parse(dumped));
    CHECK(session_snapshot(restored) == dumped);
    CHECK(restored.state == original.state);
    CHECK(restored.asking == original.asking);
    CHECK(restored.attempts == original.attempts);
    CHECK(restored.slots == original.slots);
    CHECK(restored.asked == original.asked);
    CHECK(restored.turns == original.turns);
    CHECK(restored.started_ms == original.started_ms);
    CHECK(restored.last_active_ms == original.last_active_ms);
    CHECK(restored.rules_version == original.rules_version);
    CHECK(restored.offered.size() == original.offered.size());
}

TEST_CASE("session: a restored session continues exactly like the original") {
    Chat chat;
    chat.say("my back has hurt for 3 weeks and it's not getting better");
    chat.answer_until_done({{"age", "36"}});
    REQUIRE(chat.session().triage.has_value());
    const Session restored = session_from_json(nlohmann::json::parse(session_snapshot(chat.session())));
    REQUIRE(restored.triage.has_value());
    CHECK(restored.triage->level == chat.session().triage->level);
    CHECK(restored.triage->reasons == chat.session().triage->reasons);
    const protocol::Message message{"what causes this?"};
    const TurnResult a = test::engine().step(chat.session(), message, 5);
    const TurnResult b = test::engine().step(restored, message, 5);
    REQUIRE(a.replies.size() == b.replies.size());
    for (std::size_t i = 0; i < a.replies.size(); ++i) CHECK(protocol::to_json(a.replies[i], false) == protocol::to_json(b.replies[i], false));
    CHECK(session_snapshot(a.session) == session_snapshot(b.session));
}

TEST_CASE("session: slots are ordered exactly as std::less orders their names") {
    const std::vector<std::string> names{"", "a", "ab", "abc", "b", "age", "aged", "Zeta", "zeta",
                                         "\xc3\xa9t\xc3\xa9", "e", "\x7f", "\x80", "leg_weakness",
                                         "leg", "saddle_numbness", "s"};
    const SlotNameOrder order;
    for (const auto& a : names) {
        for (const auto& b : names) {
            INFO(a, " vs ", b);
            CHECK(order(a, b) == std::less<std::string>()(a, b));
        }
    }
}

TEST_CASE("session: a snapshot that is not a session is refused") {
    CHECK_THROWS_AS(session_from_json(nlohmann::json::parse("[]")), std::runtime_error);
    CHECK_THROWS_AS(session_from_json(nlohmann::json::parse(R"({"version": 2})")), std::runtime_error);
    auto missing_field = nlohmann::json::parse(session_snapshot(Chat().session()));
    missing_field.erase("slots");
    CHECK_THROWS_AS(session_from_json(missing_field), std::runtime_error);
    auto bad_slot = nlohmann::json::parse(session_snapshot(Chat().session()));
    bad_slot["slots"]["age"] = nlohmann::json::array();
    CHECK_THROWS_AS(session_from_json(bad_slot), std::runtime_error);
    auto bad_level = nlohmann::json::parse(session_snapshot(Chat().session()));
    bad_level["triage"] = {{"level", "soonish"}, {"reasons", nlohmann::json::array()}};
    CHECK_THROWS_AS(session_from_json(bad_level), std::runtime_error);
}

std::string error_code(std::string_view text) {
    const auto result = protocol::make_message(text);
    const auto* error = std::get_if<protocol::Error>(&result);
    return error ? error->code : "";
}

TEST_CASE("protocol: messages are trimmed and limited to 2000 characters") {
    const auto ok = protocol::make_message("  my back hurts \n");
    REQUIRE(std::holds_alternative<protocol::Message>(ok));
    CHECK(std::get<protocol::Message>(ok).text == "my back hurts");
    CHECK(error_code("") == "empty");
    CHECK(error_code(" \t\n ") == "empty");
    CHECK(error_code(std::string(2000, 'a')) == "");
    CHECK(error_code(std::string(2001, 'a')) == "too_long");
    // Characters, not bytes: 2000 two-byte letters are allowed.
    std::string accented;
    for (int i = 0; i < 2000; ++i) accented += "\xC3\xA9";
    CHECK(error_code(accented) == "");
    CHECK(error_code(accented + "\xC3\xA9") == "too_long");
    CHECK(error_code("bad \xFF byte") == "bad_json");
}

std::string parse_error(std::string_view line) {
    const auto parsed = protocol::parse_client_object(line);
    const auto* error = std::get_if<protocol::Error>(&parsed);
    return error ? error->code : "";
}

TEST_CASE("protocol: client objects") {
    const auto message = protocol::parse_client_object(R"({"type": "message", "text": " hi ", "extra": 1})");
    REQUIRE(std::holds_alternative<protocol::ClientObject>(message));
    CHECK(std::get<protocol::Message>(std::get<protocol::ClientObject>(message)).text == "hi");
    const auto choice = protocol::parse_client_object(R"({"type": "choice", "id": "yes"})");
    CHECK(std::get<protocol::Choice>(std::get<protocol::ClientObject>(choice)).id == "yes");
    CHECK(std::get<protocol::Choice>(std::get<protocol::ClientObject>(choice)).asking.empty());
    const auto answering = protocol::parse_client_object(R"({"type": "choice", "id": "no", "asking": "chest_pain"})");
    CHECK(std::get<protocol::Choice>(std::get<protocol::ClientObject>(answering)).asking == "chest_pain");
    CHECK(parse_error(R"({"type": "choice", "id": "no", "asking": 5})") == "bad_json");
    const auto start = protocol::parse_client_object(R"({"type": "start", "session": "abc"})");
    CHECK(std::get<protocol::Start>(std::get<protocol::ClientObject>(start)).session == "abc");

    CHECK(parse_error("not json") == "bad_json");
    CHECK(parse_error("[1]") == "bad_json");
    CHECK(parse_error(R"({"text": "hi"})") == "unknown_type");
    CHECK(parse_error(R"({"type": "shout"})") == "unknown_type");
    CHECK(parse_error(R"({"type": "message", "text": 7})") == "bad_json");
    CHECK(parse_error(R"({"type": "message", "text": "   "})") == "empty");
    CHECK(parse_error(R"({"type": "choice", "id": ""})") == "bad_choice");
}

TEST_CASE("protocol: client objects a channel builds are checked as parsed ones are") {
    const auto message = protocol::message_object("  hi \n");
    REQUIRE(std::holds_alternative<protocol::ClientObject>(message));
    CHECK(std::get<protocol::Message>(std::get<protocol::ClientObject>(message)).text == "hi");
    CHECK(std::get<protocol::Error>(protocol::message_object(" ")).code == "empty");
    CHECK(std::get<protocol::Error>(protocol::message_object(std::string(2001, 'a'))).code == "too_long");
    CHECK(std::get<protocol::Error>(protocol::message_object("bad \xFF byte")).code == "bad_json");
    const auto choice = protocol::choice_object("no", "chest_pain");
    REQUIRE(std::holds_alternative<protocol::ClientObject>(choice));
    CHECK(std::get<protocol::Choice>(std::get<protocol::ClientObject>(choice)).id == "no");
    CHECK(std::get<protocol::Choice>(std::get<protocol::ClientObject>(choice)).asking == "chest_pain");
    CHECK(std::get<protocol::Error>(protocol::choice_object("")).code == "bad_choice");
}

TEST_CASE("protocol: error objects keep their code and leave the wording to the rules") {
    for (const std::string_view code : protocol::error_codes) {
        CAPTURE(code);
        const protocol::Error e = protocol::make_error(code);
        CHECK(e.code == code);
        CHECK(e.message.empty());  // worded by the channel: adapters/core/wording.hpp
    }
    CHECK(protocol::make_error("no_such_code").code == "internal");
}

TEST_CASE("protocol: reply objects carry every field with null when empty") {
    Reply question{"Any fever?", {{"yes", "Yes"}, {"no", "No"}}, "fever", "screening", std::nullopt, std::nullopt, {}};
    const auto q = nlohmann::json::parse(protocol::to_json(question, false));
    CHECK(q["type"] == "reply");
    CHECK(q["asking"] == "fever");
    CHECK(q["triage"].is_null());
    CHECK_FALSE(q.contains("steps"));
    CHECK(q["end_of_turn"] == false);
    CHECK(q["quick_replies"][1] == nlohmann::json{{"id", "no"}, {"title", "No"}});

    Reply outcome{"See a doctor today.", {}, "", "outcome", Triage{Level::urgent, {"kidney"}}, std::vector<Step>{}, {}};
    const auto o = nlohmann::json::parse(protocol::to_json(outcome, true));
    CHECK(o["asking"].is_null());
    CHECK(o["triage"] == nlohmann::json{{"level", "urgent"}, {"reasons", {"kidney"}}});
    CHECK(o["steps"] == nlohmann::json::array());
    CHECK(o["end_of_turn"] == true);

    const auto e = nlohmann::json::parse(protocol::to_json(protocol::make_error("too_long"), true));
    CHECK(e == nlohmann::json{{"type", "error"}, {"code", "too_long"}, {"message", protocol::make_error("too_long").message}, {"end_of_turn", true}});
}

// The wire format as nlohmann's ordered_json writes it: the reference that
// protocol::to_json, which writes the string directly, must match byte for byte.
std::string reference_json(const Reply& reply, bool end_of_turn) {
    using nlohmann::ordered_json;
    ordered_json out;
    out["type"] = "reply";
    out["text"] = reply.text;
    out["quick_replies"] = ordered_json::array();
    for (const auto& q : reply.quick_replies) out["quick_replies"].push_back({{"id", q.id}, {"title", q.title}});
    out["asking"] = reply.asking.empty() ? ordered_json(nullptr) : ordered_json(reply.asking);
    out["state"] = reply.state;
    out["triage"] = reply.triage ? ordered_json{{"level", to_string(reply.triage->level)}, {"reasons", reply.triage->reasons}}
                                 : ordered_json(nullptr);
    if (reply.steps) {
        out["steps"] = ordered_json::array();
        for (const auto& s : *reply.steps) {
            out["steps"].push_back({{"id", s.id}, {"title", s.title}, {"text", s.text},
                                    {"hold_seconds", s.hold_seconds}, {"repeat", s.repeat}});
        }
    }
    out["end_of_turn"] = end_of_turn;
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST_CASE("protocol: reply JSON is byte for byte the reference, escapes and bad UTF-8 included") {
    const std::vector<std::string> texts = {
        "",
        "Plain text, 7/10 pain.",
        "Quotes \"here\" and a back\\slash",
        "Lines\nand\ttabs\r and \x01 \x1f control, \x7f delete",
        "caf\xc3\xa9, \xe2\x80\x94 dash, \xf0\x9f\x98\x80 emoji",
        "bad \xff" " byte and a cut \xe2\x80 sequence",
    };
    for (const auto& text : texts) {
        CAPTURE(text);
        Reply reply{text, {{"yes", text}, {"no", "No"}}, text.empty() ? "" : "fever", "screening",
                    Triage{Level::gp_soon, {"sciatica", text}}, std::vector<Step>{{"s1", text, text, 30, 2}, {"s2", "T", "X", 0, 1}}, {}};
        CHECK(protocol::to_json(reply, true) == reference_json(reply, true));
        reply.triage.reset();
        reply.steps.reset();
        reply.quick_replies.clear();
        CHECK(protocol::to_json(reply, false) == reference_json(reply, false));
        const nlohmann::ordered_json error{{"type", "error"}, {"code", "internal"}, {"message", text}, {"end_of_turn", true}};
        CHECK(protocol::to_json(protocol::Error{"internal", text}, true) ==
              error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        const nlohmann::ordered_json session{{"type", "session"}, {"session", text}, {"resumed", true}, {"end_of_turn", false}};
        CHECK(protocol::session_json(text, true, false) ==
              session.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
}

TEST_CASE("protocol: levels by name") {
    for (const Level level : {Level::self_care, Level::gp_soon, Level::urgent, Level::emergency}) {
        CHECK(level_from_string(to_string(level)) == level);
    }
    CHECK_FALSE(level_from_string("soon").has_value());
    CHECK(Level::emergency > Level::urgent);
}

}  // namespace
}  // namespace backtalk
