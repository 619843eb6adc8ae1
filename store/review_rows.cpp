#include "store/review_rows.hpp"

#include "store/review.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>
#include <unordered_map>

namespace backtalk::store::review {

namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 4> levels_most_urgent_first{"emergency", "urgent", "gp_soon", "self_care"};

json text_or_null(const std::optional<std::string>& text) { return text ? json(*text) : json(nullptr); }

json json_array_or_empty(const std::optional<std::string>& text) {
    if (!text) return json::array();
    json parsed = json::parse(*text, nullptr, false);
    return parsed.is_array() ? parsed : json::array();
}

json triage_or_null(const std::optional<std::string>& level, const std::optional<std::string>& reasons) {
    if (!level) return nullptr;
    return json{{"level", *level}, {"reasons", json_array_or_empty(reasons)}};
}

}  // namespace

json conversation_json(const ConversationFields& fields) {
    return json{{"id", fields.id},
                {"channel", fields.channel},
                {"user_hash", text_or_null(fields.user_hash)},
                {"started", format_time_utc(fields.started_ms)},
                {"started_ms", fields.started_ms},
                {"last_activity", format_time_utc(fields.last_activity_ms)},
                {"last_activity_ms", fields.last_activity_ms},
                {"locale", text_or_null(fields.locale)},
                {"outcome", triage_or_null(fields.outcome_level, fields.outcome_reasons)},
                {"turns", fields.turns},
                {"state", text_or_null(fields.state)},
                {"asking", text_or_null(fields.asking)}};
}

json message_json(const MessageFields& fields) {
    return json{{"seq", fields.seq},
                {"time", format_time_utc(fields.time_ms)},
                {"time_ms", fields.time_ms},
                {"direction", fields.direction},
                {"kind", fields.kind},
                {"text", fields.text},
                {"code", text_or_null(fields.code)},
                {"intents", json_array_or_empty(fields.intents)},
                {"confidence", fields.confidence ? json(*fields.confidence) : json(nullptr)},
                {"understood", fields.understood ? json(*fields.understood) : json(nullptr)},
                {"state", text_or_null(fields.state)},
                {"asking", text_or_null(fields.asking)},
                {"triage", triage_or_null(fields.triage_level, fields.triage_reasons)},
                {"rules_version", text_or_null(fields.rules_version)},
                {"channel", text_or_null(fields.channel)},
                {"processing_us", fields.processing_us},
                {"basis", json_array_or_empty(fields.basis)}};
}

json group_unmatched(const std::vector<UnmatchedMessage>& messages, std::size_t limit) {
    struct Group {
        std::int64_t count = 0;
        std::string example;
        std::int64_t last_seen = 0;
        std::map<std::string, std::int64_t> asking;
    };
    std::unordered_map<std::string, Group> groups;
    for (const UnmatchedMessage& message : messages) {
        Group& group = groups[normalise_for_grouping(message.text)];
        if (group.count == 0) group.example = message.text;
        ++group.count;
        group.last_seen = std::max(group.last_seen, message.time_ms);
        ++group.asking[message.asking.value_or("none")];
    }
    std::vector<std::pair<std::string, Group>> sorted(groups.begin(), groups.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.second.count != b.second.count ? a.second.count > b.second.count : a.first < b.first;
    });
    if (limit > 0 && sorted.size() > limit) sorted.resize(limit);
    json result = json::array();
    for (const auto& [text, group] : sorted) {
        result.push_back({{"text", text},
                          {"count", group.count},
                          {"example", group.example},
                          {"last_seen", format_time_utc(group.last_seen)},
                          {"asking", group.asking}});
    }
    return result;
}

json median_or_null(std::vector<std::int64_t> values) {
    if (values.empty()) return nullptr;
    std::sort(values.begin(), values.end());
    const std::size_t middle = values.size() / 2;
    if (values.size() % 2 == 1) return values[middle];
    return static_cast<double>(values[middle - 1] + values[middle]) / 2.0;
}

json drop_off_entry(const std::optional<std::string>& state, const std::optional<std::string>& asking,
                    std::int64_t conversations) {
    return {{"state", text_or_null(state)}, {"asking", text_or_null(asking)}, {"conversations", conversations}};
}

json zero_outcomes() {
    json outcomes = json::object();
    for (std::string_view level : levels_most_urgent_first) outcomes[std::string(level)] = 0;
    outcomes["none"] = 0;
    return outcomes;
}

void add_per_day(json& per_day, const std::string& day, const std::string& level, std::int64_t conversations) {
    if (per_day.empty() || per_day.back().at("day") != day) {
        json entry{{"day", day}, {"conversations", 0}};
        entry.update(zero_outcomes());
        per_day.push_back(std::move(entry));
    }
    json& entry = per_day.back();
    entry[level] = conversations;
    entry["conversations"] = entry["conversations"].get<std::int64_t>() + conversations;
}

}  // namespace backtalk::store::review
