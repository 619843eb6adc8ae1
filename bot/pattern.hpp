// Phrase patterns, the unit every rule file uses to recognise words.
#pragma once

#include <string>
#include <vector>

namespace backtalk {

using WordId = int;
inline constexpr WordId unknown_word = -1;

// One element of a phrase pattern.
struct Term {
    enum class Kind { word, synonyms, prefix, number };
    Kind kind = Kind::word;
    int id = 0;          // WordId for word, concept index for concept
    std::string prefix;  // for prefix terms ("numb*")
};

// Terms that must appear in order in one clause, each at most `max_gap`
// tokens after the previous one.
struct Pattern {
    std::vector<Term> terms;
    std::string source;  // as written, for error messages and logs
};

}  // namespace backtalk
