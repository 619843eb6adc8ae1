#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace backtalk;

namespace {

Session sample_session() {
    Session session;
    session.state = "screening";
    session.asking = "saddle_numbness";
    session.attempts = 1;
    session.slots["duration_days"] = 3.0;
    session.slots["trigger"] = std::string("lifting");
    session.asked = {"pain_location", "duration"};
    session.triage = Triage{Level::gp_soon, {"sciatica"}};
    session.offered = {{"yes", "Yes"}, {"no", "No"}};
    session.turns = 4;
    session.started_ms = 1000;
    session.last_active_ms = 5000;
    session.rules_version = "test-1";
    return session;
}

// "seq direction text" of each message of `conversation`, in order.
std::vector<std::string> message_rows(const std::filesystem::path& db_path, const std::string& conversation) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    SQLite::Statement query(db, "SELECT seq, direction, text FROM messages WHERE conversation = ? ORDER BY seq");
    query.bind(1, conversation);
    std::vector<std::string> rows;
    while (query.executeStep()) {
        rows.push_back(std::to_string(query.getColumn(0).getInt()) + " " + query.getColumn(1).getString() + " " +
                       query.getColumn(2).getString());
    }
    return rows;
}

// A turn of conversation `id`: what the person said, the bot's replies, and
// the session's new state.
store::TurnLog sample_turn(const std::string& id, const std::string& said, const std::vector<std::string>& replies) {
    store::TurnLog turn;
    turn.conversation = test::conversation(id, "websocket", 1000);
    turn.messages.push_back(test::inbound(id, 1000, said));
    for (const auto& reply : replies) turn.messages.push_back(test::outbound(id, 1000, reply));
    turn.session = std::make_shared<const Session>(sample_session());
    turn.now_ms = 1000;
    return turn;
}

}  // namespace

TEST_CASE("the writer commits in batches and close() flushes the rest") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    options.batch_rows = 10;
    options.batch_interval = std::chrono::hours(1);  // only size and close end a batch here
    store::Store log(options);
    for (int i = 0; i < 25; ++i) CHECK(log.log_message(test::inbound("c1", 1000 + i, "row " + std::to_string(i))));
    // Two full batches go without waiting for the interval.
    REQUIRE(test::eventually([&] { return log.counters().rows_written == 20; }));
    CHECK(log.counters().batches == 2);
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages") == 20);

    const store::StoreCounters final_counts = log.close();
    CHECK(final_counts.rows_written == 25);
    CHECK(final_counts.batches == 3);
    CHECK(final_counts.dropped == 0);
    CHECK(final_counts.queue_depth == 0);
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages") == 25);
    CHECK(test::query_int(dir / "log.db", "SELECT MAX(seq) FROM messages WHERE conversation = 'c1'") == 25);
}

TEST_CASE("a batch folds a conversation's records and snapshots into what one by one would leave") {
    // The same records committed one per batch and all in one batch leave
    // the same rows: the writer folds a batch's updates of one conversation
    // and writes only its newest session snapshot.
    const auto play = [](std::size_t batch_rows) {
        auto first = test::conversation("c1", "websocket", 100);
        first.user_hash = "hash-1";
        first.outcome = Triage{Level::urgent, {"kidney"}};
        first.turns = 1;
        first.state = "screening";
        first.asking = "fever";
        auto second = test::conversation("c1", "telegram", 200);  // channel and start of the first stay
        second.last_activity_ms = 900;
        second.locale = "de";  // the third, later, says "en"
        second.turns = 3;
        second.state = "context";
        auto third = test::conversation("c1", "rest", 300);
        third.last_activity_ms = 700;  // out of order: the highest stays
        third.turns = 2;
        third.state = "";  // null
        third.asking = "age";
        Session early = sample_session();
        Session late = sample_session();
        late.state = "outcome";
        late.turns = 9;

        test::TempDir dir;
        auto options = test::quiet_options(dir);
        options.batch_rows = batch_rows;
        options.batch_interval = std::chrono::hours(1);
        store::Store log(options);
        log.log_conversation(first);
        log.save_session("c1", early, 100);
        log.log_conversation(second);
        log.log_message(test::inbound("c1", 150, "between"));
        log.save_session("c1", late, 900);
        log.log_conversation(third);
        const auto counts = log.close();
        CHECK(counts.dropped == 0);
        CHECK(counts.batches == (batch_rows == 1 ? 6 : 1));
        const auto path = dir / "log.db";
        return test::query_text(path, "SELECT channel || '|' || COALESCE(user_hash, '-') || '|' || started || '|' || "
                                      "last_activity || '|' || locale || '|' || COALESCE(outcome_level, '-') || '|' || "
                                      "COALESCE(outcome_reasons, '-') || '|' || turns || '|' || COALESCE(state, '-') || "
                                      "'|' || COALESCE(asking, '-') FROM conversations WHERE id = 'c1'") +
               " / " + test::query_text(path, "SELECT snapshot FROM sessions WHERE id = 'c1'") + " / " +
               std::to_string(test::query_int(path, "SELECT COUNT(*) FROM messages"));
    };
    const std::string one_by_one = play(1);
    CAPTURE(one_by_one);
    CHECK(one_by_one.rfind("websocket|hash-1|100|900|en|urgent|[\"kidney\"]|3|-|age / ", 0) == 0);
    CHECK(one_by_one.find("\"state\":\"outcome\"") != std::string::npos);
    CHECK(play(1000) == one_by_one);
}

