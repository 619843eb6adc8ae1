// The conversation service: opening, resuming and expiring conversations,
// errors that change nothing, and the log of every object in and out.
#include "adapters/core/conversations.hpp"
#include "bot/rules.hpp"
#include "store/review.hpp"
#include "rules_engine.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>

using namespace backtalk;
using nlohmann::json;

namespace {

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t start_ms = 1714521600000;  // 2024-05-01T00:00:00Z

const std::vector<std::string> emergency_messages{
    "my lower back has been playing up since I moved a sofa on sunday. any tips?",
    "no",
    "actually something else. since last night it feels kind of numb down there when I wipe, is that related?",
};

using test::make_engine;

const ChannelInfo websocket{"websocket", ""};

// A service with a hand-driven clock and ids s1, s2, ...
struct Bench {
    std::atomic<std::int64_t> now{start_ms};
    std::atomic<int> ids{0};
    ConversationOptions options;

    Bench() { options.idle_expiry = std::chrono::hours(1); }

    ConversationService service(store::Store* log) {
        return ConversationService(make_engine(), log, options, [this] { return now.load(); },
                                   [this] {
                                       // Not "s" + to_string(...): GCC 12 -O3 -Wrestrict (bug 105329).
                                       std::string id(1, 's');
                                       return id += std::to_string(++ids);
                                   });
    }
};

const SessionOpened* opened(const std::vector<OutObject>& out) {
    return out.empty() ? nullptr : std::get_if<SessionOpened>(&out.front());
}

std::vector<Reply> replies(const std::vector<OutObject>& out) {
    std::vector<Reply> result;
    for (const auto& object : out) {
        if (const auto* reply = std::get_if<Reply>(&object)) result.push_back(*reply);
    }
    return result;
}

const protocol::Error* error(const std::vector<OutObject>& out) {
    return out.size() == 1 ? std::get_if<protocol::Error>(&out.front()) : nullptr;
}

std::vector<OutObject> say(ConversationService& service, std::string& session, const std::string& text) {
    return service.handle(session, protocol::Message{text}, websocket);
}

std::vector<std::string> texts(const std::vector<Reply>& list) {
    std::vector<std::string> result;
    for (const auto& reply : list) result.push_back(reply.text);
    return result;
}

json transcript(store::Store& log, const std::string& id) {
    REQUIRE(log.flush());
    return log.review()->transcript(id).value_or(json());
}

}  // namespace

TEST_CASE("start opens a new conversation: the session object, then the greeting") {
    Bench bench;
    auto service = bench.service(nullptr);
    std::string session;
    const auto out = service.handle(session, protocol::Start{}, websocket);
    REQUIRE(opened(out) != nullptr);
    CHECK(opened(out)->session == "s1");
    CHECK_FALSE(opened(out)->resumed);
    CHECK(session == "s1");
    const auto greeting = replies(out);
    REQUIRE_FALSE(greeting.empty());
    CHECK(greeting.front().state == "greeting");
    CHECK(texts(greeting) == texts(make_engine()->begin(start_ms).replies));
}

TEST_CASE("to_json_objects marks the end of the turn on the last object only") {
    Bench bench;
    auto service = bench.service(nullptr);
    std::string session;
    const auto lines = to_json_objects(service.handle(session, protocol::Start{}, websocket));
    REQUIRE(lines.size() >= 2);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        CHECK(json::parse(lines[i]).at("end_of_turn") == (i + 1 == lines.size()));
    }
    CHECK(json::parse(lines.front()) == json{{"type", "session"}, {"session", "s1"}, {"resumed", false},
                                            {"end_of_turn", false}});
}

TEST_CASE("a client that skips start gets the session object, then the answer to its first message") {
    Bench bench;
    auto service = bench.service(nullptr);
    std::string session;
    const auto out = say(service, session, emergency_messages[0]);
    REQUIRE(opened(out) != nullptr);
    CHECK_FALSE(opened(out)->resumed);
    CHECK(session == opened(out)->session);
    const auto engine = make_engine();
    const auto expected =
        engine->step(engine->begin(start_ms).session, protocol::Message{emergency_messages[0]}, start_ms);
    CHECK(texts(replies(out)) == texts(expected.replies));
}

