// `backtalk rules check [DIR]`: validates the knowledge and says exactly where
// a mistake is, so whoever edits rules/ can fix it before a server loads it.
// `backtalk rules reload --db URL`: tells every instance on a PostgreSQL
// database to reload (adapters/core/rules_sync.hpp).
#include "adapters/cli/commands.hpp"

#include "adapters/core/rules_sync.hpp"
#include "bot/rules.hpp"
#include "store/store.hpp"

#include <chrono>
#include <iostream>

namespace backtalk::cli {

namespace {

// Lists every error and fails (exit 1) when the rules are broken.
std::shared_ptr<const RuleSet> checked_rules(const std::filesystem::path& locale_dir, std::string_view consequence) {
    RuleLoad load = load_rules(locale_dir);
    if (load.errors.empty()) return load.rules;
    for (const auto& error : load.errors) std::cout << error.to_string() << '\n';
    std::cout << load.errors.size() << (load.errors.size() == 1 ? " error" : " errors") << " in "
              << locale_dir.string() << consequence << '\n';
    throw CLI::RuntimeError(1);
}

// Publishes the version of the rules here: each instance then reloads its
// own rules directory. Refuses a SQLite file, which one server uses alone.
void publish_reload(const CommonOptions& options) {
    if (!database_path(options).empty()) {
        throw std::runtime_error("`rules reload` tells the instances that share a PostgreSQL database "
                                 "(--db postgresql://...) to reload; " + describe_database(options) +
                                 " is a SQLite file, which one server uses: reload that server with SIGHUP "
                                 "(systemctl reload backtalk) or POST /api/v1/rules/reload");
    }
    const auto locale_dir = resolve_rules_dir(options);
    const auto rules = checked_rules(locale_dir, "; nothing was published");
    store::Store store(log_store_options(options));
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    const store::PublishedRules published = store.publish_rules(version(*rules), "cli on " + host_name(), now.count());
    store.close();
    std::cout << "published rules " << published.version << " (publication " << published.generation << ") to "
              << describe_database(options)
              << ": every instance reloads its own rules directory and shows its version in /healthz\n";
}

}  // namespace

void add_rules_command(CLI::App& app) {
    CLI::App* rules =
        app.add_subcommand("rules", "Check the rules (the bot's knowledge), or have every instance reload them");
    rules->require_subcommand(1);

    auto options = std::make_shared<CommonOptions>();
    auto dir = std::make_shared<std::string>();
    CLI::App* check = rules->add_subcommand("check", "Validate a rules directory; exit 1 and list every error if it is broken");
    check->add_option("dir", *dir, "Rules directory (rules/ or rules/en); default: --rules or ./rules");
    add_common_options(*check, *options);
    check->callback([options, dir] {
        if (!dir->empty()) options->rules_dir = *dir;
        const auto locale_dir = resolve_rules_dir(*options);
        std::cout << locale_dir.string() << ": " << summary(*checked_rules(locale_dir, "")) << '\n';
    });

    auto reload_options = std::make_shared<CommonOptions>();
    CLI::App* reload = rules->add_subcommand(
        "reload", "Tell every instance on a PostgreSQL database (--db) to reload its rules: publishes the version "
                  "of the rules here (--rules) once they validate");
    add_common_options(*reload, *reload_options);
    reload->callback([reload_options] { publish_reload(*reload_options); });
}

std::shared_ptr<const Engine> engine_from_rules(const CommonOptions& options) {
    const auto locale_dir = resolve_rules_dir(options);
    RuleLoad load = load_rules(locale_dir);
    if (!load.errors.empty()) {
        std::string message = "the rules in " + locale_dir.string() + " have errors:";
        for (const auto& error : load.errors) message += "\n  " + error.to_string();
        throw std::runtime_error(message);
    }
    return std::make_shared<const Engine>(load.rules, EngineOptions{options.emergency_number});
}

}  // namespace backtalk::cli
