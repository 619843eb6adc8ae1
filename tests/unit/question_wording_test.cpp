// Every yes/no question and each simpler re-ask keeps "yes" meaning the sign
// is there: a re-ask such as "Is your pee a normal colour?" turned a plain
// "yes, it's normal" into an emergency (issue 15). Checked two ways: the
// wording never asks whether things are normal, fine or as usual, and each
// safety question played with its re-ask sets the sign by a plain answer.
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

namespace backtalk {
namespace {

using test::Chat;

std::vector<const Topic*> yes_no_topics() {
    std::vector<const Topic*> out;
    for (const Topic& t : test::rules()->topics) {
        if (t.kind == TopicKind::yes_no) out.push_back(&t);
    }
    return out;
}

// The sentence of a text that ends with its (first) question mark.
std::string asked_sentence(const std::string& text) {
    const auto mark = text.find('?');
    if (mark == std::string::npos) return "";
    const auto start = text.find_last_of(".!:", mark);
    return text.substr(start == std::string::npos ? 0 : start + 1, mark - (start == std::string::npos ? 0 : start + 1) + 1);
}

TEST_CASE("question wording: no yes/no question or re-ask asks whether things are normal") {
    // A "yes" to "is it normal?", "are they as strong as usual?" would deny
    // the sign; "different from usual", "less than usual" name a change.
    const std::regex denies_when_yes(R"(\b(normal|normally|as usual|fine|okay|ok|as strong|as well as)\b)", std::regex::icase);
    const std::regex names_a_change(R"(\b(different from|than) (normal|usual)\b)", std::regex::icase);
    for (const Topic* t : yes_no_topics()) {
        std::vector<std::string> texts{t->question};
        texts.insert(texts.end(), t->reprompts.begin(), t->reprompts.end());
        if (!t->follow_up_question.empty()) texts.push_back(t->follow_up_question);
        for (const std::string& text : texts) {
            INFO(t->id << ": " << text);
            CHECK_FALSE(std::regex_search(std::regex_replace(asked_sentence(text), names_a_change, ""), denies_when_yes));
        }
    }
}

// Plays the safety question `id` up to its simpler re-ask ("not sure" once),
// then answers it plainly.
std::string answer_after_reask(const std::string& id, const std::string& answer) {
    Chat chat;
    chat.say("my lower back has hurt for 3 days");
    for (std::size_t turn = 0; turn < test::rules()->topics.size() && chat.reply().asking != id; ++turn) {
        REQUIRE_FALSE(chat.reply().asking.empty());
        chat.say("no");
    }
    REQUIRE(chat.reply().asking == id);
    chat.say("not sure");
    REQUIRE(chat.reply().asking == id);
    CHECK(chat.reply().text == test::rules()->topic(id)->reprompts.front());
    chat.say(answer);
    const auto it = chat.session().slots.find(id);
    return it == chat.session().slots.end() ? "" : std::get<std::string>(it->second);
}

TEST_CASE("question wording: each safety question and its re-ask, answered yes and no") {
    for (const Topic* t : yes_no_topics()) {
        if (!t->safety) continue;
        INFO(t->id);
        CHECK(answer_after_reask(t->id, "yes") == "yes");
        CHECK(answer_after_reask(t->id, "no") == "no");
    }
}

}  // namespace
}  // namespace backtalk