TEST_CASE("a known id resumes after a restart with resumed:true and the pending question") {
    test::TempDir dir;
    Bench bench;
    std::string session;
    std::string asked;
    {
        store::Store log(test::quiet_options(dir));
        auto service = bench.service(&log);
        service.handle(session, protocol::Start{}, websocket);
        const auto out = say(service, session, emergency_messages[0]);
        asked = replies(out).back().asking;
        REQUIRE_FALSE(asked.empty());
    }
    // A new process: a new store on the same file and a new service.
    store::Store log(test::quiet_options(dir));
    auto service = bench.service(&log);
    bench.now += 10 * minute_ms;
    std::string reconnected;
    const auto out = service.handle(reconnected, protocol::Start{session, "en"}, websocket);
    REQUIRE(opened(out) != nullptr);
    CHECK(opened(out)->session == session);
    CHECK(opened(out)->resumed);
    CHECK(reconnected == session);
    const auto resumed = replies(out);
    REQUIRE_FALSE(resumed.empty());
    CHECK(resumed.back().asking == asked);
}

TEST_CASE("a conversation that cannot be read back right now is unavailable, not started over") {
    test::TempDir dir;
    Bench bench;
    std::string session;
    {
        store::Store log(test::quiet_options(dir));
        auto service = bench.service(&log);
        service.handle(session, protocol::Start{}, websocket);
        say(service, session, emergency_messages[0]);
    }
    store::Store log(test::quiet_options(dir));
    auto service = bench.service(&log);
    // The file is out of reach (the writer keeps the connection it opened,
    // so only reads fail): the conversation is neither found nor lost.
    const auto path = dir / "log.db";
    const auto moved = dir / "away.db";
    std::filesystem::rename(path, moved);
    const auto only_error = [](const std::vector<OutObject>& out) {
        REQUIRE(out.size() == 1);
        REQUIRE(std::holds_alternative<protocol::Error>(out[0]));
        return std::get<protocol::Error>(out[0]).code;
    };
    std::string reconnected;
    CHECK(only_error(service.handle(reconnected, protocol::Start{session, "en"}, websocket)) == "unavailable");
    CHECK(reconnected.empty());
    // REST and Telegram name the conversation with every message.
    std::string named = session;
    CHECK(only_error(service.handle(named, protocol::Message{"no"}, websocket)) == "unavailable");
    CHECK(named == session);
    CHECK(service.live_conversations() == 0);
    CHECK(only_error(service.handle_json(named, "{not json", websocket)) == "bad_json");

    std::filesystem::rename(moved, path);
    const auto out = service.handle(reconnected, protocol::Start{session, "en"}, websocket);
    REQUIRE(opened(out) != nullptr);
    CHECK(opened(out)->session == session);
    CHECK(opened(out)->resumed);
}

TEST_CASE("an unknown or expired id opens a new conversation with resumed:false") {
    Bench bench;
    auto service = bench.service(nullptr);
    std::string session;
    const auto unknown = service.handle(session, protocol::Start{"no-such-id", "en"}, websocket);
    REQUIRE(opened(unknown) != nullptr);
    CHECK(opened(unknown)->session == "s1");
    CHECK_FALSE(opened(unknown)->resumed);

    say(service, session, emergency_messages[0]);
    bench.now += 61 * minute_ms;  // past the one-hour expiry
    std::string again;
    const auto expired = service.handle(again, protocol::Start{"s1", "en"}, websocket);
    REQUIRE(opened(expired) != nullptr);
    CHECK(opened(expired)->session == "s2");
    CHECK_FALSE(opened(expired)->resumed);
    CHECK(replies(expired).front().state == "greeting");
}

