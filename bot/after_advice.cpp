// After the advice: what people say next, from the stretching guide to a new red flag.
#include "bot/turn.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace backtalk::detail {

void Turn::after_outcome(const Understanding& u, const Triage& now) {
    if (now.level > s_.triage->level) {
        deliver_outcome(true, now);
        return;
    }
    const State& stretches = state_of_kind(State::Kind::stretches);
    const State& outcome = state_of_kind(State::Kind::outcome);
    const bool in_guide = s_.state == stretches.id;
    bool answered = false;
    explain(u);
    answered = !u.definitions.empty();
    // Pregnancy told after urgent or emergency advice: the maternity unit too.
    if (s_.triage->level >= Level::urgent && is_yes("pregnant") && !slots_before_.count("pregnant")) {
        say(plain(r_.text("maternity"), menu_after_outcome()));
        answered = true;
    }
    for (const auto& intent : u.intents) {
        if (answer_question_back(intent, menu_after_outcome())) {
            answered = true;
            continue;
        }
        if (intent == "stretches" || (!in_guide && intent == "next")) {
            answered = true;
            if (!stretching_safe()) {
                say(plain(r_.text("stretches_not_safe"), menu_after_outcome()));
                continue;
            }
            s_.state = stretches.id;
            s_.step_index = 0;
            say(stretch_step_reply(r_.stretches.intro + "\n\n" + r_.stretches.note + "\n\n"));
        } else if (in_guide && intent == "next") {
            answered = true;
            if (static_cast<std::size_t>(s_.step_index + 1) >= plan().size()) {
                s_.state = outcome.id;
                say(plain(r_.text("stretches_done"), r_.menus.at("stretches_done")));
            } else {
                ++s_.step_index;
                say(stretch_step_reply(""));
            }
        } else if (in_guide && intent == "repeat") {
            answered = true;
            say(stretch_step_reply(""));
        } else if (intent == "done") {
            answered = true;
            // "done" before the last step stops the routine; it is not the whole of it.
            const bool finished = !in_guide || static_cast<std::size_t>(s_.step_index + 1) >= plan().size();
            s_.state = outcome.id;
            say(plain(r_.text(finished ? "stretches_done" : "stretches_stopped"), r_.menus.at("stretches_done")));
        } else if (intent == "causes") {
            answered = true;
            say(plain(causes_text(r_.causes.size()), menu_after_outcome()));
        } else if (in_guide && intent == "stretch_hurts") {
            answered = true;
            say(plain(r_.text("stretch_hurts"), r_.menus.at("stretch_step")));
        } else if (intent == "see_doctor" || intent == "summary" || (!in_guide && intent == "repeat")) {
            answered = true;
            const std::string level_name(to_string(s_.triage->level));
            say(plain(r_.text("outcome_" + level_name) + "\n\n" + r_.text("safety_net_" + level_name), menu_after_outcome()));
        } else if (intent == "help") {
            answered = true;
            say(plain(r_.text("help"), menu_after_outcome()));
        } else if (intent == "thanks") {
            answered = true;
            say(plain(level_text("thanks", std::string(to_string(s_.triage->level))), menu_after_outcome()));
        } else if (intent == "outside_scope") {
            answered = true;
            say(plain(r_.text("outside_scope"), menu_after_outcome()));
        }
    }
    // A red flag raised in a question or with doubt ("is it ok that my pee
    // is weird?") is asked about: the answer may raise the level.
    if (!in_guide && ask_raised_flag(true)) return;
    // The answer to a sign asked about after the advice, which did not raise it.
    if (!answered && r_.topic(asking_before_) && s_.asking.empty() && is_answered(s_, asking_before_)) {
        say(plain(r_.text("advice_stands"), menu_after_outcome()));
        return;
    }
    // A sign told after the advice that does not change it ("my leg is a bit
    // numb now"): taken, said so, with the signs that would change it.
    if (!answered && told_new_sign()) {
        const std::string level(to_string(s_.triage->level));
        say(plain(level_text("new_sign_same_advice", level) + "\n\n" + r_.text("safety_net_" + level), menu_after_outcome()));
        return;
    }
    if (!answered) say(plain(level_text("after_outcome", std::string(to_string(s_.triage->level))), menu_after_outcome()));
}

// A sign of the person's own newly said yes in this turn.
bool Turn::told_new_sign() const {
    return std::any_of(r_.topics.begin(), r_.topics.end(), [&](const Topic& topic) {
        if (topic.kind != TopicKind::yes_no || !is_yes(topic.id)) return false;
        const auto before = slots_before_.find(topic.id);
        return before == slots_before_.end() || before->second != SlotValue{std::string("yes")};
    });
}

}  // namespace backtalk::detail
