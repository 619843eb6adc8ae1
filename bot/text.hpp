// Normalisation: lower-case tokens with contractions expanded, typos mended
// against the rules' lexicon, numbers read, clauses and sentences split, and
// each token's mention context marked (context.hpp).
#pragma once

#include "bot/context.hpp"
#include "bot/ruleset.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk {

struct Token {
    std::string text;        // normalised (after typo correction)
    WordId id = unknown_word;
    double number = -1;      // value when the token is a number, else -1
    bool has_decimal = false;
    int segment = 0;         // index of the clause segment
    int sentence = 0;        // index of the sentence
    int statement = 0;       // index of the sentence as punctuated (. ! ? ;): "but" does not end it
    bool corrected = false;  // typo-corrected from another spelling
    enum class Boundary : std::uint8_t { none, soft, hard };
    Boundary before = Boundary::none;  // punctuation or a terminator word before this token
    // Per context kind: the position of the trigger whose scope covers this token, or -1.
    std::array<int, context_kinds> scope_of{-1, -1, -1, -1, -1, -1, -1, -1};
    ContextSet triggers = 0;  // kinds of the triggers that start at this token

    bool negated() const { return scope_of[static_cast<std::size_t>(Context::negated)] >= 0; }
    bool in_scope(Context c) const { return scope_of[static_cast<std::size_t>(c)] >= 0; }
};

struct Normalised {
    std::vector<Token> tokens;
    int segments = 0;
    std::vector<bool> asked;  // per sentence: it ended with "?"
};

Normalised normalise(const Lexicon& lexicon, std::string_view text);

// Length of the term's match at token i (a concept may match a phrase), or 0.
int term_length(const Lexicon& lexicon, const Term& term, const std::vector<Token>& tokens, std::size_t i);

// Optimal string alignment distance, capped: returns cap + 1 when larger.
int edit_distance(std::string_view a, std::string_view b, int cap);

// Lower-cases and splits a rule phrase into words, applying contractions,
// for compiling patterns with the same rules as people's messages.
std::vector<std::string> phrase_words(const Lexicon& lexicon, std::string_view phrase);

}  // namespace backtalk