TEST_CASE("a message in an expired conversation opens a new one first") {
    Bench bench;
    auto service = bench.service(nullptr);
    std::string session;
    service.handle(session, protocol::Start{}, websocket);
    bench.now += 2 * 60 * minute_ms;
    const auto out = say(service, session, emergency_messages[0]);
    REQUIRE(opened(out) != nullptr);
    CHECK(opened(out)->session == "s2");
    CHECK(session == "s2");
    CHECK_FALSE(replies(out).empty());
}

TEST_CASE("start over and stop go on in the same conversation: the next answer is not lost to a new one") {
    Bench bench;
    auto service = bench.service(nullptr);
    std::string session;
    service.handle(session, protocol::Start{}, websocket);
    for (const char* ending : {"start over", "stop"}) {
        CAPTURE(ending);
        say(service, session, emergency_messages[0]);
        bench.now += minute_ms;
        say(service, session, ending);
        bench.now += minute_ms;
        auto out = say(service, session, "my lower back hurts since yesterday");
        CHECK(opened(out) == nullptr);
        REQUIRE_FALSE(replies(out).empty());
        CHECK(replies(out).back().asking == "emergency_signs");
        out = service.handle(session, protocol::Choice{"none"}, websocket);
        CHECK(opened(out) == nullptr);
        CHECK(error(out) == nullptr);
        CHECK(replies(out).back().asking == "serious_signs");
        CHECK(session == "s1");
    }
}

TEST_CASE("expired conversations leave memory, live ones stay") {
    Bench bench;
    auto service = bench.service(nullptr);
    std::string first;
    std::string second;
    service.handle(first, protocol::Start{}, websocket);
    bench.now += 50 * minute_ms;
    service.handle(second, protocol::Start{}, websocket);
    CHECK(service.live_conversations() == 2);
    bench.now += 20 * minute_ms;  // the first is 70 minutes idle, the second 20
    std::string third;
    service.handle(third, protocol::Start{}, websocket);
    CHECK(service.live_conversations() == 2);
    const auto out = service.handle(second, protocol::Start{second, "en"}, websocket);
    CHECK(opened(out)->resumed);
}

TEST_CASE("with a store, idle conversations leave memory and go on from the store where they stood") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Bench bench;
    bench.options.memory_idle = std::chrono::minutes(10);
    auto service = bench.service(&log);
    std::string idle;
    std::string busy;
    service.handle(idle, protocol::Start{}, websocket);
    const std::string asked = replies(say(service, idle, emergency_messages[0])).back().asking;
    REQUIRE_FALSE(asked.empty());
    bench.now += 11 * minute_ms;  // past memory_idle, well within the one-hour expiry
    service.handle(busy, protocol::Start{}, websocket);
    CHECK(service.live_conversations() == 1);

    // The next message carries on from the question it was asked.
    const auto out = say(service, idle, "no");
    CHECK(opened(out) == nullptr);
    CHECK(idle == "s1");
    CHECK(service.live_conversations() == 2);
    REQUIRE(log.flush());
    const json messages = transcript(log, "s1")["messages"];
    const json& answer = messages[messages.size() - 1 - replies(out).size()];
    CHECK(answer["text"] == "no");
    CHECK(answer["asking"] == asked);
}

TEST_CASE("without a store, memory keeps conversations until they expire") {
    Bench bench;
    bench.options.memory_idle = std::chrono::minutes(10);
    auto service = bench.service(nullptr);
    std::string first;
    std::string second;
    service.handle(first, protocol::Start{}, websocket);
    bench.now += 30 * minute_ms;
    service.handle(second, protocol::Start{}, websocket);
    CHECK(service.live_conversations() == 2);
}

