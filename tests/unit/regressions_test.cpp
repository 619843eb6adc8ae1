// Bugs found while writing the tests, kept as guards now that they are fixed.
#include "bot/understand.hpp"
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <string>

namespace backtalk {
namespace {

Understanding read(std::string_view text) { return understand(*test::rules(), text, nullptr); }

std::string slot_text(const Understanding& u, const std::string& slot) {
    const auto it = u.slots.find(slot);
    if (it == u.slots.end()) return "";
    const auto* text = std::get_if<std::string>(&it->second);
    return text ? *text : "";
}

TEST_CASE("regression: 'this morning' in a description is read as the duration") {
    const Understanding u = read("twinged my lower back shifting a bookcase this morning");
    CHECK(u.slots.count("duration") == 1);
}

TEST_CASE("regression: each denial in a list counts ('no numbness, no weakness')") {
    CHECK(slot_text(read("no numbness, no weakness, my back is sore"), "leg_weakness") == "no");
}

TEST_CASE("regression: details volunteered while a safety question is open are not an unclear answer") {
    // Two messages about something else must not make the bot assume chest pain.
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
