// The channels' small machinery: the recent-entries ledger (Telegram's seen
// update ids, REST answers) and the per-key serial runner (one chat's
// updates in order).
#include "adapters/server/keyed_serial.hpp"
#include "adapters/server/recent_ledger.hpp"
#include "store/postgresql/pg_connection.hpp"
#include "store/store.hpp"
#include "tests/store/postgres_server.hpp"
#include "tests/store/temp_dir.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using backtalk::server::KeyedSerialRunner;
using backtalk::server::RecentLedger;
using backtalk::server::RecentLedgerOptions;
using backtalk::store::Store;
using backtalk::store::StoreOptions;
using backtalk::test::TempDir;

namespace {

constexpr std::int64_t hour_ms = 3600 * 1000;

StoreOptions store_at(const TempDir& dir) {
    StoreOptions options;
    options.path = dir / "ledger.db";
    return options;
}

int rows_in_scope(Store& store, const std::string& scope) {
    return static_cast<int>(store.binding_values(scope).size());
}

// A new, empty database on the test run's PostgreSQL server.
StoreOptions postgresql_store(const TempDir& dir, const std::string& database) {
    backtalk::store::pg::PgConnection admin(backtalk::test::shared_postgres_server().url());
    admin.exec("DROP DATABASE IF EXISTS " + database);
    admin.exec("CREATE DATABASE " + database);
    StoreOptions options = store_at(dir);
    options.postgresql_url = backtalk::test::shared_postgres_server().url(database);
    return options;
}

}  // namespace

TEST_CASE("a ledger remembers keys once, and forgets them after the retention") {
    RecentLedger ledger(nullptr, {"test", 100, std::chrono::hours(25)}, 0);
    CHECK_FALSE(ledger.find("1", 0));
    CHECK(ledger.insert("1", "first", 0));
    CHECK_FALSE(ledger.insert("1", "second", 1));
    CHECK(ledger.find("1", 24 * hour_ms) == "first");
    CHECK_FALSE(ledger.find("1", 25 * hour_ms + 1));
    CHECK(ledger.size() == 0);
}

TEST_CASE("a full ledger forgets the oldest entries first") {
    RecentLedger ledger(nullptr, {"test", 3, std::chrono::hours(25)}, 0);
    for (int i = 1; i <= 4; ++i) CHECK(ledger.insert(std::to_string(i), "", i));
    CHECK(ledger.size() == 3);
    CHECK_FALSE(ledger.find("1", 10));
    CHECK(ledger.find("2", 10));
    CHECK(ledger.find("4", 10));
}

TEST_CASE("a ledger survives a restart through the store, within a bounded ring of rows") {
    TempDir dir;
    {
        Store store(store_at(dir));
        RecentLedger ledger(&store, {"telegram_update", 5, std::chrono::hours(25)}, 1000);
        for (int i = 0; i < 12; ++i) CHECK(ledger.insert(std::string("update-").append(std::to_string(i)), std::string("v").append(std::to_string(i)), 1000 + i));
        REQUIRE(store.flush());
        // Twelve entries went through five slots.
        CHECK(rows_in_scope(store, "telegram_update") == 5);
        store.close();
    }
    Store store(store_at(dir));
    RecentLedger reloaded(&store, {"telegram_update", 5, std::chrono::hours(25)}, 2000);
    CHECK(reloaded.loaded() == 5);
    CHECK_FALSE(reloaded.find("update-6", 2000));
    for (int i = 7; i < 12; ++i) CHECK(reloaded.find(std::string("update-").append(std::to_string(i)), 2000) ==
                                               std::string("v").append(std::to_string(i)));
    // New entries carry on around the ring instead of overwriting the newest.
    CHECK(reloaded.insert("update-12", "v12", 2001));
    REQUIRE(store.flush());
    CHECK(rows_in_scope(store, "telegram_update") == 5);
    RecentLedger third(&store, {"telegram_update", 5, std::chrono::hours(25)}, 3000);
    CHECK(third.find("update-12", 3000) == "v12");
    CHECK(third.find("update-8", 3000) == "v8");
    CHECK_FALSE(third.find("update-7", 3000));
}

TEST_CASE("entries older than the retention are not loaded") {
    TempDir dir;
    Store store(store_at(dir));
    {
        RecentLedger ledger(&store, {"rest_answer", 10, std::chrono::hours(25)}, 0);
        ledger.insert("old", "x", 0);
        ledger.insert("new", "y", 24 * hour_ms);
        REQUIRE(store.flush());
    }
    RecentLedger reloaded(&store, {"rest_answer", 10, std::chrono::hours(25)}, 26 * hour_ms);
    CHECK(reloaded.loaded() == 1);
    CHECK(reloaded.find("new", 26 * hour_ms) == "y");
    CHECK_FALSE(reloaded.find("old", 26 * hour_ms));
}

TEST_CASE("claims read the same on either backend: a key is taken once, then holds its value") {
    TempDir dir;
    for (const bool shared : {false, true}) {
        CAPTURE(shared);
        Store store(shared ? postgresql_store(dir, "ledger_claims") : store_at(dir));
        RecentLedger ledger(&store, {"rest_answer", 10, std::chrono::hours(25)}, 0);
        CHECK(ledger.asks_store() == shared);
        CHECK_FALSE(ledger.claim("m1", "pending", 1));
        CHECK(ledger.claim("m1", "other", 2) == "pending");
        ledger.replace("m1", "answer", 3);
        CHECK(ledger.claim("m1", "other", 4) == "answer");
        CHECK(ledger.find("m1", 5) == "answer");
        REQUIRE(store.flush());
        // Remembered by the next run: this one's ring, or the shared table.
        RecentLedger next_run(&store, {"rest_answer", 10, std::chrono::hours(25)}, 7);
        CHECK(next_run.claim("m1", "other", 8) == "answer");
    }
}

