// A turn's log row, whatever the database: the person's object (JSON, or
// none when the turn has none) and the bot's replies (a JSON array), each
// with its triage and the rule basis behind it, instead of one row per
// object. A row's objects take consecutive sequence numbers in order.
//
// A row is a person's object and the replies queued right after it for the
// same conversation (a logged turn), or replies with no object before them;
// a turn split across two batches takes two rows, which read back the same.
#pragma once

#include "store/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::store::detail {

// One object of the log, as the row stores it. The JSON fields (intents,
// reasons, basis) are JSON text; empty text fields are left out (read back
// as NULL, as the one-row-per-object log stored them).
struct LoggedObject {
    std::int64_t time_ms = 0;
    bool inbound = false;
    std::string_view kind;
    std::string_view text;
    std::string_view code;
    std::string intents;  // inbound only
    std::optional<double> confidence;
    std::optional<bool> understood;
    std::string_view state;
    std::string_view asking;
    std::string_view level;
    std::string reasons;
    std::string basis;
    std::string_view rules_version;
    std::string_view channel;
    std::optional<std::int64_t> processing_us;
    std::uint64_t session_version = 0;
};

// The row's view of a record; the record must outlive it.
LoggedObject logged_object(const MessageRecord& record);

// Whether `object` of `conversation` continues the row being gathered
// (`row` of `row_conversation`): replies join the row before them.
bool joins_turn_row(const std::vector<LoggedObject>& row, std::string_view row_conversation,
                    std::string_view conversation, const LoggedObject& object);

// A row's columns. It takes the time, rules version, channel and processing
// time of its first object; an object whose own differ carries them in its
// JSON ("time", "rules_version", "channel", "processing_us"; null for none).
struct TurnRow {
    std::int64_t time_ms = 0;
    std::int64_t objects = 0;
    std::string person;   // JSON object; empty: none
    std::string replies;  // JSON array
    std::string_view rules_version;
    std::string_view channel;
    std::optional<std::int64_t> processing_us;
    std::uint64_t session_version = 0;  // the first object's
};

// `objects`: not empty; only the first may be inbound.
TurnRow turn_row(const std::vector<LoggedObject>& objects);

}  // namespace backtalk::store::detail
