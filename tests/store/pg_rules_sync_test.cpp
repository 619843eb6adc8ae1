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
    RulesSyncOptions options() {
        RulesSyncOptions options;
        options.followed = [this](const ReloadResult& result, const std::string& published) {
            std::lock_guard lock(mutex_);
            results_.emplace_back(result, published);
        };
        options.report = [](std::string_view) {};
        options.now_ms = [] { return now_ms; };
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

// One instance: a copy of rules/ in `dir`, its store on `url` (SQLite in
// `dir` when empty), its service, reloader and sync.
struct Instance {
    fs::path rules;
    store::Store log;
    ConversationService service;
    RulesReloader reloader;
    Followed followed;
    RulesSync sync;

    Instance(const test::TempDir& dir, const std::string& url)
        : rules(copy_rules(dir)),
          log([&] {
              store::StoreOptions options = test::quiet_options(dir);
              options.postgresql_url = url;
              return options;
          }()),
          service(test::make_engine(), &log, ConversationOptions{}, [] { return now_ms; },
                  [] { return std::string("s"); }),
          reloader(service, rules / "en", EngineOptions{"112"}),
          sync(reloader, &log, followed.options()) {}

    static fs::path copy_rules(const test::TempDir& dir) {
        fs::copy(fs::path(BACKTALK_SOURCE_DIR) / "rules", dir / "rules", fs::copy_options::recursive);
        return dir / "rules";
    }

    // Valid rules of another version.
    void set_version(const std::string& version) {
        fs::copy_file(fs::path(BACKTALK_SOURCE_DIR) / "rules" / "en" / "flow.json", rules / "en" / "flow.json",
                      fs::copy_options::overwrite_existing);
        const fs::path meta = rules / "en" / "meta.json";
        const std::string text =
            std::regex_replace(read_file(meta), std::regex(R"("version": "[^"]*")"), "\"version\": \"" + version + "\"",
                               std::regex_constants::format_first_only);
        std::ofstream(meta, std::ios::trunc) << text;
    }

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
