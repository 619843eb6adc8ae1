// Rules reloads across two instances on one PostgreSQL (RulesSync, issue 18):
// each instance has a conversation service, a store and a rules directory
// of its own. A reload that takes on one is published and the other reloads
// its own files; a broken set there is refused, its old rules keep
// answering and it reports that it is behind. With SQLite reloads stay local.
#include "adapters/core/rules_sync.hpp"
#include "postgres_server.hpp"
#include "rules_engine.hpp"
#include "store_test_support.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>

using namespace backtalk;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t now_ms = 1714521600000;  // 2024-05-01T00:00:00Z

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// What RulesSync reported about reloads other instances caused.
class Followed {
public:
    RulesSyncOptions options(std::int64_t clock_ms) {
        RulesSyncOptions options;
        options.followed = [this](const ReloadResult& result, const std::string& published) {
            std::lock_guard lock(mutex_);
            results_.emplace_back(result, published);
        };
        options.report = [](std::string_view) {};
        options.now_ms = [clock_ms] { return clock_ms; };
        return options;
    }
    std::vector<std::pair<ReloadResult, std::string>> results() const {
        std::lock_guard lock(mutex_);
        return results_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::pair<ReloadResult, std::string>> results_;
};

// Valid rules of another version in the rules directory `rules`.
void set_version(const fs::path& rules, const std::string& version) {
    fs::copy_file(fs::path(BACKTALK_SOURCE_DIR) / "rules" / "en" / "flow.json", rules / "en" / "flow.json",
                  fs::copy_options::overwrite_existing);
    const fs::path meta = rules / "en" / "meta.json";
    const std::string text =
        std::regex_replace(read_file(meta), std::regex(R"("version": "[^"]*")"), "\"version\": \"" + version + "\"",
                           std::regex_constants::format_first_only);
    std::ofstream(meta, std::ios::trunc) << text;
}

// What an instance starts with: the repository's rules, or its own files
// set to `version`.
std::shared_ptr<const Engine> starting_engine(const fs::path& rules, const std::string& version) {
    if (version.empty()) return test::make_engine();
    RuleLoad load = load_rules(rules / "en");
    if (!load.errors.empty()) throw std::runtime_error(load.errors[0].to_string());
    return std::make_shared<const Engine>(load.rules, EngineOptions{"112"});
}

// One instance: a copy of rules/ in `dir` (of `version` when given), its
// store on `url` (SQLite in `dir` when empty), its service, reloader and
// sync, its clock standing at `clock_ms`.
struct Instance {
    fs::path rules;
    store::Store log;
    ConversationService service;
    RulesReloader reloader;
    Followed followed;
    RulesSync sync;

    Instance(const test::TempDir& dir, const std::string& url, const std::string& version = "",
             std::int64_t clock_ms = now_ms)
        : rules(copy_rules(dir, version)),
          log([&] {
              store::StoreOptions options = test::quiet_options(dir);
              options.postgresql_url = url;
              return options;
          }()),
          service(starting_engine(rules, version), &log, ConversationOptions{}, [] { return now_ms; },
                  [] { return std::string("s"); }),
          reloader(service, rules / "en", EngineOptions{"112"}),
          sync(reloader, &log, followed.options(clock_ms)) {}

    static fs::path copy_rules(const test::TempDir& dir, const std::string& version) {
        fs::copy(fs::path(BACKTALK_SOURCE_DIR) / "rules", dir / "rules", fs::copy_options::recursive);
        if (!version.empty()) ::set_version(dir / "rules", version);
        return dir / "rules";
    }

    void set_version(const std::string& version) { ::set_version(rules, version); }

    void break_rules() { std::ofstream(rules / "en" / "flow.json", std::ios::trunc) << "{ broken"; }
};

}  // namespace

TEST_CASE("rules sync: a reload that takes on one instance reaches the other, which loads its own files") {
    const std::string url = test::fresh_postgres_database("rules_sync_reach");
    test::TempDir dir_a, dir_b;
    Instance a(dir_a, url), b(dir_b, url);
    REQUIRE(test::eventually([&] { return a.sync.status().listening && b.sync.status().listening; }));
    const std::string old_version = a.reloader.version();
    CHECK(b.sync.status().published == std::nullopt);
    CHECK(b.sync.status().in_step());

    a.set_version("en-sync.2");
    b.set_version("en-sync.2");
    const SyncedReload reload = a.sync.reload("test");
    REQUIRE(reload.local.ok);
    CHECK(reload.shared);
    CHECK(reload.published);
    CHECK(reload.publish_error.empty());
    const std::string new_version = reload.local.version;
    CHECK(new_version != old_version);
    CHECK(new_version.rfind("en-sync.2+", 0) == 0);

    REQUIRE(test::eventually([&] { return b.reloader.version() == new_version; }));
    const RulesStatus status = b.sync.status();
    CHECK(status.shared);
    CHECK(status.published == new_version);
    CHECK(status.in_step());
    REQUIRE(b.followed.results().size() == 1);
    CHECK(b.followed.results()[0].first.ok);
    CHECK(b.followed.results()[0].second == new_version);
    // The instance that published heard itself and had nothing to do.
    CHECK(a.followed.results().empty());
    CHECK(a.reloader.reloads() == 1);
    CHECK(a.sync.status().published == new_version);
}

TEST_CASE("rules sync: an instance whose files are broken refuses the published version and says it is behind") {
    const std::string url = test::fresh_postgres_database("rules_sync_refused");
    test::TempDir dir_a, dir_b;
    Instance a(dir_a, url), b(dir_b, url);
    REQUIRE(test::eventually([&] { return b.sync.status().listening; }));
    const std::string old_version = b.reloader.version();

    // Broken where it is asked for: refused there and nothing published.
    a.break_rules();
    const SyncedReload refused = a.sync.reload("test");
    CHECK_FALSE(refused.local.ok);
    CHECK_FALSE(refused.published);
    CHECK(refused.local.version == old_version);

    a.set_version("en-sync.2");
    b.break_rules();
    const SyncedReload published = a.sync.reload("test");
    REQUIRE(published.local.ok);
    REQUIRE(published.published);
    const std::string new_version = published.local.version;

    REQUIRE(test::eventually([&] { return b.followed.results().size() == 1; }));
    const auto followed = b.followed.results();
    const auto& [result, heard] = followed[0];
    CHECK_FALSE(result.ok);
    CHECK(result.version == old_version);
    REQUIRE_FALSE(result.errors.empty());
    CHECK(result.errors[0].find("flow.json") != std::string::npos);
    CHECK(heard == new_version);
    const RulesStatus status = b.sync.status();
    CHECK(status.version == old_version);
    CHECK(status.published == new_version);
    CHECK_FALSE(status.in_step());
    CHECK(b.reloader.failures() == 1);
    // Its old rules keep answering.
    std::string session;
    b.service.handle(session, protocol::Start{}, {"websocket", ""});
    const auto answer = b.service.handle(session, protocol::Message{"my lower back hurts"}, {"websocket", ""});
    CHECK_FALSE(answer.empty());
    CHECK(std::holds_alternative<Reply>(answer.back()));
}

TEST_CASE("rules sync: with SQLite a reload stays on its instance") {
    test::TempDir dir;
    Instance single(dir, "");
    single.set_version("en-sync.2");
    const SyncedReload reload = single.sync.reload("test");
    CHECK(reload.local.ok);
    CHECK_FALSE(reload.shared);
    CHECK_FALSE(reload.published);
    const RulesStatus status = single.sync.status();
    CHECK_FALSE(status.shared);
    CHECK_FALSE(status.listening);
    CHECK(status.version == reload.local.version);
    CHECK(status.in_step());
}

TEST_CASE("rules sync: an instance restarted on other rules publishes them, and the others follow or say they are behind") {
    const std::string url = test::fresh_postgres_database("rules_sync_restart");
    test::TempDir dir_a, dir_b, dir_c;
    Instance a(dir_a, url), b(dir_b, url);
    REQUIRE(test::eventually([&] { return a.sync.status().listening && b.sync.status().listening; }));
    const SyncedReload first = a.sync.reload("test");
    REQUIRE(first.published);
    const std::string old_version = first.local.version;
    REQUIRE(test::eventually([&] { return b.sync.status().published == old_version; }));

    // The upgrade by restart: new files on b's machine and a new instance
    // started on them after the publication; a's machine still has the old.
    b.set_version("en-sync.3");
    Instance c(dir_c, url, "en-sync.3", now_ms + 60000);
    const std::string new_version = c.reloader.version();
    REQUIRE(new_version.rfind("en-sync.3+", 0) == 0);
    REQUIRE(test::eventually([&] { return c.sync.status().published == new_version; }));
    CHECK(c.sync.status().in_step());
    CHECK(c.followed.results().empty());  // it published; it did not reload
    CHECK(c.reloader.reloads() == 0);

    // b reloads its new files and is in step; a keeps the old rules (its
    // files) and says it is behind.
    REQUIRE(test::eventually([&] { return b.reloader.version() == new_version; }));
    CHECK(b.sync.status().in_step());
    REQUIRE(test::eventually([&] { return a.followed.results().size() == 1; }));
    CHECK(a.followed.results()[0].second == new_version);
    CHECK(a.reloader.version() == old_version);
    CHECK(a.sync.status().published == new_version);
    CHECK_FALSE(a.sync.status().in_step());
}

TEST_CASE("rules sync: an instance that started before the newest publication follows it, not its start") {
    const std::string url = test::fresh_postgres_database("rules_sync_late");
    test::TempDir dir_a, dir_b;
    // b starts first (its clock earlier than a's publication) on rules of
    // its own; it has not heard of any publication yet.
    Instance b(dir_b, url, "en-sync.4", now_ms - 60000);
    Instance a(dir_a, url);
    REQUIRE(test::eventually([&] { return a.sync.status().listening && b.sync.status().listening; }));
    a.set_version("en-sync.5");
    b.set_version("en-sync.5");
    const SyncedReload reload = a.sync.reload("test");
    REQUIRE(reload.published);
    REQUIRE(test::eventually([&] { return b.reloader.version() == reload.local.version; }));
    CHECK(b.sync.status().in_step());
    CHECK(a.sync.status().published == reload.local.version);  // b published nothing of its own
}
