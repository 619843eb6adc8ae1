// What the bot says: the reply objects of PROTOCOL.md, as plain data.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk {

class JsonWriter;

// Ordered by urgency so that "raise only" is a max().
enum class Level { self_care = 0, gp_soon = 1, urgent = 2, emergency = 3 };

std::string_view to_string(Level level);
std::optional<Level> level_from_string(std::string_view text);

struct QuickReply {
    std::string id;
    std::string title;
};

struct Step {
    std::string id;
    std::string title;
    std::string text;
    int hold_seconds = 0;
    int repeat = 1;
};

struct Triage {
    Level level = Level::self_care;
    std::vector<std::string> reasons;  // cause ids, most important first
};

struct Reply {
    std::string text;
    std::vector<QuickReply> quick_replies;
    std::string asking;  // topic or group id; empty means null
    std::string state;
    std::optional<Triage> triage;
    std::optional<std::vector<Step>> steps;
    std::vector<std::string> covers;  // a grouped question: the topics it asks about
};

// The JSON of the wire format and of session snapshots alike:
// [{"id": ..., "title": ...}, ...], and {"level": ..., "reasons": [...]} or null.
void write_json(JsonWriter& json, const std::vector<QuickReply>& quick_replies);
void write_json(JsonWriter& json, const std::optional<Triage>& triage);

}  // namespace backtalk
