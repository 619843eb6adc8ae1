// `backtalk logs ...`: review and maintenance of the conversation log.
// Review subcommands open the database read-only and never create it;
// maintenance goes through the store's writer like the server's own writes.
#include "adapters/cli/commands.hpp"

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
    std::size_t limit = 0;
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
    command.add_option("--limit", options.limit, "At most this many (0: all)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
}

std::string text_or(const json& value, const std::string& fallback) {
    return value.is_string() ? value.get<std::string>() : fallback;
}

std::string outcome_text(const json& triage) {
    if (triage.is_null()) return "-";
    std::string text = triage.at("level").get<std::string>();
    const json& reasons = triage.at("reasons");
    if (!reasons.empty()) {
        text += " (";
        for (std::size_t i = 0; i < reasons.size(); ++i) text += (i > 0 ? ", " : "") + reasons[i].get<std::string>();
        text += ")";
    }
    return text;
}

// "2024-05-01T10:00:00.000Z" -> "2024-05-01 10:00:00"
std::string readable_time(const json& iso) { return iso.get<std::string>().substr(0, 19).replace(10, 1, " "); }

// Text as a terminal should show it: what people typed may hold escape
// sequences (clearing the screen, setting the title) or line breaks and
// carriage returns that forge rows, so control characters (C0, DEL and
// C1) are printed as visible escapes.
std::string visible(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        const bool c1 = byte == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                        static_cast<unsigned char>(text[i + 1]) <= 0x9f;
        if (byte == '\n') {
            out += "\\n";
        } else if (byte < 0x20 || byte == 0x7f || c1) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\x%02x", c1 ? static_cast<unsigned char>(text[++i]) : byte);
            out += escape;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Every string in `value` made visible(), for the human-readable printers.
json visible(json value) {
    if (value.is_string()) return visible(value.get<std::string>());
    if (value.is_structured()) {
        for (auto& item : value) item = visible(std::move(item));
    }
    return value;
}

void print_list(const json& conversations) {
    if (conversations.empty()) {
        std::cout << "no conversations match\n";
        return;
    }
    std::cout << std::left << std::setw(34) << "ID" << std::setw(21) << "STARTED (UTC)" << std::setw(11) << "CHANNEL"
              << std::setw(7) << "TURNS" << "OUTCOME / STOPPED AT\n";
    for (const json& conversation : conversations) {
        std::string where = outcome_text(conversation.at("outcome"));
        if (conversation.at("outcome").is_null()) {
            where = "stopped at " + text_or(conversation.at("state"), "?");
            if (conversation.at("asking").is_string()) where += " / " + conversation.at("asking").get<std::string>();
        }
        std::cout << std::setw(34) << conversation.at("id").get<std::string>() << std::setw(21)
                  << readable_time(conversation.at("started")) << std::setw(11)
                  << conversation.at("channel").get<std::string>() << std::setw(7)
                  << conversation.at("turns").get<int>() << where << '\n';
    }
}

void print_transcript(const json& transcript) {
    const json& conversation = transcript.at("conversation");
    std::cout << "Conversation " << transcript.at("id").get<std::string>() << '\n';
    if (conversation.is_null()) {
        std::cout << "  (its summary row is missing; messages only)\n";
    } else {
        std::cout << "  channel " << conversation.at("channel").get<std::string>() << ", locale "
                  << text_or(conversation.at("locale"), "?") << ", " << conversation.at("turns").get<int>()
                  << " turns\n"
                  << "  started " << readable_time(conversation.at("started")) << ", last activity "
                  << readable_time(conversation.at("last_activity")) << " (UTC)\n"
                  << "  outcome " << outcome_text(conversation.at("outcome")) << '\n';
    }
    std::cout << '\n';
    for (const json& message : transcript.at("messages")) {
        const bool inbound = message.at("direction") == "in";
        const std::string kind = message.at("kind").get<std::string>();
        std::string text = message.at("text").get<std::string>();
        if (kind == "start" || kind == "session") text = "[" + kind + "]" + (text.empty() ? "" : " " + text);
        if (kind == "choice") text = "[choice] " + text;
        if (kind == "error") text = "[error " + text_or(message.at("code"), "?") + "] " + text;
        if (kind == "invalid") text = "[invalid] " + text;
        std::cout << std::right << std::setw(4) << ("#" + std::to_string(message.at("seq").get<int>())) << "  "
                  << message.at("time").get<std::string>().substr(11, 12) << "  " << (inbound ? "> " : "< ")
                  << text << '\n';
        std::string notes;
        if (inbound && kind != "start") {
            if (message.at("understood") == true) {
                std::ostringstream confidence;
                confidence << std::fixed << std::setprecision(2) << message.at("confidence").get<double>();
                notes = "understood";
                if (!message.at("intents").empty()) {
                    notes += ":";
                    for (const json& intent : message.at("intents")) notes += " " + intent.get<std::string>();
                }
                notes += " (confidence " + confidence.str() + ")";
            } else if (message.at("understood") == false) {
                notes = "NOT UNDERSTOOD";
            }
            if (message.at("asking").is_string()) notes += ", answering " + message.at("asking").get<std::string>();
        } else if (!inbound && kind == "reply") {
            notes = "state " + text_or(message.at("state"), "?");
            if (message.at("asking").is_string()) notes += ", asking " + message.at("asking").get<std::string>();
            if (!message.at("triage").is_null()) notes += ", triage " + outcome_text(message.at("triage"));
        }
        if (!message.at("basis").empty()) {
            notes += (notes.empty() ? "" : "\n" + std::string(24, ' ')) + "because " +
                     review::basis_text(message.at("basis"));
        }
        if (!notes.empty()) std::cout << std::string(24, ' ') << notes << '\n';
    }
}

void print_stats(const json& stats) {
    const auto line = [](const std::string& label, const std::string& value) {
        std::cout << std::left << std::setw(28) << label << value << '\n';
    };
    line("conversations", std::to_string(stats.at("conversations").get<std::int64_t>()));
    line("turns", std::to_string(stats.at("turns").get<std::int64_t>()));
    line("messages in / out", std::to_string(stats.at("messages_in").get<std::int64_t>()) + " / " +
                                  std::to_string(stats.at("messages_out").get<std::int64_t>()));
    std::string outcomes;
    for (const char* level : {"emergency", "urgent", "gp_soon", "self_care", "none"}) {
        if (!outcomes.empty()) outcomes += ", ";
        outcomes += std::string(level) + " " + std::to_string(stats.at("outcomes").at(level).get<std::int64_t>());
    }
    line("outcomes", outcomes);
    std::ostringstream rate;
    if (stats.at("fallback_rate").is_null()) {
        rate << "- (no messages)";
    } else {
        rate << std::fixed << std::setprecision(1) << stats.at("fallback_rate").get<double>() * 100.0
             << "% of typed messages not understood";
    }
    line("fallback rate", rate.str());
    const json& median = stats.at("median_turns_to_outcome");
    line("median turns to an outcome", median.is_null() ? "- (no outcome yet)" : median.dump());
    if (!stats.at("drop_off").empty()) {
        std::cout << "where conversations without an outcome stopped:\n";
        for (const json& stop : stats.at("drop_off")) {
            std::cout << std::right << std::setw(8) << stop.at("conversations").get<std::int64_t>() << "  "
                      << text_or(stop.at("state"), "?") << " / " << text_or(stop.at("asking"), "-") << '\n';
        }
    }
}

void print_unmatched(const json& groups) {
    if (groups.empty()) {
        std::cout << "every message was understood\n";
        return;
    }
    std::cout << std::right << std::setw(6) << "COUNT" << "  " << std::left << std::setw(40) << "TEXT"
              << "  WHILE ASKING\n";
    for (const json& group : groups) {
        std::string asking;
        for (const auto& [topic, count] : group.at("asking").items()) {
            if (!asking.empty()) asking += ", ";
            asking += topic + " " + std::to_string(count.get<std::int64_t>());
        }
        std::cout << std::right << std::setw(6) << group.at("count").get<std::int64_t>() << "  " << std::left
                  << std::setw(40) << group.at("text").get<std::string>() << "  " << asking << '\n';
    }
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
        const auto transcript = reader->transcript(options->id);
        if (!transcript) throw std::runtime_error("no conversation " + options->id);
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
