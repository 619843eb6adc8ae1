// The words a channel shows besides the replies themselves: level titles and
// actions, cause names and error texts. They live in rules/<locale>/
// (texts.json "level_title_LEVEL", "level_action_LEVEL", "level_call",
// "error_CODE"; causes.json titles), so a reworded cause or error changes in
// every channel when the rules are reloaded.
#pragma once

#include "bot/protocol.hpp"
#include "bot/reply.hpp"

#include <string>
#include <string_view>

namespace backtalk {

class RuleSet;

// The error with the rules' wording (protocol::error_codes each have one); an unknown code becomes "internal".
protocol::Error worded_error(const RuleSet& rules, std::string_view code);

// "See a doctor today" and the like.
std::string level_title(const RuleSet& rules, Level level);

// GET /api/v1/texts: {"locale", "rules_version", "levels": {LEVEL: {"title",
// "action"}}, "call": "... {emergency_number} ...", "causes_label":
// {"one", "many"}, "origin_refused", "causes": {ID: title}, "errors":
// {CODE: text}}.
std::string texts_json(const RuleSet& rules);

}  // namespace backtalk
