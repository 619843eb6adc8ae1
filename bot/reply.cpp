#include "bot/reply.hpp"

#include "bot/json_writer.hpp"

#include <array>

namespace backtalk {

namespace {
constexpr std::array<std::string_view, 4> level_names{"self_care", "gp_soon", "urgent", "emergency"};
}

std::string_view to_string(Level level) { return level_names.at(static_cast<std::size_t>(level)); }

std::optional<Level> level_from_string(std::string_view text) {
    for (std::size_t i = 0; i < level_names.size(); ++i) {
        if (level_names[i] == text) return static_cast<Level>(i);
    }
    return std::nullopt;
}

void write_json(JsonWriter& json, const std::vector<QuickReply>& quick_replies) {
    json.open('[');
    for (const auto& q : quick_replies) {
        json.open('{');
        json.key("id");
        json.string(q.id);
        json.key("title");
        json.string(q.title);
        json.close('}');
    }
    json.close(']');
}

void write_json(JsonWriter& json, const std::optional<Triage>& triage) {
    if (!triage) return json.literal("null");
    json.open('{');
    json.key("level");
    json.string(to_string(triage->level));
    json.key("reasons");
    json.strings(triage->reasons);
    json.close('}');
}

}  // namespace backtalk