TEST_CASE("a partial batch is committed once the batch interval passes") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    options.batch_rows = 1000;
    options.batch_interval = std::chrono::milliseconds(20);
    store::Store log(options);
    log.log_message(test::inbound("c1", 1, "hello"));
    log.log_message(test::inbound("c1", 2, "again"));
    CHECK(test::eventually([&] { return log.counters().rows_written == 2; }));
    CHECK(log.counters().batches == 1);
}

TEST_CASE("flush() waits for everything queued before it") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    options.batch_interval = std::chrono::hours(1);
    store::Store log(options);
    for (int i = 0; i < 7; ++i) log.log_message(test::inbound("c1", i, "x"));
    CHECK(log.flush());
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages") == 7);
}

TEST_CASE("two batches or half the queue waiting is a backlog until the writer catches up") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    options.batch_rows = 100;
    options.queue_capacity = 100;
    options.batch_interval = std::chrono::hours(1);
    store::Store log(options);
    for (int i = 0; i < 49; ++i) log.log_message(test::inbound("c1", i, "x"));
    CHECK_FALSE(log.backlogged());
    log.log_message(test::inbound("c1", 49, "x"));
    CHECK(log.backlogged());
    REQUIRE(log.flush());
    CHECK_FALSE(log.backlogged());
    log.close();
    CHECK_FALSE(log.backlogged());
}

TEST_CASE("a turn logged in one call: its rows in order, the person's text scrubbed, the session saved") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    CHECK(log.log_turn(
        sample_turn("t1", "write to ana@example.org", {"Call 111 or 999 if it gets worse.", "Which side hurts?"})));
    REQUIRE(log.flush());
    CHECK(message_rows(dir / "log.db", "t1") == std::vector<std::string>{"1 in write to [email]", "2 out Call 111 or 999 if it gets worse.",
                                           "3 out Which side hurts?"});
    CHECK(test::query_int(dir / "log.db", "SELECT messages_in FROM conversations WHERE id = 't1'") == 1);
    CHECK(test::query_int(dir / "log.db", "SELECT messages_out FROM conversations WHERE id = 't1'") == 2);
    const auto restored = log.load_session("t1");
    REQUIRE(restored.has_value());
    CHECK(restored->asking == "saddle_numbness");
}

TEST_CASE("a turn that does not fit the queue keeps what fits and counts the rest as dropped") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    options.queue_capacity = 3;
    options.batch_rows = 3;
    options.batch_interval = std::chrono::hours(1);
    store::Store log(options);
    CHECK_FALSE(log.log_turn(sample_turn("t1", "my back hurts", {"Since when?", "Which side hurts?"})));
    const auto counts = log.close();
    CHECK(counts.dropped == 2);
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM conversations") == 1);
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages") == 2);
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM sessions") == 0);
}

TEST_CASE("sequence numbers continue per conversation across batches and restarts") {
    test::TempDir dir;
    {
        store::Store log(test::quiet_options(dir));
        log.log_message(test::inbound("a", 1, "a1"));
        log.log_message(test::inbound("b", 2, "b1"));
        log.log_message(test::outbound("a", 3, "a2"));
    }
    {
        store::Store log(test::quiet_options(dir));
        log.log_message(test::inbound("a", 4, "a3"));
    }
    CHECK(message_rows(dir / "log.db", "a") == std::vector<std::string>{"1 in a1", "2 out a2", "3 in a3"});
    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT seq FROM messages WHERE conversation = 'b'").getInt() == 1);
}

