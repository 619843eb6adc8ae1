// The subcommands of the `backtalk` binary. Each adds itself to the app and
// sets its own callback; main() only parses.
#pragma once

#include "bot/engine.hpp"
#include "store/store.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace backtalk::cli {

// Options every subcommand takes. Flags override BACKTALK_* environment
// variables, which override the config file (--config), which overrides
// these defaults.
struct CommonOptions {
    std::string rules_dir;              // empty: ./rules, then the installed data directory
    std::string db_path = "data/backtalk.db";  // or a postgresql:// URL
    std::string locale = "en";
    std::string emergency_number;       // empty: the locale's default
    // What the conversation log scrubs from what people type (chat, serve).
    std::string redact = "emails,phones,ids";
};

void add_common_options(CLI::App& command, CommonOptions& options);
// --redact, for the commands that write the conversation log.
void add_redaction_option(CLI::App& command, CommonOptions& options);
// The store's options for --db and --redact; throws std::invalid_argument
// for an unknown kind of identifier.
store::StoreOptions log_store_options(const CommonOptions& options);

// The SQLite file --db names; empty for a PostgreSQL URL.
std::filesystem::path database_path(const CommonOptions& options);
// --db as messages may show it: an absolute path, or a URL without its
// password.
std::string describe_database(const CommonOptions& options);

// The locale directory to load, e.g. rules/en. Throws std::runtime_error
// with a clear message when none is found.
std::filesystem::path resolve_rules_dir(const CommonOptions& options);
// Loads and validates the rules; throws std::runtime_error listing every
// error when they are broken.
std::shared_ptr<const Engine> engine_from_rules(const CommonOptions& options);
// The directory of the web files (widget, pages): next to the rules.
std::filesystem::path resolve_web_dir();

// --config FILE (or BACKTALK_CONFIG): TOML with a [section] per subcommand.
// Unknown keys are an error; a key whose BACKTALK_* variable is set gives way
// to the variable.
void add_config_file_option(CLI::App& app);

void add_chat_command(CLI::App& app);
void add_rules_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_logs_command(CLI::App& app);

}  // namespace backtalk::cli
