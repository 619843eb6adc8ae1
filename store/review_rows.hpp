// The JSON the review queries answer with, built from the values a backend
// read (store/review.hpp describes it): one place for its shape, whatever
// SQL produced the values.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace backtalk::store::review {

struct ConversationFields {
    std::string id;
    std::string channel;
    std::optional<std::string> user_hash;
    std::int64_t started_ms = 0;
    std::int64_t last_activity_ms = 0;
    std::optional<std::string> locale;
    std::optional<std::string> outcome_level;
    std::optional<std::string> outcome_reasons;  // JSON array text
    int turns = 0;
    std::optional<std::string> state;
    std::optional<std::string> asking;
};

struct MessageFields {
    std::int64_t seq = 0;
    std::int64_t time_ms = 0;
    std::string direction;
    std::string kind;
    std::string text;
    std::optional<std::string> code;
    std::optional<std::string> intents;  // JSON array text
    std::optional<double> confidence;
    std::optional<bool> understood;
    std::optional<std::string> state;
    std::optional<std::string> asking;
    std::optional<std::string> triage_level;
    std::optional<std::string> triage_reasons;  // JSON array text
    std::optional<std::string> rules_version;
    std::optional<std::string> channel;
    std::int64_t processing_us = 0;
    std::optional<std::string> basis;  // JSON array text
};

nlohmann::json conversation_json(const ConversationFields& fields);
nlohmann::json message_json(const MessageFields& fields);

// An inbound message that was not understood, for `unmatched`.
struct UnmatchedMessage {
    std::string text;
    std::int64_t time_ms = 0;
    std::optional<std::string> asking;
};

// Groups by normalised text, most frequent first, at most `limit` groups (0: all).
nlohmann::json group_unmatched(const std::vector<UnmatchedMessage>& messages, std::size_t limit);

// The median, or null for none.
nlohmann::json median_or_null(std::vector<std::int64_t> values);

// One entry of stats' drop_off list.
nlohmann::json drop_off_entry(const std::optional<std::string>& state, const std::optional<std::string>& asking,
                              std::int64_t conversations);

// Outcome levels as stats list them.
nlohmann::json zero_outcomes();

// Adds `conversations` with `level` on `day` (rows come ordered by day) to
// stats' per_day list.
void add_per_day(nlohmann::json& per_day, const std::string& day, const std::string& level,
                 std::int64_t conversations);

}  // namespace backtalk::store::review
