// Two backtalk instances on one PostgreSQL database: two conversation
// services, each with its own store, as two servers behind a load balancer.
// A conversation whose turns alternate between them is answered exactly as
// by one instance; the same conversation hit by both at once loses and
// doubles no turn (the session's versioned write, issue 18).
#include "adapters/core/conversations.hpp"
#include "postgres_server.hpp"
#include "rules_engine.hpp"
#include "store/postgresql/pg_connection.hpp"
#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <thread>

using namespace backtalk;

namespace {

constexpr std::int64_t start_ms = 1714521600000;  // 2024-05-01T00:00:00Z

const ChannelInfo websocket{"websocket", ""};

std::string fresh_database(const std::string& name) {
    store::pg::PgConnection admin(test::shared_postgres_server().url());
    admin.exec("DROP DATABASE IF EXISTS " + name);
    admin.exec("CREATE DATABASE " + name);
    return test::shared_postgres_server().url(name);
}

// One instance: its store on the shared database and its service; ids from
// `prefix` (a, b) so that instances never pick the same one.
struct Instance {
    store::Store log;
    ConversationService service;

    Instance(const test::TempDir& dir, const std::string& url, const std::string& prefix,
             std::atomic<std::int64_t>& clock)
        : log([&] {
              store::StoreOptions options = test::quiet_options(dir);
              options.postgresql_url = url;
              return options;
          }()),
          service(test::make_engine(), &log, options(), [&clock] { return clock.load(); },
                  [prefix, next = std::make_shared<std::atomic<int>>(0)] { return prefix + std::to_string(++*next); }) {}

    static ConversationOptions options() {
        ConversationOptions options;
        options.idle_expiry = std::chrono::hours(1);
        return options;
    }
};

// The texts of a turn's replies and errors, in order.
std::vector<std::string> texts(const std::vector<OutObject>& out) {
    std::vector<std::string> result;
    for (const auto& object : out) {
        if (const auto* reply = std::get_if<Reply>(&object)) result.push_back(reply->text);
        if (const auto* error = std::get_if<protocol::Error>(&object)) result.push_back("error: " + error->code);
    }
    return result;
}

const std::vector<std::string> conversation{
    "my lower back has been playing up since I moved a sofa on sunday. any tips?",
    "no",
    "it started three days ago",
    "no fever",
    "actually something else. since last night it feels kind of numb down there when I wipe, is that related?",
};

}  // namespace

TEST_CASE("two instances: a conversation whose turns alternate between them is answered as by one") {
    test::TempDir dir;
    std::atomic<std::int64_t> clock{start_ms};

    // One instance alone (no store): the answers expected.
    ConversationService alone(test::make_engine(), nullptr, Instance::options(), [&clock] { return clock.load(); },
                              [] { return std::string("solo"); });
    std::string solo;
    std::vector<std::vector<std::string>> expected{texts(alone.handle(solo, protocol::Start{}, websocket))};
    for (const auto& text : conversation) expected.push_back(texts(alone.handle(solo, protocol::Message{text}, websocket)));

    const std::string url = fresh_database("alternating");
    Instance a(dir, url, "a", clock);
    Instance b(dir, url, "b", clock);
    std::string session;
    std::vector<std::vector<std::string>> answered{texts(a.service.handle(session, protocol::Start{}, websocket))};
    REQUIRE(session == "a1");
    for (std::size_t i = 0; i < conversation.size(); ++i) {
        Instance& instance = i % 2 == 0 ? b : a;
        std::string same = session;
        answered.push_back(texts(instance.service.handle(same, protocol::Message{conversation[i]}, websocket)));
        CHECK(same == session);  // continued, not started over
    }
    CHECK(answered == expected);

    REQUIRE(a.log.flush());
    REQUIRE(b.log.flush());
    const auto transcript = a.log.review()->transcript(session);
    REQUIRE(transcript);
    std::vector<std::string> inbound;
    for (const auto& message : (*transcript)["messages"]) {
        if (message["direction"] == "in") inbound.push_back(message["text"]);
    }
    CHECK(inbound == std::vector<std::string>{"", conversation[0], conversation[1], conversation[2], conversation[3],
                                              conversation[4]});
    // Inserted by the start, raised by each of the five turns.
    store::pg::PgConnection db(url);
    CHECK(db.exec("SELECT version FROM sessions WHERE id = $1", {session}).text(0, 0) == "6");
}

