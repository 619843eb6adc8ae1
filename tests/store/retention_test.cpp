// The sweeper behind `backtalk serve --retention-days`: it purges at start,
// again after each interval, reports what it removed, and stops promptly.
#include "adapters/core/retention.hpp"
#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

using namespace backtalk;

namespace {

constexpr std::int64_t day_ms = 24LL * 3600 * 1000;

// The reports, from the sweeper's thread.
struct Reports {
    std::mutex mutex;
    std::vector<RetentionReport> seen;
    std::function<void(const RetentionReport&)> sink() {
        return [this](const RetentionReport& report) {
            std::lock_guard lock(mutex);
            seen.push_back(report);
        };
    }
    std::size_t count() {
        std::lock_guard lock(mutex);
        return seen.size();
    }
    RetentionReport at(std::size_t index) {
        std::lock_guard lock(mutex);
        return seen.at(index);
    }
};

}  // namespace

TEST_CASE("the sweeper purges at start and after each interval, and only what is past the retention") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    std::atomic<std::int64_t> now{100 * day_ms};
    log.log_conversation(test::conversation("old", "websocket", 60 * day_ms));   // 40 days idle
    log.log_message(test::inbound("old", 60 * day_ms, "from long ago"));
    log.log_conversation(test::conversation("recent", "websocket", 95 * day_ms));  // 5 days idle
    log.log_message(test::inbound("recent", 95 * day_ms, "from this week"));
    REQUIRE(log.flush());

    Reports reports;
    RetentionOptions options;
    options.keep = std::chrono::hours(24 * 30);
    options.interval = std::chrono::milliseconds(50);
    {
        RetentionSweeper sweeper(log, options, [&] { return now.load(); }, reports.sink());
        REQUIRE(test::eventually([&] { return reports.count() >= 1; }));
        CHECK(reports.at(0).ok);
        CHECK(reports.at(0).removed == 1);
        CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM conversations WHERE id = 'old'") == 0);
        CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages WHERE conversation = 'old'") == 0);
        CHECK(test::query_int(dir / "log.db", "SELECT COUNT(*) FROM messages WHERE conversation = 'recent'") == 1);

        // Time passes: the recent one is past the retention at the next round.
        now += 26 * day_ms;
        REQUIRE(test::eventually([&] {
            return test::query_int(dir / "log.db", "SELECT COUNT(*) FROM conversations") == 0;
        }));
    }
    const std::size_t rounds = reports.count();
    CHECK(rounds >= 2);
    for (std::size_t i = 0; i < rounds; ++i) CHECK(reports.at(i).ok);
}

TEST_CASE("a purge that fails is reported and the sweeper goes on") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    log.close();  // every purge now fails
    Reports reports;
    RetentionOptions options;
    options.keep = std::chrono::hours(24);
    options.interval = std::chrono::milliseconds(20);
    {
        RetentionSweeper sweeper(log, options, [] { return 100 * day_ms; }, reports.sink());
        REQUIRE(test::eventually([&] { return reports.count() >= 2; }));
    }
    CHECK_FALSE(reports.at(0).ok);
    CHECK_FALSE(reports.at(0).error.empty());
}

TEST_CASE("a sweeper stops at once, without waiting out its interval") {
    test::TempDir dir;
    store::Store log(test::quiet_options(dir));
    Reports reports;
    RetentionOptions options;
    options.keep = std::chrono::hours(24);
    options.interval = std::chrono::hours(1);
    std::chrono::steady_clock::time_point stopping;
    {
        RetentionSweeper sweeper(log, options, [] { return 100 * day_ms; }, reports.sink());
        REQUIRE(test::eventually([&] { return reports.count() == 1; }));
        stopping = std::chrono::steady_clock::now();
    }
    // Generous for a loaded machine; the interval is an hour.
    CHECK(std::chrono::steady_clock::now() - stopping < std::chrono::seconds(10));
    CHECK(reports.count() == 1);
}
