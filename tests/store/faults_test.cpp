#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

using namespace backtalk;

namespace {

// Collects what the store reports, from its writer thread.
struct Reports {
    std::mutex mutex;
    std::vector<std::string> lines;
    std::function<void(std::string_view)> sink() {
        return [this](std::string_view line) {
            std::lock_guard lock(mutex);
            lines.emplace_back(line);
        };
    }
    bool any_contains(std::string_view part) {
        std::lock_guard lock(mutex);
        for (const auto& line : lines) {
            if (line.find(part) != std::string::npos) return true;
        }
        return false;
    }
};

}  // namespace

TEST_CASE("a full database keeps taking records, reports degraded, and counts what it dropped") {
    test::TempDir dir;
    Reports reports;
    auto options = test::quiet_options(dir);
    options.max_bytes = 96 * 1024;
    options.batch_rows = 20;
    options.queue_capacity = 100;
    options.max_backoff = std::chrono::milliseconds(20);
    options.close_timeout = std::chrono::milliseconds(200);
    options.report = reports.sink();
    store::Store log(options);
    const std::string long_text(1900, 'w');
    int accepted = 0;
    for (int i = 0; i < 400; ++i) accepted += log.log_message(test::inbound("c1", i, long_text)) ? 1 : 0;

    REQUIRE(test::eventually([&] { return !log.health().ok; }));
    CHECK(log.health().reason.find("full") != std::string::npos);
    // Chats do not wait for a database that refuses writes.
    REQUIRE(test::eventually([&] { return log.counters().write_failures > 0; }));
    CHECK_FALSE(log.backlogged());
    const store::StoreCounters counts = log.close();
    CHECK(reports.any_contains("cannot write the conversation log"));
    CHECK(reports.any_contains("closing: dropped"));
    CHECK(counts.write_failures > 0);
    CHECK(counts.last_error.find("full") != std::string::npos);
    // Every record is accounted for: written, or dropped and counted.
    CHECK(counts.rows_written + counts.dropped == 400);
    CHECK(counts.dropped > 0);
    CHECK(accepted < 400);
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages") ==
          static_cast<std::int64_t>(counts.rows_written));
    CHECK(test::query_text(dir / "log.db", "PRAGMA integrity_check") == "ok");
}

TEST_CASE("a database locked by another process delays records without losing them") {
    test::TempDir dir;
    Reports reports;
    auto options = test::quiet_options(dir);
    options.busy_timeout = std::chrono::milliseconds(20);
    options.max_backoff = std::chrono::milliseconds(20);
    options.report = reports.sink();
    store::Store log(options);
    {
        SQLite::Database other(dir / "log.db", SQLite::OPEN_READWRITE);
        other.exec("BEGIN IMMEDIATE");
        for (int i = 0; i < 10; ++i) log.log_message(test::inbound("c1", i, "while locked"));
        REQUIRE(test::eventually([&] { return !log.health().ok; }));
        CHECK(log.health().reason.find("locked") != std::string::npos);
        other.exec("ROLLBACK");
    }
    REQUIRE(test::eventually([&] { return log.health().ok; }));
    CHECK(reports.any_contains("writable again"));
    const store::StoreCounters counts = log.close();
    CHECK(counts.rows_written == 10);
    CHECK(counts.dropped == 0);
    CHECK(counts.write_failures > 0);
}

TEST_CASE("a read-only database file reports degraded and recovers when writable again") {
    test::TempDir dir;
    {
        store::Store create(test::quiet_options(dir));
    }
    const auto db_path = dir / "log.db";
    if (!test::make_read_only(db_path)) {
        test::make_writable(db_path);
        MESSAGE("skipped: this system cannot make a file read-only for this user");
        return;
    }
    auto options = test::quiet_options(dir);
    options.max_backoff = std::chrono::milliseconds(20);
    std::optional<store::Store> log;
    try {
        log.emplace(options);
    } catch (...) {
        test::make_writable(db_path);
        throw;
    }
    log->log_message(test::inbound("c1", 1, "typed while read-only"));
    const bool degraded = test::eventually([&] { return !log->health().ok; });
    const std::string reason = log->health().reason;
    test::make_writable(db_path);
    REQUIRE(degraded);
    CHECK(reason.find("cannot write the conversation log") != std::string::npos);
    REQUIRE(test::eventually([&] { return log->health().ok; }));
    const store::StoreCounters counts = log->close();
    CHECK(counts.rows_written == 1);
    CHECK(test::query_int(db_path, "SELECT COUNT(*) FROM messages WHERE text = 'typed while read-only'") == 1);
}

TEST_CASE("maintenance on a failing database fails with the reason instead of running later") {
    test::TempDir dir;
    auto options = test::quiet_options(dir);
    options.busy_timeout = std::chrono::milliseconds(10);
    options.close_timeout = std::chrono::milliseconds(300);
    options.max_backoff = std::chrono::milliseconds(20);
    store::Store log(options);
    log.log_message(test::inbound("c1", 1, "kept"));
    REQUIRE(log.flush());
    {
        SQLite::Database other(dir / "log.db", SQLite::OPEN_READWRITE);
        other.exec("BEGIN IMMEDIATE");
        log.log_message(test::inbound("c1", 2, "queued behind the lock"));
        CHECK_THROWS_WITH_AS(log.delete_conversation("c1"), doctest::Contains("not writable"), std::runtime_error);
        other.exec("ROLLBACK");
    }
    REQUIRE(test::eventually([&] { return log.counters().rows_written == 2; }));
    log.close();
    // The cancelled delete never ran.
    CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages WHERE conversation = 'c1'") == 2);
}
