// handle_json_async: a network thread never reads the store. A conversation
// in memory is answered at once on the caller's thread; one that must be
// read back is answered from the store's reader thread, in order.
#include "adapters/core/conversations.hpp"
#include "bot/rules.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

using namespace backtalk;

namespace {

constexpr std::int64_t minute_ms = 60'000;

std::shared_ptr<const Engine> make_engine() {
    RuleLoad load = load_rules(std::filesystem::path(BACKTALK_SOURCE_DIR) / "rules" / "en");
    if (!load.errors.empty()) throw std::runtime_error("rules/en does not load: " + load.errors[0].to_string());
    return std::make_shared<const Engine>(load.rules, EngineOptions{"112"});
}

// What one asynchronous turn answered, and on which thread.
struct Answered {
    std::mutex mutex;
    std::condition_variable changed;
    struct Turn {
        std::string session;
        std::vector<OutObject> objects;
        std::thread::id thread;
    };
    std::vector<Turn> turns;

    ConversationService::TurnDone done() {
        return [this](std::string session, std::vector<OutObject> objects) {
            std::lock_guard lock(mutex);
            turns.push_back({std::move(session), std::move(objects), std::this_thread::get_id()});
            changed.notify_all();
        };
    }
    bool wait_for(std::size_t count) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, std::chrono::seconds(10), [&] { return turns.size() >= count; });
    }
};

std::string message(const std::string& text) { return R"({"type":"message","text":")" + text + "\"}"; }

}  // namespace

TEST_CASE("a turn in memory is answered at once on the caller's thread") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    std::atomic<std::int64_t> now{1714521600000};
    ConversationService service(make_engine(), &log, {}, [&] { return now.load(); }, [] { return std::string("s1"); });
    Answered answered;
    service.handle_json_async("", R"({"type":"start"})", {"websocket", ""}, "", answered.done());
    REQUIRE(answered.turns.size() == 1);  // before handle_json_async returned
    CHECK(answered.turns[0].session == "s1");
    CHECK(answered.turns[0].thread == std::this_thread::get_id());
    service.handle_json_async("s1", message("my back hurts"), {"websocket", ""}, "", answered.done());
    REQUIRE(answered.turns.size() == 2);
    CHECK(answered.turns[1].thread == std::this_thread::get_id());
}

TEST_CASE("a conversation read back from the store is answered from the reader thread, its turns in order") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    std::atomic<std::int64_t> now{1714521600000};
    std::atomic<int> ids{0};
    ConversationOptions options;
    options.idle_expiry = std::chrono::hours(1);
    options.memory_idle = std::chrono::minutes(10);
    ConversationService service(make_engine(), &log, options, [&] { return now.load(); },
                                [&] { return "s" + std::to_string(++ids); });
    std::string idle;
    service.handle(idle, protocol::Start{}, {"websocket", ""});
    service.handle(idle, protocol::Message{"my lower back hurts since I lifted a box"}, {"websocket", ""});
    REQUIRE(log.flush());
    now += 11 * minute_ms;  // past memory_idle: the next turn sweeps it out of memory
    std::string other;
    service.handle(other, protocol::Start{}, {"websocket", ""});
    REQUIRE(service.live_conversations() == 1);

    // Three messages while the reader thread is busy: the first is to read
    // the conversation back there, the others queue behind it, none runs here.
    std::promise<void> release_reader;
    REQUIRE(log.post_read([held = release_reader.get_future().share()] { held.wait(); }));
    Answered answered;
    const std::vector<std::string> sent{"no", "no", "no"};
    for (const auto& text : sent) service.handle_json_async(idle, message(text), {"websocket", ""}, "", answered.done());
    CHECK(answered.turns.empty());
    release_reader.set_value();
    REQUIRE(answered.wait_for(sent.size()));
    for (const auto& turn : answered.turns) {
        CHECK(turn.thread != std::this_thread::get_id());
        CHECK(turn.session == idle);
        CHECK_FALSE(turn.objects.empty());
    }
    REQUIRE(log.flush());
    const auto transcript = log.review()->transcript(idle);
    REQUIRE(transcript);
    std::vector<std::string> inbound;
    for (const auto& row : (*transcript)["messages"]) {
        if (row["direction"] == "in" && row["kind"] == "message") inbound.push_back(row["text"]);
    }
    CHECK(inbound == std::vector<std::string>{"my lower back hurts since I lifted a box", "no", "no", "no"});
    // Once read back, the conversation is in memory: the next turn is answered at once.
    const std::size_t before = answered.turns.size();
    service.handle_json_async(idle, message("no"), {"websocket", ""}, "", answered.done());
    REQUIRE(answered.turns.size() == before + 1);
    CHECK(answered.turns.back().thread == std::this_thread::get_id());
}

TEST_CASE("a closed store answers unavailable instead of reading on the caller's thread") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    std::atomic<std::int64_t> now{1714521600000};
    ConversationService service(make_engine(), &log, {}, [&] { return now.load(); }, [] { return std::string("s1"); });
    log.close();
    Answered answered;
    service.handle_json_async("s-unknown", message("hello"), {"websocket", ""}, "", answered.done());
    REQUIRE(answered.turns.size() == 1);
    CHECK(answered.turns[0].session == "s-unknown");
    REQUIRE(answered.turns[0].objects.size() == 1);
    const auto* error = std::get_if<protocol::Error>(&answered.turns[0].objects[0]);
    REQUIRE(error);
    CHECK(error->code == "unavailable");
}

TEST_CASE("a conversation found in memory stays there for its turn, even when the sweep falls due") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    std::atomic<std::int64_t> now{1714521600000};
    ConversationOptions options;
    options.idle_expiry = std::chrono::hours(1);
    options.memory_idle = std::chrono::minutes(10);
    ConversationService service(make_engine(), &log, options, [&] { return now.load(); },
                                [] { return std::string("s1"); });
    std::string idle;
    service.handle(idle, protocol::Start{}, {"websocket", ""});
    now += 11 * minute_ms;  // idle past memory_idle; no sweep has run since
    Answered answered;
    service.handle_json_async(idle, message("my back hurts"), {"websocket", ""}, "", answered.done());
    REQUIRE(answered.turns.size() == 1);  // answered at once: it was in memory
    CHECK(answered.turns[0].thread == std::this_thread::get_id());
    CHECK(answered.turns[0].session == idle);
    CHECK(service.live_conversations() == 1);
}

TEST_CASE("a service waits, when it goes, for its turns still queued on the store's reader thread") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    std::atomic<std::int64_t> now{1714521600000};
    auto service = std::make_unique<ConversationService>(make_engine(), &log, ConversationOptions{},
                                                         [&] { return now.load(); }, [] { return std::string("s1"); });
    std::promise<void> release_reader;
    REQUIRE(log.post_read([held = release_reader.get_future().share()] { held.wait(); }));
    Answered answered;
    // Not in memory: read back on the reader thread, behind the held job.
    service->handle_json_async("s-stored", message("hello"), {"websocket", ""}, "", answered.done());
    std::atomic<bool> gone{false};
    std::thread destroyer([&] {
        service.reset();
        gone = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_FALSE(gone.load());
    release_reader.set_value();
    destroyer.join();
    CHECK(gone.load());
    // Its answer may still be on its way to the caller (a strand, here the
    // test), after the service went.
    CHECK(answered.wait_for(1));
}
