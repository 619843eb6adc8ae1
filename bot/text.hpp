// Normalisation: lower-case tokens with contractions expanded, typos mended
// against the rules' lexicon, numbers read, and negation scope marked.
#pragma once

#include "bot/ruleset.hpp"

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
    int negator_at = -1;     // position of the negation word whose scope covers this token
    bool corrected = false;  // typo-corrected from another spelling
    bool negates = false;    // a negation word ("not sure" is not one)
};

struct Normalised {
    std::vector<Token> tokens;
    int segments = 0;
};

Normalised normalise(const Lexicon& lexicon, std::string_view text);

// Optimal string alignment distance, capped: returns cap + 1 when larger.
int edit_distance(std::string_view a, std::string_view b, int cap);

// Lower-cases and splits a rule phrase into words, applying contractions,
// for compiling patterns with the same rules as people's messages.
std::vector<std::string> phrase_words(const Lexicon& lexicon, std::string_view phrase);

}  // namespace backtalk
