// Rules published to every instance on PostgreSQL (store/rules_notices.hpp):
// a publication on one store reaches a watch on another at once; a watch
// that starts later, or lost its connection while a publication was made,
// catches up on the newest one; a store of one instance (SQLite) refuses.
#include "postgres_server.hpp"
#include "store/postgresql/pg_connection.hpp"
#include "store/store.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace backtalk;

namespace {

store::StoreOptions postgresql_options(const test::TempDir& dir, const std::string& url) {
    store::StoreOptions options = test::quiet_options(dir);
    options.postgresql_url = url;
    return options;
}

// What a watch was told, read from the test's thread.
class Heard {
public:
    store::RulesWatchOptions options() {
        store::RulesWatchOptions options;
        options.on_published = [this](const store::PublishedRules& rules) {
            std::lock_guard lock(mutex_);
            publications_.push_back(rules);
        };
        options.report = [this](std::string_view line) {
            std::lock_guard lock(mutex_);
            reports_.emplace_back(line);
        };
        options.retry = std::chrono::milliseconds(20);
        options.max_retry = std::chrono::milliseconds(100);
        return options;
    }
    std::vector<std::string> versions() const {
        std::lock_guard lock(mutex_);
        std::vector<std::string> versions;
        for (const auto& rules : publications_) versions.push_back(rules.version);
        return versions;
    }
    std::vector<store::PublishedRules> publications() const {
        std::lock_guard lock(mutex_);
        return publications_;
    }
    std::vector<std::string> reports() const {
        std::lock_guard lock(mutex_);
        return reports_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<store::PublishedRules> publications_;
    std::vector<std::string> reports_;
};

}  // namespace

TEST_CASE("postgresql: a rules publication on one instance reaches a watch on another at once") {
    const std::string url = test::fresh_postgres_database("rules_notices");
    test::TempDir dir_a, dir_b;
    store::Store publisher(postgresql_options(dir_a, url));
    store::Store follower(postgresql_options(dir_b, url));
    Heard heard;
    const auto watch = follower.watch_rules(heard.options());
    REQUIRE(test::eventually([&] { return watch->listening(); }));
    CHECK(heard.versions().empty());  // nothing published yet

    const store::PublishedRules first = publisher.publish_rules("1.0+aaaa", "SIGHUP on one", 1000);
    CHECK(first.generation > 0);
    CHECK(first.version == "1.0+aaaa");
    CHECK(first.origin == "SIGHUP on one");
    CHECK(first.time_ms == 1000);
    REQUIRE(test::eventually([&] { return heard.versions().size() == 1; }));
    const store::PublishedRules heard_first = heard.publications().front();
    CHECK(heard_first.generation == first.generation);
    CHECK(heard_first.version == first.version);
    CHECK(heard_first.origin == first.origin);

    const store::PublishedRules second = publisher.publish_rules("1.1+bbbb", "cli on two", 2000);
    CHECK(second.generation > first.generation);
    REQUIRE(test::eventually([&] { return heard.versions().size() == 2; }));
    CHECK(heard.versions() == std::vector<std::string>{"1.0+aaaa", "1.1+bbbb"});
    CHECK(heard.reports().empty());

    // An instance that starts now hears the newest only.
    Heard late;
    const auto late_watch = publisher.watch_rules(late.options());
    REQUIRE(test::eventually([&] { return late.versions().size() == 1; }));
    CHECK(late.versions() == std::vector<std::string>{"1.1+bbbb"});
}

TEST_CASE("postgresql: a rules watch that lost its connection catches up on what was published meanwhile") {
    const std::string name = "rules_catch_up";
    const std::string url = test::fresh_postgres_database(name);
    test::TempDir dir_a, dir_b;
    store::Store publisher(postgresql_options(dir_a, url));
    store::Store follower(postgresql_options(dir_b, url));
    publisher.publish_rules("1.0+aaaa", "first", 1000);
    Heard heard;
    const auto watch = follower.watch_rules(heard.options());
    REQUIRE(test::eventually([&] { return heard.versions().size() == 1; }));
    REQUIRE(test::eventually([&] { return watch->listening(); }));

    // The watch's connection goes and no new one is let in, so the notice of
    // the next publication cannot reach it.
    store::pg::PgConnection admin(test::shared_postgres_server().url());
    admin.exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false");
    admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 "
               "AND query LIKE '%FROM rules_publications ORDER BY%'",
               {name});
    REQUIRE(test::eventually([&] { return !watch->listening(); }));
    publisher.publish_rules("1.1+bbbb", "while it was away", 2000);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few refused reconnections
    CHECK(heard.versions().size() == 1);
    CHECK_FALSE(watch->listening());

    admin.exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true");
    REQUIRE(test::eventually([&] { return heard.versions().size() == 2; }));
    CHECK(heard.versions().back() == "1.1+bbbb");
    CHECK(test::eventually([&] { return watch->listening(); }));
    const auto reports = heard.reports();
    REQUIRE(reports.size() == 2);  // lost once, back once: not a line per attempt
    CHECK(reports[0].find("not listening for rules publications, retrying") != std::string::npos);
    CHECK(reports[1] == "listening for rules publications again");
}

TEST_CASE("postgresql: a store of one instance (SQLite) neither publishes rules nor watches them") {
    test::TempDir dir;
    store::Store single(test::quiet_options(dir));
    CHECK_THROWS_AS(single.publish_rules("1.0+aaaa", "cli", 1000), std::logic_error);
    Heard heard;
    CHECK_THROWS_AS(single.watch_rules(heard.options()), std::logic_error);
}
