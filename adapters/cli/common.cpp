#include "adapters/cli/commands.hpp"

#include "bot/utf8.hpp"
#include "store/location.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>

namespace backtalk::cli {

namespace {
std::string read_database_file(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the database file " + file);
    const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::string location{utf8::trim(content)};
    if (location.empty()) throw std::runtime_error("the database file " + file + " is empty");
    try {
        store::parse_database_location(location);  // refuses what --db refuses
    } catch (const std::invalid_argument& error) {
        // The message names the location's kind, never the URL (its password).
        throw std::runtime_error("the database file " + file + ": " + error.what());
    }
    return location;
}
}  // namespace

void add_common_options(CLI::App& command, CommonOptions& options) {
    command.add_option("--rules", options.rules_dir, "Rules directory (holds <locale>/)")
        ->envname("BACKTALK_RULES");
    command.add_option("--db", options.db_path, "Database: a SQLite file path, or a postgresql:// URL")
        ->envname("BACKTALK_DB")
        ->capture_default_str()
        ->check([](const std::string& text) {
            try {
                store::parse_database_location(text);
                return std::string();
            } catch (const std::invalid_argument& error) {
                return std::string(error.what());
            }
        });
    // The location read from a file (systemd's LoadCredential=, a container
    // secret), so a URL's password is in neither the unit, the image nor the
    // environment. Declared after --db, so CLI11 applies it last: it wins.
    command.add_option("--db-file", "A file holding the database location, e.g. a postgresql:// URL "
                                    "with its password (wins over --db)")
        ->envname("BACKTALK_DB_FILE")
        ->each([&options](const std::string& file) { options.db_path = read_database_file(file); });
    command.add_option("--locale", options.locale, "Language of the rules")
        ->envname("BACKTALK_LOCALE")
        ->capture_default_str();
    command.add_option("--emergency-number", options.emergency_number,
                       "Emergency phone number shown to people (default: the locale's)")
        ->envname("BACKTALK_EMERGENCY_NUMBER")
        ->check([](const std::string& number) {
            return is_dialable_number(number) ? std::string()
                                              : "'" + number + "' is not a number people can dial (e.g. 112, 911, +44 20 7946 0958)";
        });
}

void add_redaction_option(CLI::App& command, CommonOptions& options) {
    command.add_option("--redact", options.redact,
                       "What the log replaces in what people type: a comma list of emails, phones, ids; "
                       "or none")
        ->envname("BACKTALK_REDACT")
        ->capture_default_str();
}

store::StoreOptions log_store_options(const CommonOptions& options) {
    store::StoreOptions store_options;
    const store::DatabaseLocation location = store::parse_database_location(options.db_path);
    if (location.backend == store::Backend::postgresql) store_options.postgresql_url = location.text;
    else store_options.path = location.text;
    store::RedactionOptions& redaction = store_options.redaction;
    redaction = {false, false, false};
    if (options.redact != "none") {
        std::string_view rest = options.redact;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            const std::string_view kind = rest.substr(0, comma);
            if (kind == "emails") redaction.emails = true;
            else if (kind == "phones") redaction.phones = true;
            else if (kind == "ids") redaction.identifiers = true;
            else throw std::invalid_argument("--redact takes emails, phones, ids (comma separated) or none, not '" +
                                             std::string(kind) + "'");
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
    }
    store_options.redact = redaction.emails || redaction.phones || redaction.identifiers;
    return store_options;
}

namespace {
bool has_locale(const std::filesystem::path& root, const std::string& locale) {
    std::error_code ec;
    return std::filesystem::is_directory(root / locale, ec);
}
}  // namespace

std::filesystem::path database_path(const CommonOptions& options) {
    const store::DatabaseLocation location = store::parse_database_location(options.db_path);
    if (location.backend == store::Backend::postgresql) return {};
    return location.text;
}

std::string describe_database(const CommonOptions& options) {
    const store::DatabaseLocation location = store::parse_database_location(options.db_path);
    if (location.backend == store::Backend::postgresql) return store::describe_location(location);
    std::error_code ec;
    const auto full = std::filesystem::absolute(location.text, ec);
    return ec ? location.text : full.string();
}

std::filesystem::path resolve_rules_dir(const CommonOptions& options) {
    if (!options.rules_dir.empty()) {
        std::filesystem::path root{options.rules_dir};
        // Accept both rules/ and rules/en.
        if (has_locale(root, options.locale)) return root / options.locale;
        std::error_code ec;
        if (std::filesystem::exists(root / "flow.json", ec)) return root;
        throw std::runtime_error("no rules for locale '" + options.locale + "' in " + root.string());
    }
    for (const std::filesystem::path& root : {std::filesystem::path("rules"),
                                             std::filesystem::path(BACKTALK_DATA_DIR) / "rules"}) {
        if (has_locale(root, options.locale)) return root / options.locale;
    }
    throw std::runtime_error("no rules found: run from the repository root, install backtalk, "
                             "or pass --rules DIR");
}

std::filesystem::path resolve_web_dir() {
    for (const std::filesystem::path& dir : {std::filesystem::path("adapters/web"),
                                            std::filesystem::path(BACKTALK_DATA_DIR) / "web"}) {
        std::error_code ec;
        if (std::filesystem::exists(dir / "widget.js", ec)) return dir;
    }
    throw std::runtime_error("web files not found: run from the repository root or install backtalk");
}

}  // namespace backtalk::cli