TEST_CASE("conversation records are upserted: first channel kept, activity and outcome move on") {
    test::TempDir dir;
    {
        store::Store log(test::quiet_options(dir));
        auto record = test::conversation("c1", "websocket", 1000);
        record.user_hash = "abc";
        log.log_conversation(record);
        record.channel = "rest";
        record.user_hash.clear();
        record.last_activity_ms = 9000;
        record.turns = 5;
        record.state = "outcome";
        record.outcome = Triage{Level::urgent, {"kidney", "spinal_infection"}};
        log.log_conversation(record);
    }
    SQLite::Database db(dir / "log.db", SQLite::OPEN_READONLY);
    SQLite::Statement row(db, "SELECT channel, user_hash, started, last_activity, turns, state, outcome_level, "
                              "outcome_reasons FROM conversations WHERE id = 'c1'");
    REQUIRE(row.executeStep());
    CHECK(row.getColumn(0).getString() == "websocket");
    CHECK(row.getColumn(1).getString() == "abc");
    CHECK(row.getColumn(2).getInt64() == 1000);
    CHECK(row.getColumn(3).getInt64() == 9000);
    CHECK(row.getColumn(4).getInt() == 5);
    CHECK(row.getColumn(5).getString() == "outcome");
    CHECK(row.getColumn(6).getString() == "urgent");
    CHECK(nlohmann::json::parse(row.getColumn(7).getString()) == nlohmann::json{"kidney", "spinal_infection"});
}

TEST_CASE("a session snapshot round-trips through the store, before and after commit and restart") {
    test::TempDir dir;
    const Session saved = sample_session();
    {
        auto options = test::quiet_options(dir);
        options.batch_interval = std::chrono::hours(1);
        store::Store log(options);
        CHECK_FALSE(log.load_session("s1").has_value());
        log.save_session("s1", saved, 5000);
        // Still queued: the read sees it anyway.
        const auto pending = log.load_session("s1");
        REQUIRE(pending.has_value());
        CHECK(session_snapshot(*pending) == session_snapshot(saved));
        REQUIRE(log.flush());
        const auto committed = log.load_session("s1");
        REQUIRE(committed.has_value());
        CHECK(session_snapshot(*committed) == session_snapshot(saved));
    }
    store::Store reopened(test::quiet_options(dir));
    const auto restored = reopened.load_session("s1");
    REQUIRE(restored.has_value());
    CHECK(session_snapshot(*restored) == session_snapshot(saved));
    CHECK_FALSE(reopened.load_session("unknown").has_value());
}

TEST_CASE("the store keeps only the newest state of a session waiting to be written") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    options.batch_interval = std::chrono::hours(1);
    store::Store log(options);
    Session first_state = sample_session();
    first_state.turns = 1;
    Session second_state = sample_session();
    second_state.turns = 2;
    auto first = std::make_shared<const Session>(first_state);
    auto second = std::make_shared<const Session>(second_state);
    REQUIRE(log.save_session("s1", first, 1000));
    CHECK(first.use_count() == 2);
    REQUIRE(log.save_session("s1", second, 2000));
    // Replaced before any batch: the caller's copy is the only one left, so
    // it is freed by the caller, and a slow writer holds no old states.
    CHECK(first.use_count() == 1);
    CHECK(second.use_count() == 2);
    REQUIRE(log.load_session("s1").has_value());
    CHECK(log.load_session("s1")->turns == 2);

    REQUIRE(log.flush());
    // Written: the store lets go of it (just after it says so), and the file
    // has the newest state.
    CHECK(test::eventually([&] { return second.use_count() == 1; }));
    CHECK(log.load_session("s1")->turns == 2);
    const auto counters = log.close();
    CHECK(counters.dropped == 0);
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM sessions") == 1);
    CHECK(test::query_int(dir / "log.db", "SELECT updated FROM sessions WHERE id = 's1'") == 2000);
}

TEST_CASE("bindings map a channel's key to a value and survive a restart") {
    test::TempDir dir;
    {
        store::Store log(test::quiet_options(dir));
        log.set_binding("telegram", "hash-of-chat-1", "session-a", 1000);
        CHECK(log.binding("telegram", "hash-of-chat-1") == std::optional<std::string>("session-a"));
        log.set_binding("telegram", "hash-of-chat-1", "session-b", 2000);
        CHECK(log.binding("telegram", "hash-of-chat-1") == std::optional<std::string>("session-b"));
    }
    store::Store reopened(test::quiet_options(dir));
    CHECK(reopened.binding("telegram", "hash-of-chat-1") == std::optional<std::string>("session-b"));
    CHECK_FALSE(reopened.binding("telegram", "other").has_value());
    CHECK_FALSE(reopened.binding("rest", "hash-of-chat-1").has_value());
}

