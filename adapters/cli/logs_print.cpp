#include "adapters/cli/logs_print.hpp"

#include "store/review.hpp"

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace backtalk::cli {

namespace {

using nlohmann::json;
namespace review = store::review;

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

// "reviewed 2024-05-01 10:00:00 by cli alice, tags follow-up; note: ..."
std::string review_text(const json& mark, bool with_note) {
    std::string text = "reviewed " + readable_time(mark.at("time")) + " by " + mark.at("reviewer").get<std::string>();
    if (!mark.at("tags").empty()) {
        text += ", tags";
        for (const json& tag : mark.at("tags")) text += " " + tag.get<std::string>();
    }
    if (with_note && !mark.at("note").get<std::string>().empty()) text += "; note: " + mark.at("note").get<std::string>();
    return text;
}

}  // namespace

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
        if (conversation.at("review").is_object()) where += "  [" + review_text(conversation.at("review"), false) + "]";
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
        if (conversation.at("review").is_object()) std::cout << "  " << review_text(conversation.at("review"), true) << '\n';
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
        // The newest occurrence, to open with `logs show`.
        const json& latest = group.at("seen").at(0);
        std::cout << std::string(8, ' ') << "latest in " << latest.at("conversation").get<std::string>();
        if (latest.at("question").is_string()) std::cout << " after: " << latest.at("question").get<std::string>();
        std::cout << '\n';
    }
}

}  // namespace backtalk::cli
