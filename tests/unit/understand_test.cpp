// The matcher: what one message says, as slots, intents and plain answers.
#include "bot/understand.hpp"
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <string>

namespace backtalk {
namespace {

Understanding read(std::string_view text, const char* asking = nullptr) {
    return understand(*test::rules(), text, asking ? test::rules()->topic(asking) : nullptr);
}

// The slot's text value, or "" when the slot was not filled or is a number.
std::string word_slot(const Understanding& u, const std::string& slot) {
    const auto it = u.slots.find(slot);
    if (it == u.slots.end()) return "";
    const auto* text = std::get_if<std::string>(&it->second);
    return text ? *text : "";
}

// The slot's number, or -1 when the slot was not filled or is text.
double number_slot(const Understanding& u, const std::string& slot) {
    const auto it = u.slots.find(slot);
    if (it == u.slots.end()) return -1;
    const auto* number = std::get_if<double>(&it->second);
    return number ? *number : -1;
}

TEST_CASE("understand: negation with scope") {
    const Understanding u = read("no fever or numbness but my legs feel weak");
    CHECK(word_slot(u, "fever") == "no");
    CHECK(word_slot(u, "numbness") == "no");
    CHECK(word_slot(u, "leg_weakness") == "yes");
}

TEST_CASE("understand: a negated list item is a no") {
    const Understanding u = read("no fever, chills");
    CHECK(word_slot(u, "fever") == "no");
}

TEST_CASE("understand: 'no fever' is never read as a fever") {
    for (const char* text : {"no fever", "I don't have a fever", "I dont have a temperature", "never had a fever",
                             "no fever or chills"}) {
        CAPTURE(text);
        CHECK(word_slot(read(text), "fever") == "no");
    }
    CHECK(word_slot(read("I've got a fever"), "fever") == "yes");
}

TEST_CASE("understand: 'not sure' is an unsure answer and not a no") {
    const Understanding u = read("not sure", "fever");
    CHECK(u.answer == "unsure");
    CHECK(u.slots.count("fever") == 0);
    CHECK(read("no", "fever").answer == "no");
    CHECK(read("yeah", "fever").answer == "yes");
}

TEST_CASE("understand: misspelled symptoms are still understood") {
    CHECK(word_slot(read("some numbess in my foot"), "numbness") == "yes");
    CHECK(word_slot(read("sciatia down my left leg"), "radiates_below_knee") == "yes");
    CHECK(word_slot(read("fell off the scaffoldin"), "major_trauma") == "yes");
}

TEST_CASE("understand: near-misses of symptom words are not taken as symptoms") {
    // "dumb" is one letter from "numb".
    CHECK(read("I feel dumb asking this").slots.count("numbness") == 0);
    CHECK(read("I feel dumb asking this").slots.count("saddle_numbness") == 0);
}

TEST_CASE("understand: ages") {
    CHECK(number_slot(read("I'm 67 and my back hurts"), "age") == 67);
    CHECK(number_slot(read("my mum, she's 81, hurt her back"), "age") == 81);
    CHECK(number_slot(read("I am 67 years old"), "age") == 67);
    CHECK(number_slot(read("67 years old with back pain"), "age") == 67);
    CHECK(number_slot(read("aged 45"), "age") == 45);
    CHECK(number_slot(read("I\u2019m 34"), "age") == 34);
    // A bare number is an age only when the age was asked.
    CHECK(number_slot(read("52", "age"), "age") == 52);
    CHECK(read("52").slots.count("age") == 0);
}

TEST_CASE("understand: ages as people sign off: beside a sex, or a clause of their own") {
    CHECK(number_slot(read("46m, back hurts"), "age") == 46);
    CHECK(number_slot(read("32F lower back pain"), "age") == 32);
    CHECK(number_slot(read("(46, male) back pain"), "age") == 46);
    CHECK(number_slot(read("Hi, 47, my lower back hurts"), "age") == 47);
    CHECK(number_slot(read("lower back sore since yesterday, no pain in legs, 29"), "age") == 29);
    // Not while another number is asked for, and never a score or a small count.
    CHECK(read("back hurts, 20", "duration").slots.count("age") == 0);
    CHECK(read("back pain, 7").slots.count("age") == 0);
}

TEST_CASE("understand: a number followed by a unit is not an age") {
    const Understanding u = read("I'm 3 weeks into this");
    CHECK(u.slots.count("age") == 0);
    CHECK(number_slot(u, "duration") == 21);
}

TEST_CASE("understand: durations in days") {
    CHECK(number_slot(read("it has hurt for 3 weeks"), "duration") == 21);
    CHECK(number_slot(read("sore since yesterday"), "duration") == 1);
    CHECK(number_slot(read("I've had it for 6 years"), "duration") == 6 * 365);
    CHECK(number_slot(read("for about two months"), "duration") == 60);
    CHECK(number_slot(read("a couple of days"), "duration") == 2);
    // A season ago is months whatever the date; "yday" is yesterday.
    CHECK(number_slot(read("bad for a while now, since the summer really"), "duration") == 90);
    CHECK(number_slot(read("hurt it yday"), "duration") == 1);
}

TEST_CASE("understand: '72 years old' is an age and not a duration") {
    const Understanding u = read("I'm 72 years old");
    CHECK(number_slot(u, "age") == 72);
    CHECK(u.slots.count("duration") == 0);
}

TEST_CASE("understand: pain scores") {
    CHECK(number_slot(read("it's about 7/10"), "pain_score") == 7);
    CHECK(number_slot(read("8 out of 10 today"), "pain_score") == 8);
    CHECK(number_slot(read("6", "pain_score"), "pain_score") == 6);
    // A score is read only up to 10: "14/10" is not a score.
    CHECK(read("honestly 14/10").slots.count("pain_score") == 0);
}

TEST_CASE("understand: of several scores, the lowest is how bad it is most of the time") {
    CHECK(number_slot(read("8 when I move, 2 sitting still", "pain_score"), "pain_score") == 2);
    CHECK(number_slot(read("5 most days, 7 on a bad day", "pain_score"), "pain_score") == 5);
    CHECK(number_slot(read("8/10 moving, 3/10 lying flat"), "pain_score") == 3);
    CHECK(number_slot(read("9 out of 10 all the time", "pain_score"), "pain_score") == 9);
}

TEST_CASE("understand: temperatures in Celsius and Fahrenheit") {
    CHECK(number_slot(read("temp was 38.9 last night"), "temperature") == doctest::Approx(38.9));
    CHECK(number_slot(read("it was 39 degrees"), "temperature") == doctest::Approx(39));
    CHECK(number_slot(read("102 F this morning"), "temperature") == doctest::Approx((102.0 - 32) * 5 / 9));
    CHECK(read("I'm 39 and my back hurts").slots.count("temperature") == 0);
}

TEST_CASE("understand: several slots in one message") {
    const Understanding u = read("hurt my back lifting boxes yesterday, no fever");
    CHECK(word_slot(u, "trigger") == "lifting");
    CHECK(word_slot(u, "lifting") == "yes");
    CHECK(number_slot(u, "duration") == 1);
    CHECK(word_slot(u, "fever") == "no");
}

TEST_CASE("understand: a foot that slaps or drags is leg weakness") {
    CHECK(word_slot(read("now my left foot slaps down when I walk"), "leg_weakness") == "yes");
    CHECK(word_slot(read("my left foot drags when I walk"), "leg_weakness") == "yes");
}

TEST_CASE("understand: shooting pain down the leg is pain below the knee and not lifting") {
    const Understanding u = read("shooting pain down my left leg into my foot for a month");
    CHECK(word_slot(u, "radiates_below_knee") == "yes");
    CHECK(word_slot(u, "trigger") != "lifting");
}

TEST_CASE("understand: everyday words near symptom words are not symptoms") {
    CHECK(word_slot(read("he tripped over the dog's lead yesterday and landed on his backside"), "bladder_bowel") != "yes");
    CHECK(word_slot(read("woke up with a sore lower back 3 days ago, no idea why"), "night_pain") != "yes");
    CHECK(word_slot(read("my lower back is stiff for an hour every morning but exercise helps"), "trigger") != "exercise");
}

TEST_CASE("understand: neck, shoulder or arm ache alone is not chest pain") {
    CHECK(word_slot(read("my neck and shoulders ache from sitting at my desk all day"), "chest_pain") != "yes");
    CHECK(word_slot(read("sore neck and upper back after sleeping funny"), "chest_pain") != "yes");
    CHECK(word_slot(read("my back is sore and my arm hurts too"), "chest_pain") != "yes");
    const Understanding blades = read("sharp pain between my shoulder blades for 2 weeks, no injury");
    CHECK(word_slot(blades, "shoulder_blades") == "yes");
    CHECK(word_slot(blades, "chest_pain") != "yes");
    // With a warning sign it is still the cardiac question's "yes" (EM-2).
    CHECK(word_slot(read("tight pain across my chest going into my left arm"), "chest_pain") == "yes");
}

TEST_CASE("understand: new incontinence in everyday words is bladder trouble") {
    CHECK(word_slot(read("since this morning I keep wetting myself"), "bladder_bowel") == "yes");
    CHECK(word_slot(read("I've been peeing myself without noticing"), "bladder_bowel") == "yes");
    const Understanding u = read("I've had a couple of accidents, can't make it to the loo in time");
    CHECK(word_slot(u, "bladder_bowel") == "yes");
    CHECK(word_slot(u, "trauma") != "yes");
}

TEST_CASE("understand: a time about something else is not the pain's duration") {
    CHECK(read("had prostate cancer 4 years ago, now my back aches and my right leg has gone weak").slots.count("duration") == 0);
    CHECK(read("I've been a nurse for 20 years").slots.count("duration") == 0);
    CHECK(read("my back has been sore since I started this job 2 years ago").slots.count("duration") == 0);
}

TEST_CASE("understand: 'every day', 'some days' are how often, not how long") {
    CHECK(number_slot(read("my lower back aches by the end of every day, started about a week ago"), "duration") == 7);
    CHECK(number_slot(read("5 weeks now. some days i can barely walk because it hurts"), "duration") == 35);
}

TEST_CASE("understand: pain that limits walking leaves the weakness question to be asked") {
    const Understanding u = read("some days i can barely walk because it hurts so much");
    CHECK(u.slots.count("leg_weakness") == 0);
    CHECK(std::find(u.to_ask.begin(), u.to_ask.end(), "leg_weakness") != u.to_ask.end());
    CHECK(word_slot(read("no, it's just because it hurts", "leg_weakness"), "leg_weakness") == "no");
}

TEST_CASE("understand: a time in a clause about the pain beats a longer one about something else") {
    CHECK(number_slot(read("for the last 10 days my lower back has ached. My hands tingle after typing, but that's been the case for years"),
                      "duration") == 10);
    CHECK(number_slot(read("my back hurts. it's been like this for years"), "duration") == 3 * 365);
}

TEST_CASE("understand: a relative's own condition does not make the person someone else") {
    CHECK(read("I'm 46 and my lower back aches. My sister has a slipped disc").slots.count("for_someone_else") == 0);
    CHECK(word_slot(read("my mum slipped and her back hurts"), "for_someone_else") == "yes");
}

TEST_CASE("understand: a word about the pain nearer the number than the other subject makes it the duration") {
    CHECK(number_slot(read("done my back in about 4 wks ago liftin plasterboard at work"), "duration") == 28);
    CHECK(number_slot(read("worked as a builder for 20 years and my back started hurting 3 days ago"), "duration") == 3);
}

TEST_CASE("understand: choice topics read their options from free text") {
    CHECK(word_slot(read("pain in my lower back"), "pain_location") == "lower");
    CHECK(word_slot(read("it came on gradually"), "onset") == "gradual");
    CHECK(word_slot(read("sitting at my desk all day"), "trigger") == "posture");
}

TEST_CASE("understand: global intents") {
    CHECK(read("start over").intents == std::vector<std::string>{"restart"});
    CHECK(read("what causes this?").intents == std::vector<std::string>{"causes"});
    CHECK(read("should I see a doctor?").intents == std::vector<std::string>{"see_doctor"});
    CHECK(read("show me some stretches").intents == std::vector<std::string>{"stretches"});
    CHECK(read("help").intents == std::vector<std::string>{"help"});
    CHECK(read("stop").intents == std::vector<std::string>{"stop"});
}

TEST_CASE("understand: 'stop' inside a longer sentence is not the stop intent") {
    const Understanding u = read("I can't stop peeing and it burns when I go to the toilet");
    CHECK(u.intents.empty());
}

TEST_CASE("understand: confidence") {
    CHECK(read("zxqvw blorp").confidence() == 0.0);
    CHECK_FALSE(read("zxqvw blorp").understood());
    const double some = read("my lower back hurts and the weather is grim").confidence();
    const double most = read("lower back").confidence();
    CHECK(some >= 0.5);
    CHECK(most > some);
    CHECK(most <= 1.0);
}

TEST_CASE("understand: a time in someone else's words is theirs, unless the person writes for them") {
    CHECK(number_slot(read("hurt my back on sunday. my mum had a bleed from her aorta a few years back"), "duration") == 3);
    CHECK(number_slot(read("my back has hurt for 2 weeks, my dad had the same for years"), "duration") == 14);
    CHECK(number_slot(read("my mum has had lower back pain for 3 weeks, she is 81"), "duration") == 21);
}

TEST_CASE("understand: an age told as a decade in words, and a start with no known cause") {
    CHECK(number_slot(read("my back hurts, im in my forties"), "age") == 45);
    CHECK(number_slot(read("back pain since tuesday, I'm in my mid fifties"), "age") == 55);
    CHECK(number_slot(read("my mum is in her eighties and her back hurts"), "age") == 85);
    CHECK(word_slot(read("back pain, no idea why it started"), "trigger") == "none");
    CHECK(word_slot(read("lower back pain, woke up with it 3 days ago"), "trigger") == "none");
}

}  // namespace
}  // namespace backtalk
