// The state of one conversation. Plain data that round-trips through JSON, so
// a channel can persist it after every turn and resume it after a restart.
#pragma once

#include "bot/reply.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace backtalk {

// yes / no / unsure answers are strings "yes", "no", "unsure"; numbers are
// doubles (days, years, 0-10 scores); choices are strings.
using SlotValue = std::variant<std::string, double>;

// Lexicographic, as std::less, but slot names mostly differ in their first
// letter, so that letter is compared before the whole name: triage
// conditions look slots up for every rule of every turn.
struct SlotNameOrder {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept {
        if (!a.empty() && !b.empty() && a.front() != b.front()) {
            return static_cast<unsigned char>(a.front()) < static_cast<unsigned char>(b.front());
        }
        return a < b;
    }
};
using Slots = std::map<std::string, SlotValue, SlotNameOrder>;

struct Session {
    std::string state;                       // a state id from rules/<locale>/flow.json
    std::string asking;                      // topic waiting for an answer; empty if none
    int attempts = 0;                        // unclear answers ("not sure") to `asking` so far
    int non_answers = 0;                     // messages that did not answer `asking` (off topic, gibberish)
    Slots slots;                             // what is known so far
    std::map<std::string, int> slot_turns;   // the turn that last set each slot, for the log's explanation
    Slots pending_correction;                // findings the person said were wrong, waiting for their yes
    std::vector<std::string> asked;          // topics and groups asked, in order
    std::vector<std::string> one_at_a_time;  // groups whose topics are asked singly (after "yes" or "not sure")
    std::vector<std::string> followed_up;    // topics whose follow-up question was asked
    std::string picking;                     // group whose "which one?" is open, after a bare yes to it
    std::optional<Triage> triage;            // set once an outcome is given; only rises
    int step_index = 0;                      // position in the stretching plan
    std::vector<QuickReply> offered;         // quick replies of the latest reply
    int turns = 0;                           // client objects handled
    std::int64_t started_ms = 0;
    std::int64_t last_active_ms = 0;
    std::string rules_version;
    std::string locale = "en";
};

// The session as JSON text: what the store keeps to resume it.
std::string session_snapshot(const Session& session);
// Throws std::runtime_error on a snapshot that is not a session.
Session session_from_json(const nlohmann::json& snapshot);

}  // namespace backtalk