TEST_CASE("a choice that was not offered is bad_choice and changes nothing") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Bench bench;
    auto service = bench.service(&log);
    std::string session;
    service.handle(session, protocol::Start{}, websocket);
    const auto question = say(service, session, emergency_messages[0]);
    REQUIRE(log.flush());
    const std::string before = session_snapshot(*log.load_session(session));

    const auto out = service.handle(session, protocol::Choice{"stretches"}, websocket);
    REQUIRE(error(out) != nullptr);
    CHECK(error(out)->code == "bad_choice");
    CHECK(session_snapshot(*log.load_session(session)) == before);

    // The conversation goes on exactly where it was.
    const auto answer = service.handle(session, protocol::Choice{"none"}, websocket);
    CHECK(opened(answer) == nullptr);
    CHECK_FALSE(replies(answer).empty());
    const json logged = transcript(log, session);
    const json& last_in = [&]() -> const json& {
        for (auto it = logged.at("messages").rbegin(); it != logged.at("messages").rend(); ++it) {
            if ((*it).at("code") == "bad_choice") return *it;
        }
        throw std::runtime_error("no bad_choice logged");
    }();
    CHECK(last_in.at("direction") == "out");
    CHECK(last_in.at("asking") == replies(question).back().asking);
}

TEST_CASE("offered() is what the latest reply offered, also once read back from the store") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Bench bench;
    std::string session;
    {
        auto service = bench.service(&log);
        CHECK(service.offered("no-such-session").quick_replies.empty());
        service.handle(session, protocol::Start{}, websocket);
        const auto question = replies(say(service, session, emergency_messages[0])).back();
        REQUIRE_FALSE(question.quick_replies.empty());
        const OfferedChoices offered = service.offered(session);
        CHECK(offered.asking == question.asking);
        REQUIRE(offered.quick_replies.size() == question.quick_replies.size());
        CHECK(offered.quick_replies.front().id == question.quick_replies.front().id);
        CHECK(offered.quick_replies.front().title == question.quick_replies.front().title);
    }
    REQUIRE(log.flush());
    auto restarted = bench.service(&log);
    CHECK_FALSE(restarted.offered(session).quick_replies.empty());
    restarted.forget(session);
    REQUIRE(log.delete_conversation(session));
    CHECK(restarted.offered(session).quick_replies.empty());
}

TEST_CASE("a client object that cannot be parsed gets an error and the conversation goes on") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Bench bench;
    auto service = bench.service(&log);
    std::string session;
    service.handle(session, protocol::Start{}, websocket);
    const std::string id = session;

    auto out = service.handle_json(session, "{not json", websocket);
    REQUIRE(error(out) != nullptr);
    CHECK(error(out)->code == "bad_json");
    CHECK(session == id);
    out = service.handle_json(session, R"({"type":"message","text":"   "})", websocket);
    REQUIRE(error(out) != nullptr);
    CHECK(error(out)->code == "empty");

    out = service.handle_json(session, json{{"type", "message"}, {"text", emergency_messages[0]}}.dump(), websocket);
    CHECK(opened(out) == nullptr);
    CHECK(replies(out).front().state == "screening");
    CHECK(session == id);

    const json logged = transcript(log, id);
    std::vector<std::string> kinds;
    for (const auto& message : logged.at("messages")) kinds.push_back(message.at("kind"));
    CHECK(std::count(kinds.begin(), kinds.end(), "invalid") == 2);
    CHECK(std::count(kinds.begin(), kinds.end(), "error") == 2);

    // Without a conversation an unparsable object opens none.
    std::string none;
    CHECK(error(service.handle_json(none, "[]", websocket)) != nullptr);
    CHECK(none.empty());
}

TEST_CASE("a client object a channel built goes straight to the turn, the error met building one is answered and logged") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Bench bench;
    auto service = bench.service(&log);
    std::string session;
    service.handle(session, protocol::Start{}, websocket);
    const std::string id = session;

    // Checked as JSON would be: trimmed, and an empty message refused.
    auto out = service.handle_checked(session, protocol::message_object("   "), websocket, "   ");
    REQUIRE(error(out) != nullptr);
    CHECK(error(out)->code == "empty");
    out = service.handle_checked(session, protocol::choice_object(""), websocket, "");
    REQUIRE(error(out) != nullptr);
    CHECK(error(out)->code == "bad_choice");
    out = service.handle_checked(session, protocol::message_object("  " + emergency_messages[0] + "\n"), websocket,
                                 emergency_messages[0]);
    CHECK(opened(out) == nullptr);
    CHECK(replies(out).front().state == "screening");
    CHECK(session == id);

    const json logged = transcript(log, id);
    std::vector<std::string> kinds;
    std::string said;
    for (const auto& message : logged.at("messages")) {
        kinds.push_back(message.at("kind"));
        if (message.at("kind") == "message") said = message.at("text");
    }
    CHECK(std::count(kinds.begin(), kinds.end(), "invalid") == 2);
    CHECK(said == emergency_messages[0]);

    // Without a conversation a refused object opens none.
    std::string none;
    CHECK(error(service.handle_checked(none, protocol::message_object(""), websocket, "")) != nullptr);
    CHECK(none.empty());
}

