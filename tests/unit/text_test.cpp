// The normaliser: tokens, contractions, numbers, clause segments, negation
// scope and typo correction against the rules' lexicon.
#include "bot/text.hpp"
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace backtalk {
namespace {

const Lexicon& lexicon() { return test::rules()->lexicon; }

std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    for (const Token& t : normalise(lexicon(), text).tokens) out.push_back(t.text);
    return out;
}

// The token spelled `word` (after correction); the test fails if it is absent.
const Token& token(const Normalised& n, const std::string& word) {
    for (const Token& t : n.tokens) {
        if (t.text == word) return t;
    }
    FAIL("no token \"" << word << "\"");
    throw std::logic_error("unreachable");
}

bool negated(const Normalised& n, const std::string& word) { return token(n, word).negated(); }
bool starts_negation(const Token& t) { return has(t.triggers, Context::negated); }

using Words = std::vector<std::string>;

TEST_CASE("text: lower-cases and splits on punctuation") {
    CHECK(words("My LOWER back, HURTS!") == Words{"my", "lower", "back", "hurts"});
}

TEST_CASE("text: contractions expand with or without the apostrophe") {
    CHECK(words("I don't know") == Words{"i", "do", "not", "know"});
    CHECK(words("I dont know") == Words{"i", "do", "not", "know"});
    CHECK(words("it can't be") == Words{"it", "can", "not", "be"});
    CHECK(words("I'm 67") == Words{"i", "am", "67"});
    CHECK(words("she's fine") == Words{"she", "is", "fine"});
}

TEST_CASE("text: typographic apostrophes read like ASCII ones") {
    CHECK(words("I don\u2019t know") == Words{"i", "do", "not", "know"});
    CHECK(words("it doesn\u2018t") == Words{"it", "does", "not"});
    CHECK(words("I\u2019m 67") == Words{"i", "am", "67"});
}

TEST_CASE("text: numbers are read with a decimal point kept inside a number") {
    const Normalised score = normalise(lexicon(), "about 7/10");
    REQUIRE(score.tokens.size() == 4);
    CHECK(score.tokens[1].number == 7);
    CHECK(score.tokens[2].text == "/");
    CHECK(score.tokens[3].number == 10);

    const Normalised temperature = normalise(lexicon(), "temp was 38.9.");
    const Token& t = temperature.tokens.back();
    CHECK(t.text == "38.9");
    CHECK(t.number == doctest::Approx(38.9));
    CHECK(t.has_decimal);

    CHECK(normalise(lexicon(), "three weeks").tokens[0].number == 3);
    CHECK(normalise(lexicon(), "back").tokens[0].number < 0);
}

TEST_CASE("text: digits are split from letters") {
    CHECK(words("ran a 10k") == Words{"ran", "a", "10", "k"});
    CHECK(words("woke at 2am") == Words{"woke", "at", "2", "am"});
    const Normalised n = normalise(lexicon(), "10k");
    CHECK(n.tokens[0].number == 10);
}

TEST_CASE("text: clause segments break at full stops and commas and 'but'") {
    const Normalised n = normalise(lexicon(), "my back hurts. my leg is fine, but i am tired");
    CHECK(token(n, "back").segment == token(n, "hurts").segment);
    CHECK(token(n, "leg").segment > token(n, "hurts").segment);
    CHECK(token(n, "tired").segment > token(n, "fine").segment);
    CHECK(n.segments == token(n, "tired").segment + 1);
}

TEST_CASE("text: a negation covers a short list and stops at 'but'") {
    const Normalised n = normalise(lexicon(), "no fever or numbness but my legs feel weak");
    CHECK(starts_negation(token(n, "no")));
    CHECK(negated(n, "fever"));
    CHECK(negated(n, "numbness"));
    CHECK_FALSE(negated(n, "legs"));
    CHECK_FALSE(negated(n, "weak"));
}

TEST_CASE("text: a negation carries over a comma into a short list item") {
    const Normalised n = normalise(lexicon(), "no fever, chills");
    CHECK(negated(n, "fever"));
    CHECK(negated(n, "chills"));
}

TEST_CASE("text: a negation stops at a comma before a new clause") {
    const Normalised n = normalise(lexicon(), "no fever, my legs have gone weak");
    CHECK(negated(n, "fever"));
    CHECK_FALSE(negated(n, "legs"));
    CHECK_FALSE(negated(n, "weak"));
}

TEST_CASE("text: a negation stops at a full stop") {
    const Normalised n = normalise(lexicon(), "no fever. numbness in my foot");
    CHECK(negated(n, "fever"));
    CHECK_FALSE(negated(n, "numbness"));
}

TEST_CASE("text: 'not sure' and 'no idea' are uncertainty and not negation") {
    for (const char* text : {"not sure about numbness", "no idea about numbness", "not certain about numbness"}) {
        CAPTURE(text);
        const Normalised n = normalise(lexicon(), text);
        CHECK_FALSE(starts_negation(n.tokens[0]));
        CHECK_FALSE(negated(n, "numbness"));
    }
}

TEST_CASE("text: contracted negations negate") {
    const Normalised n = normalise(lexicon(), "i don't have a fever");
    CHECK(starts_negation(token(n, "not")));
    CHECK(negated(n, "fever"));
}

TEST_CASE("text: misspellings are mended towards the lexicon") {
    for (const auto& [typed, meant] : std::vector<std::pair<std::string, std::string>>{
             {"numbess", "numbness"}, {"scaffoldin", "scaffolding"}, {"tingleing", "tingling"}, {"osteoporsis", "osteoporosis"}}) {
        CAPTURE(typed);
        const Normalised n = normalise(lexicon(), typed);
        REQUIRE(n.tokens.size() == 1);
        CHECK(n.tokens[0].text == meant);
        CHECK(n.tokens[0].corrected);
    }
}

TEST_CASE("text: a misspelling between two close words still gets mended") {
    // "sciatia" is one edit from both "sciatic" and "sciatica"; either reads as sciatica.
    const Normalised n = normalise(lexicon(), "sciatia");
    REQUIRE(n.tokens.size() == 1);
    CHECK(n.tokens[0].corrected);
    CHECK(n.tokens[0].text.rfind("sciatic", 0) == 0);
}

TEST_CASE("text: correct words and short words are never 'corrected'") {
    // "arm" is one edit from "harm", "dumb" one edit from "numb": both would change the triage.
    for (const char* word : {"arm", "arms", "dumb", "harm", "numb", "back", "leg"}) {
        CAPTURE(word);
        const Normalised n = normalise(lexicon(), word);
        REQUIRE(n.tokens.size() == 1);
        CHECK(n.tokens[0].text == word);
        CHECK_FALSE(n.tokens[0].corrected);
    }
}

TEST_CASE("text: inflected forms of pattern words are not mended into other words") {
    // "shooting" once became "shifting" (lifting), "slaps" "swaps", "lead" "leak".
    for (const char* word : {"shooting", "slaps", "drags", "lead"}) {
        CAPTURE(word);
        const Normalised n = normalise(lexicon(), word);
        REQUIRE(n.tokens.size() == 1);
        CHECK(n.tokens[0].text == word);
    }
}

TEST_CASE("text: unknown words far from the lexicon stay as typed") {
    const Normalised n = normalise(lexicon(), "zxqvw");
    CHECK(n.tokens[0].text == "zxqvw");
    CHECK(n.tokens[0].id == unknown_word);
    CHECK_FALSE(n.tokens[0].corrected);
}

TEST_CASE("text: edit distance counts a swap of neighbours as one edit and stops at the cap") {
    CHECK(edit_distance("numb", "numb", 2) == 0);
    CHECK(edit_distance("nubm", "numb", 2) == 1);
    CHECK(edit_distance("numbess", "numbness", 2) == 1);
    CHECK(edit_distance("abc", "xyz", 1) == 2);
    CHECK(edit_distance("a", "abcdef", 2) == 3);
}

}  // namespace
}  // namespace backtalk
