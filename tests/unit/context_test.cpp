// Mention context (bot/context.cpp, rules/en/context.json): each kind read in
// both directions and stopped where its scope ends; and what the matcher
// then does with a mention in that context.
#include "bot/text.hpp"
#include "bot/understand.hpp"
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace backtalk {
namespace {

Normalised read(std::string_view text) { return normalise(test::rules()->lexicon, text); }

const Token& token(const Normalised& n, const std::string& word) {
    for (const Token& t : n.tokens) {
        if (t.text == word) return t;
    }
    FAIL("no token \"" << word << "\"");
    throw std::logic_error("unreachable");
}

bool in(const std::string& text, const std::string& word, Context kind) { return token(read(text), word).in_scope(kind); }

Understanding understood(std::string_view text, const char* asking = nullptr) {
    return understand(*test::rules(), text, asking ? test::rules()->topic(asking) : nullptr);
}

std::string slot(const Understanding& u, const std::string& name) {
    const auto it = u.slots.find(name);
    if (it == u.slots.end()) return "";
    const auto* text = std::get_if<std::string>(&it->second);
    return text ? *text : "";
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

TEST_CASE("context: negation reads forward and backward, and stops at a clause end") {
    CHECK(in("no fever", "fever", Context::negated));
    CHECK(in("my legs are fine", "legs", Context::negated));
    CHECK(in("fever? no", "fever", Context::negated));
    CHECK_FALSE(in("no fever, my legs have gone weak", "weak", Context::negated));
    CHECK_FALSE(in("no numbness just weakness", "weakness", Context::negated));
    CHECK_FALSE(in("i have not had a fall but my legs are weak", "weak", Context::negated));
    CHECK(in("i have not had a fall", "fall", Context::negated));
}

TEST_CASE("context: someone else's history, forward and backward, ends at the person's own words") {
    CHECK(in("my mother had osteoporosis", "osteoporosis", Context::other));
    CHECK(in("cancer runs in the family", "cancer", Context::other));
    CHECK_FALSE(in("my dad had cancer and i have a fever", "fever", Context::other));
    CHECK_FALSE(in("my dad had cancer. i have a fever", "fever", Context::other));
}

TEST_CASE("context: hypotheticals, questions and doubt") {
    CHECK(in("if i got a fever would that matter", "fever", Context::hypothetical));
    CHECK_FALSE(in("it hurts when i cough", "cough", Context::hypothetical));
    CHECK(in("what does tearing mean", "tearing", Context::question));
    CHECK(in("is numbness bad?", "numbness", Context::question));
    CHECK(in("it is a bit numb down there?", "numb", Context::uncertain));
    CHECK(in("maybe a bit numb", "numb", Context::uncertain));
    CHECK_FALSE(in("numb down there. is that related?", "numb", Context::question));
    CHECK_FALSE(in("numb down there. is that related?", "numb", Context::uncertain));
}

TEST_CASE("context: conditional sensations and time") {
    CHECK(in("i get lightheaded if i skip breakfast", "lightheaded", Context::conditional));
    CHECK_FALSE(in("i feel lightheaded", "lightheaded", Context::conditional));
    CHECK(in("i had a fever last week", "fever", Context::recent));
    CHECK(in("cancer ten years ago", "cancer", Context::past));
    CHECK(in("i fell off a horse when i was 15", "horse", Context::past));
    CHECK_FALSE(in("i fell off a ladder", "ladder", Context::past));
}

TEST_CASE("context: only the person's own, affirmed red flags are set") {
    CHECK(slot(understood("No. My mother had osteoporosis though", "osteoporosis"), "osteoporosis") != "yes");
    CHECK(slot(understood("my mum had cancer"), "cancer_history") == "");
    CHECK(slot(understood("I had breast cancer ten years ago"), "cancer_history") == "yes");
    CHECK(slot(understood("I fell off a ladder 19 years ago"), "trauma") != "yes");
    CHECK(slot(understood("I fell off a ladder 19 years ago"), "major_trauma") != "yes");
    CHECK(slot(understood("I fell off a ladder yesterday"), "major_trauma") == "yes");
    CHECK(slot(understood("I use a steroid inhaler for my asthma"), "steroids") != "yes");
    CHECK(slot(understood("Not dizzy at all, although I do get a bit lightheaded if I skip breakfast", "tearing_pain"), "faint") != "yes");
}

TEST_CASE("context: a red flag in a question or a hypothetical is asked about, a hedged one is confirmed") {
    const Understanding asked = understood("sorry what is tearing?", "tearing_pain");
    CHECK(slot(asked, "tearing_pain") == "");
    CHECK(asked.question);
    CHECK(contains(asked.definitions, "tearing"));
    const Understanding hypothetical = understood("if I got a fever would that matter?");
    CHECK(slot(hypothetical, "fever") == "");
    CHECK(contains(hypothetical.to_ask, "fever"));
    const Understanding hedged = understood("I think maybe it's a bit numb down there?");
    CHECK(slot(hedged, "saddle_numbness") == "");
    CHECK(contains(hedged.to_confirm, "saddle_numbness"));
}

TEST_CASE("context: a vague description of a red flag is confirmed, never taken as yes or no") {
    const Understanding vague = understood("pee's been a bit weird the last day or two tbh");
    CHECK(slot(vague, "bladder_bowel") == "");
    CHECK(contains(vague.to_confirm, "bladder_bowel"));
    CHECK(contains(vague.hedged, "bladder_bowel"));
    // As the answer to that very question, it is a yes; denied, it is nothing.
    CHECK(slot(understood("it feels funny when I pee", "bladder_bowel"), "bladder_bowel") == "yes");
    CHECK(understood("my pee isn't weird").to_confirm.empty());
}

TEST_CASE("context: an answer phrase inside a sign's own words is not a no") {
    const Understanding u = understood("like i dont fully empty", "bladder_bowel");
    CHECK(u.answer != "no");
    CHECK(slot(u, "bladder_bowel") == "yes");
    // The tightest answer phrase wins where two start: "not sure really" is unsure.
    CHECK(understood("not sure really", "bladder_bowel").answer == "unsure");
    CHECK(understood("no i dont", "bladder_bowel").answer == "no");
}

TEST_CASE("context: red flags described in everyday words") {
    CHECK(slot(understood("since this morning i cant really feel the paper properly when i wipe"), "saddle_numbness") == "yes");
    CHECK(slot(understood("since yesterday it takes an age to get going when i pee"), "bladder_bowel") == "yes");
    CHECK(slot(understood("takes ages to get my wee going"), "bladder_bowel") == "yes");
    // "My legs are asleep", as many languages say numb legs.
    CHECK(slot(understood("yesterday i not feel my legs good, both legs like sleeping"), "both_legs") == "yes");
    CHECK(slot(understood("both my legs feel like theyre asleep since yesterday"), "both_legs") == "yes");
    CHECK(slot(understood("back hurts, I fell asleep on the sofa"), "trigger") != "fall");
}

TEST_CASE("context: someone else's history named after the word") {
    CHECK(slot(understood("no. cancer only my dad not me"), "cancer_history") == "");
    CHECK(slot(understood("cancer was my dad"), "cancer_history") == "");
    CHECK(in("cancer, only my dad", "cancer", Context::other));
    // "only" still ends other scopes: "I had cancer only last year" is the person's own.
    CHECK(slot(understood("I had cancer only last year"), "cancer_history") == "yes");
}

TEST_CASE("context: 'if it was his heart he'd have chest pain, wouldn't he?' reports no chest pain") {
    const Understanding u = understood("He says it's his disc again. If it was his heart he'd have chest pain, wouldn't he?");
    CHECK(slot(u, "chest_pain") == "");
    CHECK(contains(u.to_ask, "chest_pain"));
    CHECK(slot(understood("he has chest pain, doesn't he? no wait, he does have chest pain"), "chest_pain") == "yes");
}

TEST_CASE("context: typo tolerance never turns a real word into another") {
    CHECK(token(read("felt something snap"), "snap").id != test::rules()->lexicon.find("slap"));
    CHECK_FALSE(token(read("felt something snap"), "snap").corrected);
    CHECK(token(read("numbess"), "numbness").corrected);
}

TEST_CASE("context: an explanation cancels a mention across its sentence, 'but' included, and only the person's own") {
    CHECK(slot(understood("i lost a stone on purpose"), "weight_loss") == "no");
    CHECK(slot(understood("ive lost a stone but thats cos ive been dieting on purpose"), "weight_loss") == "no");
    // Another sentence, someone else's diet, an imagined or asked one: the loss counts.
    CHECK(slot(understood("i lost a stone. my wife is on a diet"), "weight_loss") == "yes");
    CHECK(slot(understood("i lost a stone, my wife is on a diet"), "weight_loss") == "yes");
    CHECK(slot(understood("i lost a stone, is it because i am on a diet?"), "weight_loss") == "yes");
    CHECK(slot(understood("i have lost weight and i am not dieting"), "weight_loss") == "yes");
    // Alone, it answers its own question and nothing in passing.
    CHECK(slot(understood("i am on a diet", "weight_loss"), "weight_loss") == "no");
    CHECK(slot(understood("i am on a diet", "age"), "weight_loss").empty());
}

}  // namespace
}  // namespace backtalk
