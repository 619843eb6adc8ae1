// The matcher: what one message says, as data the dialogue can apply.
#pragma once

#include "bot/ruleset.hpp"
#include "bot/session.hpp"
#include "bot/text.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk {

struct Hit {
    const PatternRef* ref = nullptr;
    int start = 0;
    int end = 0;  // one past the last token
    bool negated = false;
    ContextSet context = 0;  // what the words around it say (context.hpp)
};

// Every pattern occurrence in a normalised message.
std::vector<Hit> find_hits(const RuleSet& rules, const Normalised& message);

struct Understanding {
    Slots slots;                             // topics and facts found, values read
    std::vector<std::string> intents;        // global intents, in rule order
    std::string answer;                      // "yes", "no", "unsure" as a plain answer, or empty
    bool answered_asked = false;             // the asked topic got a value
    // Red flags mentioned in a question, a hypothetical or with doubt: set
    // nothing, but the dialogue asks about them next (topic ids, in order).
    std::vector<std::string> to_ask;
    std::vector<std::string> to_confirm;     // hedged reports of the person's own red flag (topics to ask)
    std::vector<std::string> hedged;         // the red-flag slots those reports name ("like jelly": both_legs)
    std::vector<std::string> definitions;    // terms the person asked the meaning of
    // As the answer to the asked topic's follow-up ("both", "just the left
    // one"): the follow-up fact's value, applied only if that was asked.
    std::optional<bool> follow_up_answer;
    bool question = false;                   // the message asks something back
    int tokens = 0;
    int covered = 0;                         // tokens inside a hit or a value
    double confidence() const;
    bool understood() const {
        return !slots.empty() || !intents.empty() || !answer.empty() || !to_ask.empty() || !to_confirm.empty() ||
               !definitions.empty() || follow_up_answer.has_value();
    }
};

// `asking` is the topic the bot is waiting for (may be null): bare numbers
// and option words are read as its answer. `about_someone_else`: the
// conversation is about the person being written for, so "she had" is theirs.
Understanding understand(const RuleSet& rules, std::string_view text, const Topic* asking, bool about_someone_else = false);

}  // namespace backtalk
