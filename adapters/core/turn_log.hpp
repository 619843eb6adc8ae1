// What a turn of the conversation service gives the log: the conversation's
// row, the person's object and each of the bot's, as one store::TurnLog.
#pragma once

#include "adapters/core/conversations.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace backtalk {

using SharedSession = std::shared_ptr<const Session>;

// What a turn did, for the log.
struct TurnRecord {
    std::string kind;  // of the inbound object
    std::string text;
    SharedSession before;  // null for a new conversation
    TurnNotes notes;
    bool understood_default = false;
};

// The inbound object's kind (start, message, choice) and text, as logged.
std::string inbound_kind(const protocol::ClientObject& object);
std::string inbound_text(const protocol::ClientObject& object);

// The turn of conversation `id` that left it at `after` (its version
// `session_version` in a shared store), answered with `out`. `with_session`:
// the log carries the new session too (a store that writes sessions with its
// log rather than on commit).
store::TurnLog turn_log(const std::string& id, const ChannelInfo& channel, const TurnRecord& turn,
                        const std::vector<OutObject>& out, const SharedSession& after, bool with_session,
                        std::uint64_t session_version, std::int64_t now, std::int64_t processing_us);

}  // namespace backtalk