TEST_CASE("every object in and out is logged in order with what the engine understood") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Bench bench;
    auto service = bench.service(&log);
    std::string session;
    const ChannelInfo channel{"websocket", log.hash_user("websocket", "visitor-1")};

    std::string expected_directions;
    const auto record = [&](const std::vector<OutObject>& out) {
        expected_directions += 'i';
        expected_directions += std::string(out.size(), 'o');
    };
    record(service.handle(session, protocol::Start{}, channel));
    std::optional<Triage> outcome;
    for (const auto& text : emergency_messages) {
        bench.now += minute_ms;
        const auto out = service.handle(session, protocol::Message{text}, channel);
        record(out);
        for (const auto& reply : replies(out)) {
            if (reply.triage) outcome = reply.triage;
        }
    }
    REQUIRE(outcome.has_value());
    CHECK(outcome->level == Level::emergency);

    const json logged = transcript(log, session);
    const json& conversation = logged.at("conversation");
    CHECK(conversation.at("channel") == "websocket");
    CHECK(conversation.at("user_hash") == channel.user_hash);
    CHECK(conversation.at("turns") == 3);
    CHECK(conversation.at("outcome").at("level") == "emergency");
    CHECK(conversation.at("started_ms") == start_ms);
    CHECK(conversation.at("last_activity_ms") == start_ms + 3 * minute_ms);

    const json& messages = logged.at("messages");
    std::string directions;
    for (const auto& message : messages) directions += message.at("direction") == "in" ? 'i' : 'o';
    CHECK(directions == expected_directions);
    std::size_t typed = 0;
    for (const auto& message : messages) {
        CHECK(message.at("channel") == "websocket");
        CHECK_FALSE(message.at("rules_version").get<std::string>().empty());
        CHECK(message.at("processing_us").get<std::int64_t>() >= 0);
        if (message.at("kind") == "message") {
            CHECK(message.at("text") == emergency_messages[typed]);
            CHECK(message.at("understood") == true);
            CHECK_FALSE(message.at("intents").empty());
            ++typed;
        }
    }
    CHECK(typed == emergency_messages.size());
    CHECK(messages.at(0).at("kind") == "start");
    CHECK(messages.at(1).at("kind") == "session");
    CHECK(messages.back().at("triage").at("level") == "emergency");
    // The answer to the first question is logged with the question it answered.
    const auto answer = std::find_if(messages.begin(), messages.end(), [](const json& m) { return m.at("text") == "no"; });
    REQUIRE(answer != messages.end());
    CHECK(answer->at("asking") == (answer - 1)->at("asking"));
}

TEST_CASE("personal details typed in a conversation are redacted in the log") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Bench bench;
    auto service = bench.service(&log);
    std::string session;
    say(service, session, "my back hurts, mail me at jo@example.org or call 07700 900123");
    const json logged = transcript(log, session);
    CHECK(logged.at("messages").at(0).at("text") == "my back hurts, mail me at [email] or call [phone]");
}

