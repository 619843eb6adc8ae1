// `backtalk rules check [DIR]`: validates the knowledge and says exactly where
// a mistake is, so whoever edits rules/ can fix it before a server loads it.
#include "adapters/cli/commands.hpp"

#include "bot/rules.hpp"

#include <iostream>

namespace backtalk::cli {

void add_rules_command(CLI::App& app) {
    CLI::App* rules = app.add_subcommand("rules", "Check the rules (the bot's knowledge)");
    rules->require_subcommand(1);

    auto options = std::make_shared<CommonOptions>();
    auto dir = std::make_shared<std::string>();
    CLI::App* check = rules->add_subcommand("check", "Validate a rules directory; exit 1 and list every error if it is broken");
    check->add_option("dir", *dir, "Rules directory (rules/ or rules/en); default: --rules or ./rules");
    add_common_options(*check, *options);
    check->callback([options, dir] {
        if (!dir->empty()) options->rules_dir = *dir;
        const auto locale_dir = resolve_rules_dir(*options);
        const RuleLoad load = load_rules(locale_dir);
        if (!load.errors.empty()) {
            for (const auto& error : load.errors) std::cout << error.to_string() << '\n';
            std::cout << load.errors.size() << (load.errors.size() == 1 ? " error" : " errors") << " in " << locale_dir.string() << '\n';
            throw CLI::RuntimeError(1);
        }
        std::cout << locale_dir.string() << ": " << summary(*load.rules) << '\n';
    });
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
