// The matcher: what one message says, as data the dialogue can apply.
#pragma once

#include "bot/ruleset.hpp"
#include "bot/session.hpp"
#include "bot/text.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk {

struct Hit {
    const PatternRef* ref = nullptr;
    int start = 0;
    int end = 0;  // one past the last token
    bool negated = false;
};

// Every pattern occurrence in a normalised message.
std::vector<Hit> find_hits(const RuleSet& rules, const Normalised& message);

struct Understanding {
    Slots slots;                             // topics and facts found, values read
    std::vector<std::string> intents;        // global intents, in rule order
    std::string answer;                      // "yes", "no", "unsure" as a plain answer, or empty
    bool answered_asked = false;             // the asked topic got a value
    int tokens = 0;
    int covered = 0;                         // tokens inside a hit or a value
    double confidence() const;
    bool understood() const { return !slots.empty() || !intents.empty() || !answer.empty(); }
};

// `asking` is the topic the bot is waiting for (may be null): bare numbers
// and option words are read as its answer.
Understanding understand(const RuleSet& rules, std::string_view text, const Topic* asking);

}  // namespace backtalk
