// The advisor engine: a turn and a session in, replies and the new session
// out. Pure and deterministic: the time is an argument, there is no I/O, and
// a compiled RuleSet is immutable, so one Engine serves every thread.
#pragma once

#include "bot/protocol.hpp"
#include "bot/reply.hpp"
#include "bot/session.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk {

class RuleSet;

struct EngineOptions {
    std::string emergency_number;  // empty: the locale default from rules/<locale>/meta.json
};

// A number people can dial: 2 to 15 digits, an optional leading '+', and
// single spaces or dashes between digits ("112", "911", "+44 20 7946 0958").
// The bot tells people in an emergency to call it, so nothing else may stand
// in its place.
bool is_dialable_number(std::string_view number);

// Why the advice is what it is: a triage rule at the advice's level, and the
// facts it used with the turn that set each (1 = the first client object).
struct RuleBasis {
    struct Fact {
        std::string slot;
        std::string value;
        int turn = 0;
    };
    std::string rule;  // EM-1 ... SC-5
    Level level = Level::self_care;
    std::vector<Fact> facts;
};

// What the engine understood of one client object, for the conversation log.
struct TurnNotes {
    std::vector<std::string> intents;  // intent and topic ids matched, in order
    double confidence = 0.0;           // 0..1; 0 when nothing was understood
    bool understood = false;           // false: a fallback or clarifying reply
    std::vector<RuleBasis> basis;      // set when this turn gave or raised advice
};

struct TurnResult {
    std::vector<Reply> replies;  // at least one unless error is set
    std::optional<protocol::Error> error;  // bad_choice: replies are empty, session unchanged
    Session session;
    TurnNotes notes;
};

class Engine {
public:
    Engine(std::shared_ptr<const RuleSet> rules, EngineOptions options);

    // A new conversation: the greeting.
    TurnResult begin(std::int64_t now_ms) const;
    // A conversation picked up again: where it stood, asked again.
    TurnResult resume(const Session& session, std::int64_t now_ms) const;
    // One message or choice.
    TurnResult step(const Session& session, const protocol::Message& message, std::int64_t now_ms) const;
    TurnResult step(const Session& session, const protocol::Choice& choice, std::int64_t now_ms) const;

    const RuleSet& rules() const { return *rules_; }
    const std::shared_ptr<const RuleSet>& rules_ptr() const { return rules_; }

private:
    std::shared_ptr<const RuleSet> rules_;
    EngineOptions options_;
};

}  // namespace backtalk
