// `backtalk logs ...`: review and maintenance of the conversation log.
// Review subcommands open the database read-only and never create it;
// maintenance goes through the store's writer like the server's own writes.
#include "adapters/cli/commands.hpp"
#include "adapters/cli/logs_print.hpp"

#include "store/location.hpp"
#include "store/review.hpp"
#include "store/store.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <stdlib.h>
#include <unistd.h>

namespace backtalk::cli {

namespace {

using nlohmann::json;
namespace review = store::review;

struct LogsOptions {
    CommonOptions common;
    std::string since;
    std::string until;
    std::string level;
    std::string channel;
    bool reviewed = false;
    bool unreviewed = false;
    std::string tag;
    std::string search;
    std::size_t limit = 0;
    std::string note;
    std::string tags;
    bool as_json = false;
    std::string id;
    std::string format;
    std::string output;
    std::string older_than;
    std::string backup_file;
};

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Says on stderr which log the command works on: without --db it is
// ./data/backtalk.db, which a reviewer in another folder would not expect
// (and whose absence is then an error, never a new empty log).
void say_which_database(const CLI::App& command, const CommonOptions& options) {
    std::cerr << "backtalk: log database " << describe_database(options);
    if (command.get_option("--db")->count() == 0) std::cerr << " (the default; --db or BACKTALK_DB names another)";
    std::cerr << '\n';
}

// Review of an existing backtalk log; never creates or changes one (an
// older schema is upgraded by `logs upgrade` or the server).
std::unique_ptr<review::ReviewReader> open_for_review(const CommonOptions& options) {
    return review::open_review_reader(store::parse_database_location(options.db_path));
}

// True when `output` names the database or one of its companion files
// (also through a link): writing there would destroy the log.
bool is_database_file(const std::filesystem::path& output, const std::filesystem::path& db) {
    std::error_code output_error;
    const auto output_path = std::filesystem::weakly_canonical(output, output_error);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        const std::filesystem::path file = db.string() + suffix;
        std::error_code ec;
        if (std::filesystem::equivalent(output, file, ec)) return true;
        const auto file_path = std::filesystem::weakly_canonical(file, ec);
        if (!output_error && !ec && output_path == file_path) return true;
    }
    return false;
}

// Writes an export through a temporary file next to `output`, renamed over it
// once complete: a failed export leaves whatever was there before.
std::size_t write_export_file(const std::filesystem::path& output, const std::filesystem::path& db,
                              const std::function<std::size_t(std::ostream&)>& write) {
    if (!db.empty() && is_database_file(output, db)) {
        throw std::runtime_error("refusing to write the export to " + output.string() + ": it is the log database");
    }
    std::string partial = output.string() + ".partial-XXXXXX";
    const int fd = ::mkstemp(partial.data());
    if (fd < 0) throw std::runtime_error("cannot write " + output.string() + ": " + std::strerror(errno));
    ::close(fd);
    try {
        std::ofstream file(partial, std::ios::binary | std::ios::trunc);
        if (!file) throw std::runtime_error("cannot write " + partial);
        const std::size_t rows = write(file);
        file.close();
        if (!file) throw std::runtime_error("writing " + output.string() + " failed");
        std::filesystem::rename(partial, output);
        return rows;
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(partial, ignored);
        throw;
    }
}

// The store for maintenance, on an existing backtalk log only: opening a
// store migrates the file, which must never happen to another program's
// database.
// The whole id of the conversation a reviewer names by its id or its first
// characters (see ReviewReader::resolve_id).
std::string full_id(review::ReviewReader& reader, const std::string& id_or_prefix) {
    const auto id = reader.resolve_id(id_or_prefix);
    if (!id) throw std::runtime_error("no conversation " + id_or_prefix);
    return *id;
}

// Who runs a command, for the audit: "cli" and the login name.
std::string cli_actor() {
    const char* user = std::getenv("USER");
    return std::string("cli ") + (user && *user ? user : std::to_string(::getuid()));
}

std::unique_ptr<store::Store> open_for_maintenance(const CommonOptions& common) {
    open_for_review(common);
    return std::make_unique<store::Store>(log_store_options(common));
}

review::Filter make_filter(const LogsOptions& options) {
    review::Filter filter;
    const std::int64_t now = now_ms();
    if (!options.since.empty()) filter.since_ms = review::parse_time_ms(options.since, now);
    if (!options.until.empty()) filter.until_ms = review::parse_time_ms(options.until, now);
    if (!options.level.empty()) filter.level = options.level;
    if (!options.channel.empty()) filter.channel = options.channel;
    if (options.reviewed) filter.reviewed = true;
    if (options.unreviewed) filter.reviewed = false;
    if (!options.tag.empty()) filter.tag = options.tag;
    if (!options.search.empty()) filter.text = options.search;
    filter.limit = options.limit;
    review::validate(filter);
    return filter;
}

void add_filter_options(CLI::App& command, LogsOptions& options, std::size_t default_limit) {
    // An empty value is a mistake (an unset shell variable, say), not "no filter".
    const auto not_empty = [](const std::string& value) { return value.empty() ? "must not be empty" : ""; };
    options.limit = default_limit;
    command
        .add_option("--since", options.since,
                    "Conversations started at or after: 2024-05-01, 2024-05-01T13:00 (UTC) or 7d (ago)")
        ->check(not_empty);
    command.add_option("--until", options.until, "Conversations started before (same forms as --since)")
        ->check(not_empty);
    command.add_option("--level", options.level, "Outcome: emergency, urgent, gp_soon, self_care or none")
        ->check(not_empty);
    command.add_option("--channel", options.channel, "terminal, websocket, rest, telegram")->check(not_empty);
    auto* reviewed = command.add_flag("--reviewed", options.reviewed, "Only conversations marked reviewed");
    command.add_flag("--unreviewed", options.unreviewed, "Only conversations not marked reviewed yet")
        ->excludes(reviewed);
    command.add_option("--tag", options.tag, "Only conversations reviewed with this tag")->check(not_empty);
    command.add_option("--search", options.search, "Only conversations where the person or the bot wrote all these words")
        ->check(not_empty);
    command.add_option("--limit", options.limit, "At most this many (0: all)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
}

void print_json(const json& value) { std::cout << value.dump(2) << '\n'; }

}  // namespace

void add_logs_command(CLI::App& app) {
    CLI::App* logs = app.add_subcommand("logs", "Review and maintain the conversation log");
    logs->require_subcommand(1);
    // Each subcommand has its own options (defaults differ, e.g. --limit).
    std::shared_ptr<LogsOptions> options;

    options = std::make_shared<LogsOptions>();
    CLI::App* list = logs->add_subcommand("list", "Conversations, newest first");
    add_common_options(*list, options->common);
    add_filter_options(*list, *options, 50);
    list->add_flag("--json", options->as_json, "Print JSON");
    list->callback([options, list] {
        say_which_database(*list, options->common);
        const auto reader = open_for_review(options->common);
        const json conversations = reader->list_conversations(make_filter(*options));
        options->as_json ? print_json(conversations) : print_list(visible(conversations));
    });

    options = std::make_shared<LogsOptions>();
    CLI::App* show = logs->add_subcommand("show", "One conversation as a transcript, with what was understood");
    add_common_options(*show, options->common);
    show->add_option("id", options->id, "Conversation id")->required();
    show->add_flag("--json", options->as_json, "Print JSON");
    show->callback([options, show] {
        say_which_database(*show, options->common);
        const auto reader = open_for_review(options->common);
        const auto transcript = reader->transcript(full_id(*reader, options->id));
        options->as_json ? print_json(*transcript) : print_transcript(visible(*transcript));
    });

    options = std::make_shared<LogsOptions>();
    CLI::App* export_command = logs->add_subcommand("export", "Every message of the selected conversations");
    add_common_options(*export_command, options->common);
    add_filter_options(*export_command, *options, 0);
    export_command->add_option("--format", options->format, "jsonl or csv")
        ->required()
        ->check(CLI::IsMember({"jsonl", "csv"}));
    export_command->add_option("--output,-o", options->output, "Write to this file instead of standard output");
    export_command->callback([options, export_command] {
        say_which_database(*export_command, options->common);
        const auto reader = open_for_review(options->common);
        const review::Filter filter = make_filter(*options);
        const auto format = *review::export_format_from_string(options->format);
        std::size_t rows = 0;
        if (options->output.empty()) {
            rows = reader->write_export(filter, format, std::cout);
            std::cout.flush();
        } else {
            rows = write_export_file(options->output, database_path(options->common), [&](std::ostream& out) {
                return reader->write_export(filter, format, out);
            });
        }
        if (!std::cout) throw std::runtime_error("writing the export failed");
        std::cerr << "exported " << rows << " messages\n";
    });

    options = std::make_shared<LogsOptions>();
    CLI::App* stats = logs->add_subcommand("stats", "Outcomes, fallback rate, turns to an outcome, drop-off");
    add_common_options(*stats, options->common);
    add_filter_options(*stats, *options, 0);
    stats->add_flag("--json", options->as_json, "Print JSON");
    stats->callback([options, stats] {
        say_which_database(*stats, options->common);
        const auto reader = open_for_review(options->common);
        const json result = reader->stats(make_filter(*options));
        options->as_json ? print_json(result) : print_stats(visible(result));
    });

    options = std::make_shared<LogsOptions>();
    CLI::App* unmatched = logs->add_subcommand("unmatched", "Messages the bot did not understand, grouped");
    add_common_options(*unmatched, options->common);
    add_filter_options(*unmatched, *options, 50);
    unmatched->add_flag("--json", options->as_json, "Print JSON");
    unmatched->callback([options, unmatched] {
        say_which_database(*unmatched, options->common);
        const auto reader = open_for_review(options->common);
        const json groups = reader->unmatched(make_filter(*options));
        options->as_json ? print_json(groups) : print_unmatched(visible(groups));
    });

    options = std::make_shared<LogsOptions>();
    CLI::App* purge = logs->add_subcommand("purge", "Delete conversations last active longer ago than a duration");
    add_common_options(*purge, options->common);
    purge->add_option("--older-than", options->older_than, "e.g. 30d, 12h, 2w")->required();
    purge->callback([options, purge] {
        say_which_database(*purge, options->common);
        const std::int64_t cutoff = now_ms() - review::parse_duration_ms(options->older_than);
        auto log = open_for_maintenance(options->common);
        const std::size_t removed = log->purge_before(cutoff);
        log->close();
        std::cout << "purged " << removed << " conversation" << (removed == 1 ? "" : "s")
                  << " last active before " << review::format_time_utc(cutoff) << '\n';
    });

    options = std::make_shared<LogsOptions>();
    CLI::App* delete_command = logs->add_subcommand("delete", "Delete one conversation, its messages and session");
    add_common_options(*delete_command, options->common);
    delete_command->add_option("id", options->id, "Conversation id")->required();
    delete_command->callback([options, delete_command] {
        say_which_database(*delete_command, options->common);
        auto log = open_for_maintenance(options->common);
        const bool found = log->delete_conversation(options->id);
        log->close();
        if (!found) throw std::runtime_error("no conversation " + options->id);
        std::cout << "deleted conversation " << options->id << '\n';
    });

    options = std::make_shared<LogsOptions>();
    CLI::App* review_command =
        logs->add_subcommand("review", "Mark a conversation reviewed, with a note and tags (again: replaces them)");
    add_common_options(*review_command, options->common);
    review_command->add_option("id", options->id, "Conversation id, or its first or last 8 or more characters")->required();
    review_command->add_option("--note", options->note, "What the reviewer found");
    review_command->add_option("--tags", options->tags, "Words to filter by, separated by commas, e.g. follow-up,wording");
    review_command->callback([options, review_command] {
        say_which_database(*review_command, options->common);
        review::ReviewMark mark;
        mark.conversation = full_id(*open_for_review(options->common), options->id);
        mark.time_ms = now_ms();
        mark.reviewer = cli_actor();
        mark.note = options->note;
        mark.tags = review::parse_tags(options->tags);
        review::validate(mark);
        auto log = open_for_maintenance(options->common);
        const bool found = log->mark_reviewed(mark);
        if (found) {
            log->record_audit({mark.time_ms, mark.reviewer, "review", mark.conversation + " tags=" + json(mark.tags).dump()});
        }
        log->close();
        if (!found) throw std::runtime_error("no conversation " + options->id);
        std::cout << "marked " << mark.conversation << " reviewed\n";
    });

    options = std::make_shared<LogsOptions>();
    CLI::App* upgrade = logs->add_subcommand("upgrade", "Bring the database to this backtalk's schema");
    add_common_options(*upgrade, options->common);
    upgrade->callback([options, upgrade] {
        say_which_database(*upgrade, options->common);
        int before = 0;
        {
            before = open_for_review(options->common)->schema_version();
        }
        auto log = open_for_maintenance(options->common);
        const store::StoreHealth health = log->health();
        log->close();
        // The store opens a database it cannot write yet as degraded rather
        // than failing: check what the file says now.
        const auto reader = open_for_review(options->common);
        const int latest = reader->latest_schema_version();
        if (reader->schema_version() != latest) {
            throw std::runtime_error("could not upgrade " + describe_database(options->common) +
                                     (health.reason.empty() ? std::string() : ": " + health.reason));
        }
        std::cout << describe_database(options->common) << ": schema " << before;
        if (before == latest) std::cout << ", up to date\n";
        else std::cout << " upgraded to " << latest << '\n';
    });

    options = std::make_shared<LogsOptions>();
    CLI::App* backup = logs->add_subcommand("backup", "Copy the live database (online backup, then quick_check)");
    add_common_options(*backup, options->common);
    backup->add_option("file", options->backup_file, "Where to write the copy (must not exist)")->required();
    backup->callback([options, backup] {
        say_which_database(*backup, options->common);
        auto log = open_for_maintenance(options->common);
        log->backup_to(options->backup_file);
        log->close();
        std::cout << "backed up " << describe_database(options->common) << " to " << options->backup_file
                  << " (quick_check ok)\n";
    });
}

}  // namespace backtalk::cli
