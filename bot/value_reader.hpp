// Values in a message's words: how long the pain has lasted, an age, a pain
// score, a temperature, a bare number. Each reader marks the tokens it used,
// so the matcher can tell how much of the message it understood.
#pragma once

#include "bot/ruleset.hpp"
#include "bot/text.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace backtalk {

struct ValueReader {
    const Lexicon& lexicon;
    const std::vector<Token>& tokens;
    std::vector<char>& used;

    const Token* at(std::size_t i) const;
    bool word_at(std::size_t i, const char* word) const;
    void mark(std::size_t from, std::size_t to);

    // Number of tokens of a phrase ("last night") starting at token i, or 0.
    std::size_t phrase_at(std::size_t i, const std::string& phrase) const;

    // A clause about something else ("had cancer 4 years ago") holds no
    // duration of the pain, unless a word about the pain stands nearer the
    // number than the word about something else ("done my back in 4 weeks
    // ago lifting at work"); a tie stays blocked.
    bool blocked(std::size_t i) const;

    // A clause with a word about the pain in it ("my back has ached for 10 days").
    bool about_the_pain(std::size_t i) const;

    // The longest time named, preferring clauses about the pain: in "my back
    // has ached for 10 days ... my hands tingle, but that's been the case for
    // years" the pain has lasted 10 days. A time in someone else's words
    // ("my mum had a bleed a few years back") is theirs, unless the person
    // writes for someone else (then that is whose pain it is).
    std::optional<double> duration_days(bool about_someone_else);

    // A number measuring something else: "I am 6 ft tall" or "I'm 90 kg" is
    // not an age.
    bool unit_follows(std::size_t i) const;

    // A number counting something ("3 kids", "2 weeks") or limiting such a
    // count ("kids under 5"): not a bare answer.
    bool counts_something(std::size_t i) const;

    // An age stated as "67 years old", "aged 67", "I am 67", "she is 81", "in my 40s".
    // A number on its own counts only while no other number is asked for
    // ("20" to "how long?" is not an age).
    std::optional<double> stated_age(bool about_someone_else, bool lone_number_allowed);

    // A score out of ten ("7/10", "8 out of 10"). Of several ("8/10 moving,
    // 2/10 lying still") the lowest is how bad it is most of the time: pain
    // that only movement makes severe is what a strain does (SC-1), not a
    // reason on its own to see a doctor (GP-2).
    std::optional<double> stated_score();

    // A body temperature: 34-43 with a decimal or a degree word, 95-110 with "f".
    std::optional<double> temperature_celsius();

    // A number in range, for an answer to a number question: the first, or
    // with `lowest` the lowest of several ("8 when I move, 2 sitting still").
    std::optional<double> bare_number(double low, double high, bool lowest = false);
};

}  // namespace backtalk