TEST_CASE("two threads on one conversation never interleave their turns") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Bench bench;
    auto service = bench.service(&log);
    std::string session;
    service.handle(session, protocol::Start{}, websocket);
    const std::string id = session;
    const auto talk = [&] {
        std::string mine = id;
        for (int i = 0; i < 15; ++i) say(service, mine, "my lower back hurts");
    };
    std::thread first(talk);
    std::thread second(talk);
    first.join();
    second.join();

    const json logged = transcript(log, id);
    const json& messages = logged.at("messages");
    CHECK(messages.size() > 60);
    // Each inbound row is followed by its own replies before the next one.
    for (std::size_t i = 0; i + 1 < messages.size(); ++i) {
        if (messages[i].at("direction") == "in") CHECK(messages[i + 1].at("direction") == "out");
    }
    CHECK(logged.at("conversation").at("turns") == 30);
}

TEST_CASE("a read-only database keeps the service answering and reports degraded") {
    test::TempDir dir;
    { store::Store create(test::quiet_options(dir)); }
    const auto db_path = dir / "log.db";
    if (!test::make_read_only(db_path)) {
        test::make_writable(db_path);
        MESSAGE("skipped: this system cannot make a file read-only for this user");
        return;
    }
    auto options = test::quiet_options(dir);
    options.close_timeout = std::chrono::milliseconds(100);
    options.max_backoff = std::chrono::milliseconds(10);
    std::optional<store::Store> log;
    try {
        log.emplace(options);
    } catch (...) {
        test::make_writable(db_path);
        throw;
    }
    Bench bench;
    auto service = bench.service(&*log);
    std::string session;
    const auto greeting = service.handle(session, protocol::Start{}, websocket);
    const auto answer = say(service, session, emergency_messages[0]);
    const auto next = service.handle(session, protocol::Choice{"none"}, websocket);
    const bool degraded = test::eventually([&] { return !log->health().ok; });
    const std::string reason = log->health().reason;
    const store::StoreCounters counts = log->close();
    test::make_writable(db_path);

    CHECK(opened(greeting) != nullptr);
    CHECK(replies(answer).front().state == "screening");
    CHECK_FALSE(replies(next).empty());
    CHECK(degraded);
    CHECK(reason.find("cannot write the conversation log") != std::string::npos);
    CHECK(counts.dropped > 0);
    CHECK(counts.rows_written == 0);
}

TEST_CASE("a forgotten conversation cannot go on") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Bench bench;
    auto service = bench.service(&log);
    std::string session;
    service.handle(session, protocol::Start{}, websocket);
    const std::string id = session;
    CHECK(service.forget(id));
    CHECK_FALSE(service.forget(id));
    REQUIRE(log.delete_conversation(id));
    const auto out = service.handle(session, protocol::Start{id, "en"}, websocket);
    REQUIRE(opened(out) != nullptr);
    CHECK_FALSE(opened(out)->resumed);
    CHECK(opened(out)->session != id);
}

TEST_CASE("a new engine takes over mid-conversation") {
    Bench bench;
    auto service = bench.service(nullptr);
    std::string session;
    service.handle(session, protocol::Start{}, websocket);
    say(service, session, emergency_messages[0]);
    const auto replacement = make_engine();
    service.replace_engine(replacement);
    CHECK(service.engine() == replacement);
    const auto out = service.handle(session, protocol::Choice{"none"}, websocket);
    CHECK(opened(out) == nullptr);
    CHECK(replies(out).front().state == "screening");
}

TEST_CASE("session ids are 32 hex digits: the start, then 80 random bits") {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        const std::string id = random_session_id();
        CHECK(id.size() == 32);
        CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
        seen.insert(id);
    }
    CHECK(seen.size() == 100);
    // Ids of one millisecond share the start and differ in the random part.
    const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795508633436));
    const std::string first = session_id_at(now);
    const std::string second = session_id_at(now);
    CHECK(first.substr(0, 12) == "01a20ca77f5c");
    CHECK(second.substr(0, 12) == "01a20ca77f5c");
    CHECK(first.substr(12) != second.substr(12));
    // Later starts sort after earlier ones, as strings.
    CHECK(session_id_at(now + std::chrono::milliseconds(1)) > first);
    CHECK(session_id_at(now + std::chrono::hours(24 * 365 * 100)) > first);
}
