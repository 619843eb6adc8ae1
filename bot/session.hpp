// The state of one conversation. Plain data that round-trips through JSON, so
// a channel can persist it after every turn and resume it after a restart.
#pragma once

#include "bot/reply.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace backtalk {

// yes / no / unsure answers are strings "yes", "no", "unsure"; numbers are
// doubles (days, years, 0-10 scores); choices are strings.
using SlotValue = std::variant<std::string, double>;

struct Session {
    std::string state;                       // a state id from rules/<locale>/flow.json
    std::string asking;                      // topic waiting for an answer; empty if none
    int attempts = 0;                        // unclear answers to `asking` so far
    std::map<std::string, SlotValue> slots;  // what is known so far
    std::vector<std::string> asked;          // topics asked, in order
    std::optional<Triage> triage;            // set once an outcome is given; only rises
    int step_index = 0;                      // position in the stretching plan
    std::vector<QuickReply> offered;         // quick replies of the latest reply
    int turns = 0;                           // client objects handled
    std::int64_t started_ms = 0;
    std::int64_t last_active_ms = 0;
    std::string rules_version;
    std::string locale = "en";
};

nlohmann::json to_json(const Session& session);
// Throws std::runtime_error on a snapshot that is not a session.
Session session_from_json(const nlohmann::json& snapshot);

}  // namespace backtalk
