// Mention context (ConText): what the words around a mention say about it,
// read from the trigger phrases of rules/<locale>/context.json. Every token
// learns which triggers' scopes cover it; a matched pattern then takes the
// attributes of its first token (see understand.cpp).
#pragma once

#include "bot/pattern.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace backtalk {

struct Lexicon;
struct Normalised;

enum class Context : std::uint8_t { negated, other, hypothetical, question, uncertain, conditional, past, recent };
inline constexpr std::size_t context_kinds = 8;
inline constexpr std::array<std::string_view, context_kinds> context_names = {
    "negated", "other", "hypothetical", "question", "uncertain", "conditional", "past", "recent"};

// A set of context kinds, one bit each.
using ContextSet = std::uint16_t;
inline constexpr ContextSet bit(Context c) { return static_cast<ContextSet>(1u << static_cast<unsigned>(c)); }
inline constexpr bool has(ContextSet set, Context c) { return (set & bit(c)) != 0; }

struct ContextTrigger {
    std::vector<Term> terms;  // matched contiguously
    Context kind = Context::negated;
    bool forward = false;
    bool backward = false;
    bool pseudo = false;  // holds trigger words but is no trigger
    std::string source;
};

struct ContextKindRules {
    bool sentence_scope = false;        // else the clause
    bool lists = false;                 // a clause scope carries into a short list item
    std::unordered_set<int> ended_by;   // WordIds that end this kind's scope
};

struct ContextRules {
    std::array<ContextKindRules, context_kinds> kinds;
    std::vector<ContextTrigger> triggers;
    std::unordered_map<int, std::vector<int>> by_first_word;  // WordId -> triggers, longest first
    std::unordered_set<int> terminators;       // end every sentence scope (and a clause)
    std::unordered_set<int> list_joiners;      // "and", "or"
    std::unordered_set<int> question_openers;  // "is numbness bad?" vs "a bit numb?"
};

// Marks every token's context: which trigger's scope covers it, per kind.
void read_context(const Lexicon& lexicon, Normalised& message);

}  // namespace backtalk