TEST_CASE("a binding that cannot be read right now is unavailable, not unknown") {
    test::TempDir dir;
    {
        store::Store log(test::quiet_options(dir));
        log.set_binding("telegram", "hash-of-chat-1", "session-a", 1000);
    }
    store::Store log(test::quiet_options(dir));
    // The writer keeps the connection it opened, so only reads fail.
    std::filesystem::rename(dir / "log.db", dir / "away.db");
    CHECK_THROWS_AS(log.binding("telegram", "hash-of-chat-1"), store::StoreUnavailable);
    CHECK_THROWS_AS(log.binding("telegram", "never-bound"), store::StoreUnavailable);
    std::filesystem::rename(dir / "away.db", dir / "log.db");
    CHECK(log.binding("telegram", "hash-of-chat-1") == std::optional<std::string>("session-a"));
    CHECK_FALSE(log.binding("telegram", "never-bound").has_value());
}

TEST_CASE("an e-mail address and a phone number never reach the database file or its WAL") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    store::Store log(options);
    log.log_conversation(test::conversation("c1", "websocket", 1000));
    log.log_message(test::inbound("c1", 1000, "I am alice.smith@example.org, call +44 20 7946 0958"));
    REQUIRE(log.flush());

    // While the store is open the rows live in the WAL; after close, in the file.
    const std::string open_bytes = test::file_bytes(dir / "log.db") + test::file_bytes(dir / "log.db-wal");
    CHECK(open_bytes.find("[email]") != std::string::npos);
    log.close();
    const std::string closed_bytes = test::file_bytes(dir / "log.db") + test::file_bytes(dir / "log.db-wal");
    for (const std::string* bytes : {&open_bytes, &closed_bytes}) {
        CHECK(bytes->find("alice.smith") == std::string::npos);
        CHECK(bytes->find("example.org") == std::string::npos);
        CHECK(bytes->find("7946") == std::string::npos);
    }
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages WHERE text = 'I am [email], call [phone]'") ==
          1);
}

TEST_CASE("the bot's own text is logged as sent: a helpline number in a reply is not scrubbed") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    log.log_message(test::outbound("c1", 1000, "If it gets worse, call NHS 111 or 0800 123 4567."));
    log.close();
    CHECK(test::query_int(dir / "log.db",
                          "SELECT COUNT(*) FROM messages WHERE text = 'If it gets worse, call NHS 111 or 0800 123 4567.'") ==
          1);
}

TEST_CASE("redaction can be turned off") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    options.redact = false;
    {
        store::Store log(options);
        log.log_message(test::inbound("c1", 1000, "bob@example.org"));
    }
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages WHERE text = 'bob@example.org'") == 1);
}

TEST_CASE("user ids are stored as keyed hashes, stable for one key") {
    test::TempDir dir;
    std::string first;
    {
        store::Store log(test::quiet_options(dir));
        first = log.hash_user("telegram", "123456789");
        CHECK(first.size() == 64);
        CHECK(first.find("123456789") == std::string::npos);
        CHECK(log.hash_user("telegram", "123456789") == first);
        CHECK(log.hash_user("telegram", "123456780") != first);
        CHECK(log.hash_user("rest", "123456789") != first);
        CHECK(log.health().ok);
    }
    // The key file was created private and is reused.
    struct stat info{};
    REQUIRE(stat((dir / "hash.key").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    store::Store reopened(test::quiet_options(dir));
    CHECK(reopened.hash_user("telegram", "123456789") == first);

    // A key from the environment wins over the file.
    setenv("BACKTALK_HASH_KEY", "another key", 1);
    store::Store with_env_key(test::quiet_options(dir));
    unsetenv("BACKTALK_HASH_KEY");
    CHECK(with_env_key.hash_user("telegram", "123456789") != first);
}

TEST_CASE("records queued after close are refused and counted") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    log.close();
    CHECK_FALSE(log.log_message(test::inbound("c1", 1, "late")));
    CHECK(log.counters().dropped == 1);
    CHECK_FALSE(log.health().ok);
}

TEST_CASE("close() leaves no write-ahead log behind, even after sessions were read: a read-only reader sees every turn") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    options.batch_interval = std::chrono::hours(1);  // everything waits for close()
    store::Store log(options);
    CHECK(log.log_turn(sample_turn("c1", "my back hurts", {"Do you have any of these?"})));
    log.flush();
    // A session read opens the store's read-only connection, which stays open
    // until close(): SQLite checkpoints only when the last connection closes,
    // and a read-only one cannot, so the writer must close after it.
    CHECK(log.load_session("c1").has_value());
    CHECK(log.log_turn(sample_turn("c1", "no", {"How old are you?"})));
    log.close();
    CHECK_FALSE(std::filesystem::exists(dir / "log.db-wal"));
    CHECK(message_rows(dir / "log.db", "c1").size() == 4);
}