TEST_CASE("two instances: one conversation hit by both at once loses and doubles no turn") {
    test::TempDir dir;
    std::atomic<std::int64_t> clock{start_ms};
    const std::string url = fresh_database("concurrent");
    Instance a(dir, url, "a", clock);
    Instance b(dir, url, "b", clock);
    std::string session;
    a.service.handle(session, protocol::Start{}, websocket);
    REQUIRE_FALSE(session.empty());
    const int turns_after_start = a.log.load_versioned_session(session)->session.turns;

    // A turn that keeps losing its write is refused as "unavailable",
    // having changed nothing; the client sends it again, as widgets do.
    constexpr int per_instance = 25;
    std::atomic<int> other_errors{0};
    std::atomic<int> resent{0};
    const auto hammer = [&](Instance& instance, const std::string& name) {
        for (int i = 0; i < per_instance; ++i) {
            for (;;) {
                std::string same = session;
                const auto out =
                    instance.service.handle(same, protocol::Message{name + " " + std::to_string(i)}, websocket);
                const auto answer = texts(out);
                if (answer == std::vector<std::string>{"error: unavailable"}) {
                    ++resent;
                    continue;
                }
                for (const auto& text : answer) {
                    if (text.rfind("error: ", 0) == 0) ++other_errors;
                }
                break;
            }
        }
    };
    std::thread first([&] { hammer(a, "from a"); });
    std::thread second([&] { hammer(b, "from b"); });
    first.join();
    second.join();
    MESSAGE("turns sent again after losing their write too often: " << resent.load());
    CHECK(other_errors == 0);

    const auto stored = a.log.load_versioned_session(session);
    REQUIRE(stored);
    CHECK(stored->session.turns == turns_after_start + 2 * per_instance);
    REQUIRE(a.log.flush());
    REQUIRE(b.log.flush());
    std::map<std::string, int> logged;
    const auto transcript = a.log.review()->transcript(session);
    REQUIRE(transcript);
    for (const auto& message : (*transcript)["messages"]) {
        if (message["direction"] == "in" && message["kind"] == "message") ++logged[message["text"]];
    }
    CHECK(logged.size() == 2 * per_instance);
    for (const auto& [text, count] : logged) {
        CAPTURE(text);
        CHECK(count == 1);
    }
}

TEST_CASE("two instances: choices alternating between them are checked against the session as stored") {
    test::TempDir dir;
    std::atomic<std::int64_t> clock{start_ms};
    const std::string url = fresh_database("alternating_choices");
    Instance a(dir, url, "a", clock);
    Instance b(dir, url, "b", clock);
    std::string session;
    a.service.handle(session, protocol::Start{}, websocket);
    auto out = a.service.handle(session, protocol::Message{conversation[0]}, websocket);
    // Each instance keeps the session in memory after its turn; the other
    // moves it on, so every turn here runs on an instance whose copy is old.
    int choices = 0;
    for (int turn = 0; turn < 8; ++turn) {
        REQUIRE_FALSE(out.empty());
        const auto* reply = std::get_if<Reply>(&out.back());
        REQUIRE_MESSAGE(reply, texts(out).back());
        if (reply->quick_replies.empty()) break;
        Instance& instance = turn % 2 == 0 ? b : a;
        CHECK(instance.service.offered(session).asking == reply->asking);  // the buttons of the newest reply
        std::string same = session;
        out = instance.service.handle(same, protocol::Choice{reply->quick_replies.front().id, reply->asking}, websocket);
        CHECK(same == session);
        for (const auto& text : texts(out)) CHECK(text.rfind("error: ", 0) != 0);
        ++choices;
    }
    CHECK(choices >= 2);
}
