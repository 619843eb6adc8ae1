// Review of the conversation log, shared by `backtalk logs` and the admin
// API: filters, the queries a ReviewReader answers (as JSON, whatever the
// backend), and the parsing and formatting around them.
#pragma once

#include "store/location.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::store::review {

// Selects conversations; every query applies the same filter.
struct Filter {
    std::optional<std::int64_t> since_ms;  // started at or after (ms since the epoch)
    std::optional<std::int64_t> until_ms;  // started before
    std::optional<std::string> level;      // an outcome level, or "none" for no outcome yet
    std::optional<std::string> channel;
    std::optional<bool> reviewed;          // true: marked reviewed; false: not yet
    std::optional<std::string> tag;        // reviewed with this tag
    // Full text: conversations in which the person or the bot wrote every
    // one of these words (case and accents aside).
    std::optional<std::string> text;
    std::size_t limit = 0;                 // conversations (list, export) or groups (unmatched); 0: all
};

// The channels conversations come from, as the log names them.
inline constexpr std::array<std::string_view, 4> channels{"terminal", "websocket", "rest", "telegram"};

// Throws std::invalid_argument naming the bad value (an unknown level or
// channel, an empty range, a malformed tag).
void validate(const Filter& filter);

// A reviewer's mark on a conversation. Marking again replaces the mark.
struct ReviewMark {
    std::string conversation;  // the full id
    std::int64_t time_ms = 0;
    std::string reviewer;      // who: "admin-api 127.0.0.1", "cli alice"
    std::string note;
    std::vector<std::string> tags;
};

// Tags are short words people filter by: 1 to 32 characters of a-z, 0-9,
// '-' and '_'; at most 10 per conversation. Notes hold at most 2000 bytes.
inline constexpr std::size_t max_tag_length = 32;
inline constexpr std::size_t max_tags = 10;
inline constexpr std::size_t max_note_bytes = 2000;

// Throws std::invalid_argument naming what is wrong (a bad or repeated tag,
// too many tags, a note too long).
void validate(const ReviewMark& mark);
// The same check for one tag (a filter's).
void validate_tag(const std::string& tag);

// The words of a full-text search as people type them: letters and digits,
// split at anything else ("can't walk!" -> can, t, walk). Throws
// std::invalid_argument when there is no word or more than 20.
std::vector<std::string> search_words(std::string_view text);

// Tags as people type them: separated by commas or spaces, lower-cased,
// empty pieces dropped ("Follow-up, wording" -> follow-up, wording).
std::vector<std::string> parse_tags(std::string_view text);

// Conversation ids are 32 hex digits: 12 of the start time in milliseconds,
// then 20 random ones. People may name one by its first or its last 8 or
// more digits. The last 8 (random) tell conversations apart; the first 8
// are shared by every conversation started within the same 65 seconds.
inline constexpr std::size_t min_short_id = 8;

enum class ExportFormat { jsonl, csv };
std::optional<ExportFormat> export_format_from_string(std::string_view text);

// Read-only review queries on one consistent view of the log per call.
// Each throws std::invalid_argument for a bad filter and std::runtime_error
// when the log cannot be read.
class ReviewReader {
public:
    virtual ~ReviewReader() = default;

    // Newest first: [{id, channel, user_hash, started, last_activity, locale,
    // outcome: {level, reasons} | null, turns, state, asking,
    // review: {time, time_ms, reviewer, note, tags} | null}]; times are ISO
    // 8601 UTC strings, with the milliseconds in started_ms / last_activity_ms.
    virtual nlohmann::json list_conversations(const Filter& filter) = 0;

    // The full id of the conversation `id_or_prefix` names: the id itself,
    // or the only conversation whose id starts or ends with it (at least
    // min_short_id characters). Nothing when no conversation matches;
    // std::invalid_argument for a short id too short or one that several
    // conversations share (naming them).
    virtual std::optional<std::string> resolve_id(const std::string& id_or_prefix) = 0;

    // {conversation: {...as in list, or null if only messages remain},
    // messages: [{seq, time, direction, kind, text, code, intents,
    // confidence, understood, state, asking, triage, rules_version, channel,
    // processing_us, basis: [{rule, level, facts: [{slot, value, turn}]}]}]},
    // or nothing if the id is unknown.
    virtual std::optional<nlohmann::json> transcript(const std::string& id) = 0;

    // Every message of the selected conversations, conversation by
    // conversation (oldest first), in sequence, as JSON lines or CSV (with a
    // header line): the message fields plus "conversation". Returns the rows
    // written.
    virtual std::size_t write_export(const Filter& filter, ExportFormat format, std::ostream& out) = 0;

    // {conversations, turns, messages_in, messages_out,
    //  outcomes: {emergency, urgent, gp_soon, self_care, none},
    //  fallback_rate: share of inbound messages not understood (null if none),
    //  median_turns_to_outcome (null if no outcome yet),
    //  drop_off: [{state, asking, conversations}] for conversations without
    //  an outcome, most first,
    //  per_day: [{day, conversations, emergency, urgent, gp_soon, self_care, none,
    //             typed, not_understood, not_understood_rate (null if nothing typed)}]}
    virtual nlohmann::json stats(const Filter& filter) = 0;

    // Inbound messages not understood, grouped by normalised text, most
    // frequent first: [{text, count, example, last_seen, asking: {topic: count},
    // seen: [{conversation, time, asking, question}]}], where seen lists the
    // newest few occurrences with the bot's question that was open (the
    // reply before the message; null at the start).
    virtual nlohmann::json unmatched(const Filter& filter) = 0;

    // The log's schema version, and the one this backtalk writes.
    virtual int schema_version() = 0;
    virtual int latest_schema_version() const = 0;
};

// Opens an existing backtalk log for review only: never creates, migrates or
// writes it. Throws std::runtime_error saying why not (no such log, not a
// backtalk log, from a newer backtalk, no permission to read it).
std::unique_ptr<ReviewReader> open_review_reader(const DatabaseLocation& location);

// Writes the rows `for_each_row` produces as JSON lines or CSV (a header,
// then one line per row; cells a spreadsheet would run as formulas are
// quoted). Returns the rows written.
std::size_t write_export_rows(
    ExportFormat format, std::ostream& out,
    const std::function<void(const std::function<void(const nlohmann::json&)>&)>& for_each_row);

// Lower case (ASCII), single spaces, no sentence punctuation at either end: the key
// that groups unmatched messages.
std::string normalise_for_grouping(std::string_view text);

// A message's basis as one line: "EM-1 (emergency): saddle_numbness=yes @turn
// 3, bladder=new @turn 3; EM-2 (...)"; empty when it has none.
std::string basis_text(const nlohmann::json& basis);

// 2024-05-01T10:00:00.123Z
std::string format_time_utc(std::int64_t ms);

// Filter values as people type them (command line, admin query strings).
// "30d", "12h", "90m", "45s", "2w" in milliseconds; throws
// std::invalid_argument with an example of what works.
std::int64_t parse_duration_ms(std::string_view text);
// "2024-05-01" (midnight UTC), "2024-05-01T13:00", "2024-05-01T13:00:30Z"
// (UTC), or a duration back from `now_ms` ("7d": a week ago). Throws
// std::invalid_argument.
std::int64_t parse_time_ms(std::string_view text, std::int64_t now_ms);

}  // namespace backtalk::store::review