TEST_CASE("two instances on one PostgreSQL database never both take a key") {
    TempDir dir;
    const StoreOptions options = postgresql_store(dir, "ledger_two_instances");
    Store first_store(options);
    Store second_store(options);
    RecentLedger first(&first_store, {"telegram_update", 1000, std::chrono::hours(25)}, 0);
    RecentLedger second(&second_store, {"telegram_update", 1000, std::chrono::hours(25)}, 0);
    constexpr int keys = 200;
    std::atomic<int> taken{0};
    const auto take_all = [&](RecentLedger& ledger, const std::string& name) {
        for (int i = 0; i < keys; ++i) {
            if (!ledger.claim(std::to_string(i), name, 1)) ++taken;
        }
    };
    std::thread one([&] { take_all(first, "first"); });
    std::thread two([&] { take_all(second, "second"); });
    one.join();
    two.join();
    CHECK(taken == keys);
    // What one instance finally writes, the other reads. The value taken
    // names who took it.
    const std::optional<std::string> owner = first.claim("0", "late", 2);
    REQUIRE(owner);
    const bool first_owns = *owner == "first";
    (first_owns ? first : second).replace("0", "the answer", 3);
    REQUIRE((first_owns ? first_store : second_store).flush());
    CHECK((first_owns ? second : first).claim("0", "late", 4) == "the answer");
}

TEST_CASE("a job for a busy key runs after the current one, on the same thread") {
    KeyedSerialRunner runner;
    std::vector<std::string> order;
    runner.run("chat-1", [&] {
        order.push_back("a1 begins");
        runner.run("chat-1", [&] { order.push_back("a2"); });
        runner.run("chat-2", [&] { order.push_back("b1"); });  // another chat is not held up
        order.push_back("a1 ends");
    });
    CHECK(order == std::vector<std::string>{"a1 begins", "b1", "a1 ends", "a2"});
    CHECK(runner.busy_keys() == 0);
}

TEST_CASE("a job that throws does not stop the jobs queued behind it") {
    KeyedSerialRunner runner;
    int ran = 0;
    runner.run("k", [&] {
        runner.run("k", [&] { ++ran; });
        throw std::runtime_error("boom");
    });
    CHECK(ran == 1);
}

TEST_CASE("jobs of one key from several threads never overlap and keep each thread's order") {
    KeyedSerialRunner runner;
    constexpr int per_thread = 2000;
    int running = 0;  // guarded by the runner: only one job of the key at a time
    int overlaps = 0;
    std::vector<int> seen_from[2];
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                runner.run("chat", [&, t, i] {
                    if (++running != 1) ++overlaps;
                    seen_from[t].push_back(i);
                    --running;
                });
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(overlaps == 0);
    for (const auto& seen : seen_from) {
        REQUIRE(seen.size() == per_thread);
        for (int i = 0; i < per_thread; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i);
    }
}

TEST_CASE("an asynchronous job holds its key until it calls finished, and the next runs on the finishing thread") {
    KeyedSerialRunner runner;
    std::vector<std::string> order;
    KeyedSerialRunner::Finished finish_first;
    runner.run_async("chat", [&](KeyedSerialRunner::Finished finished) {
        order.push_back("first starts");
        finish_first = std::move(finished);  // answered later, from elsewhere
    });
    std::thread::id second_ran_on;
    runner.run("chat", [&] {
        order.push_back("second");
        second_ran_on = std::this_thread::get_id();
    });
    runner.run("other", [&] { order.push_back("other chat"); });
    CHECK(order == std::vector<std::string>{"first starts", "other chat"});
    CHECK(runner.busy_keys() == 1);

    std::thread finisher([&] {
        finish_first();
        finish_first();  // a second call changes nothing
    });
    const std::thread::id finisher_id = finisher.get_id();
    finisher.join();
    CHECK(order == std::vector<std::string>{"first starts", "other chat", "second"});
    CHECK(second_ran_on == finisher_id);
    CHECK(runner.busy_keys() == 0);
}

TEST_CASE("thousands of jobs queued behind one that finishes late run without deep recursion") {
    KeyedSerialRunner runner;
    KeyedSerialRunner::Finished finish_first;
    runner.run_async("k", [&](KeyedSerialRunner::Finished finished) { finish_first = std::move(finished); });
    int ran = 0;
    for (int i = 0; i < 100000; ++i) runner.run("k", [&] { ++ran; });
    finish_first();
    CHECK(ran == 100000);
    CHECK(runner.busy_keys() == 0);
}

TEST_CASE("a ledger on PostgreSQL removes its claims older than the retention as it goes") {
    TempDir dir;
    Store store(postgresql_store(dir, "ledger_cleanup"));
    RecentLedger ledger(&store, {"telegram_update", 10, std::chrono::hours(1)}, 0);
    CHECK_FALSE(ledger.claim("old", "", 0));
    // Every tenth of the capacity (one claim here), the rows past the hour go.
    CHECK_FALSE(ledger.claim("new", "", 2 * hour_ms));
    CHECK(rows_in_scope(store, "telegram_update") == 1);
    CHECK_FALSE(ledger.claim("old", "", 2 * hour_ms));
}
