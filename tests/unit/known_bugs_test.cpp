// Wrong behaviour found while writing the tests, each as the test the fixed
// engine or rules must pass. They are marked should_fail, so the suite stays
// green while the bug is there and goes red the day it is fixed: then delete
// the marker and the test guards the fix.
#include "bot/understand.hpp"
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace backtalk {
namespace {

const auto known_bug = doctest::should_fail(true);

Understanding read(std::string_view text) { return understand(*test::rules(), text, nullptr); }

TEST_CASE("known bug: 'this morning' in a description is not read as the duration and is asked again" * known_bug) {
    // The duration options' phrases count only when duration is being asked.
    const Understanding u = read("twinged my lower back shifting a bookcase this morning");
    CHECK(u.slots.count("duration") == 1);
}

std::string slot_text(const Understanding& u, const std::string& slot) {
    const auto it = u.slots.find(slot);
    if (it == u.slots.end()) return "";
    const auto* text = std::get_if<std::string>(&it->second);
    return text ? *text : "";
}

TEST_CASE("known bug: pain going through to the chest is not read as chest pain (EM-2)" * known_bug) {
    // Harmless in a first message (chest pain is the first question), but missed
    // if said after that question was answered.
    CHECK(slot_text(read("my back pain goes right through to my chest"), "chest_pain") == "yes");
}

TEST_CASE("known bug: urine 'the colour of coke' after exercise is not read as dark urine (EM-7)" * known_bug) {
    // "~urine ~dark" allows at most max_gap words between "wee" and "coke".
    CHECK(slot_text(read("my wee is the colour of coke after the marathon"), "dark_urine") == "yes");
}

TEST_CASE("known bug: 'heavy periods' is read as heavy lifting" * known_bug) {
    CHECK(slot_text(read("my periods are heavy and my lower back aches"), "trigger") != "lifting");
}

TEST_CASE("known bug: the date of a spinal injection is read as the pain's duration" * known_bug) {
    CHECK(read("my back aches, I had a spinal injection last week").slots.count("duration") == 0);
}

TEST_CASE("known bug: a denial inside a list of denials is dropped ('no numbness, no weakness')" * known_bug) {
    // The second "no" is inside the first one's scope, so the deny pattern
    // "no weakness" counts as negated and is ignored: the question is asked again.
    CHECK(slot_text(read("no numbness, no weakness, my back is sore"), "leg_weakness") == "no");
}

TEST_CASE("known bug: details volunteered while a safety question is open are taken as an unclear answer" * known_bug) {
    // Two messages about something else make the bot assume chest pain and
    // send the person to the emergency department.
    test::Chat chat;
    chat.say("my lower back has been sore for 2 weeks");
    REQUIRE(chat.reply().asking == "chest_pain");
    chat.say("my back is stiff for over an hour every morning");
    chat.say("stiff as a board when I get up");
    CHECK(chat.session().slots.count("chest_pain") == 0);
    CHECK(chat.reply().asking == "chest_pain");
}

}  // namespace
}  // namespace backtalk
