// Corrections: a finding the person says is wrong changes only once they confirm it.
#include "bot/turn.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace backtalk::detail {

// "That's wrong, my legs are fine", "I meant no", "I'm 52, not 25": the
// findings this message contradicts, or (for a bare "I meant no") those
// the previous turn set. Nothing changes until the person confirms.
bool Turn::propose_correction(const Understanding& u) {
    Slots changes;
    for (const auto& [slot, value] : u.slots) {
        const auto held = s_.slots.find(slot);
        if (held != s_.slots.end() && held->second != value && slot != "back_pain") changes[slot] = value;
    }
    if (changes.empty() && (u.answer == "yes" || u.answer == "no")) {
        for (const auto& [slot, turn] : s_.slot_turns) {
            const auto held = s_.slots.find(slot);
            if (turn == s_.turns - 1 && held != s_.slots.end() && std::holds_alternative<std::string>(held->second) &&
                (held->second == SlotValue{std::string("yes")} || held->second == SlotValue{std::string("no")}) &&
                held->second != SlotValue{u.answer} && slot != "back_pain") {
                changes[slot] = u.answer;
            }
        }
    }
    // "No, I said no pain in my legs" to an open question restates an
    // answer: it is handled as one, not as a correction of nothing.
    if (changes.empty() && !s_.asking.empty() && (!u.answer.empty() || u.answered_asked)) return false;
    if (changes.empty()) {
        say(plain(r_.text("correction_unclear"), {}));
        return_to_where_we_were();
        return true;
    }
    std::string list;
    for (const auto& [slot, value] : changes) {
        list += fill(r_.text("correction_change"),
                     {{"finding", finding_title(slot)}, {"old", value_text(s_.slots.at(slot))}, {"new", value_text(value)}});
    }
    // When the finding is a question's answer, the confirmation asks that
    // question: a new answer typed instead of "yes" is taken as given.
    const std::string& first = changes.begin()->first;
    Reply reply = plain(fill(r_.text("correction_confirm"), {{"changes", list}}), r_.yes_no_replies);
    if (r_.topic(first)) {
        s_.asking = first;
        reply.asking = first;
    }
    s_.pending_correction = std::move(changes);
    say(std::move(reply));
    return true;
}

// The answer to "Shall I change that?". Returns false when the message
// is about something else: the correction is dropped and the message
// handled as any other.
bool Turn::resolve_correction(const Understanding& u) {
    // A finding restated instead of "yes" or "no" ("yes, coughing does make
    // it worse") answers by what it says: the value held keeps it, the new
    // value confirms the change.
    std::optional<bool> restated;
    for (const auto& [slot, value] : s_.pending_correction) {
        const auto said = u.slots.find(slot);
        if (said == u.slots.end()) continue;
        if (said->second == value) restated = true;
        else if (said->second == s_.slots.at(slot)) restated = false;
    }
    if (!restated && u.answer != "yes" && u.answer != "no") return false;
    if (restated ? !*restated : u.answer == "no") {
        s_.pending_correction.clear();
        say(plain(r_.text("correction_kept"), {}));
        return_to_where_we_were();
        return true;
    }
    for (const auto& [slot, value] : s_.pending_correction) {
        s_.slots[slot] = value;
        notes_.intents.push_back("correction:" + slot + "=" + value_text(value));
    }
    s_.pending_correction.clear();
    say(plain(r_.text("correction_applied"), {}));
    const Triage now = triage();
    if (s_.triage && now.level < s_.triage->level) {
        // The one way advice may become less urgent: a correction the
        // person confirmed. What an emergency cut short is asked now.
        s_.triage.reset();
        s_.asking.clear();
        s_.state = r_.state(r_.start_state)->next;
        continue_questions(now);
    } else if (s_.triage || now.level == Level::emergency) {
        deliver_outcome(false, now);
    } else {
        return_to_where_we_were();
    }
    return true;
}

// After a side exchange: the open question again, or the menu after the advice.
void Turn::return_to_where_we_were() {
    const State* state = r_.state(s_.state);
    if (!s_.asking.empty() && (r_.group(s_.asking) || !is_answered(s_, s_.asking))) {
        ask_again();
    } else if (state && state->kind == State::Kind::questions) {
        close_question();
        continue_questions(triage());
    } else if (state && (state->kind == State::Kind::outcome || state->kind == State::Kind::stretches)) {
        say(plain(r_.text("advice_stands"), menu_after_outcome()));
    }
}

}  // namespace backtalk::detail
