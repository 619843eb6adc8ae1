// Asking: which question comes next (single or grouped), and whether an answer closes it.
#include "bot/turn.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace backtalk::detail {

// Applies the answer to the question that was asked. Returns true when
// the question is still open and must be asked again.
bool Turn::resolve_asked(const Understanding& u) {
    if (s_.asking.empty()) return false;
    if (const Group* group = r_.group(s_.asking)) return resolve_group(*group, u);
    const Topic* topic = r_.topic(s_.asking);
    if (!topic) {
        s_.asking.clear();
        return false;
    }
    if (is_follow_up(*topic) && is_answered(s_, topic->id)) return resolve_follow_up(*topic, u);
    if (is_answered(s_, topic->id) && (u.answered_asked || u.slots.count(topic->id))) {
        close_question();
        return false;
    }
    if (topic->kind == TopicKind::yes_no && (u.answer == "yes" || u.answer == "no")) {
        s_.slots[topic->id] = u.answer;
        close_question();
        return false;
    }
    // "Nothing", "no idea" to a question about how long or what started
    // it: an honest "don't know", not worth asking again.
    // A plain yes or no to "how old are you?" answers nothing: asked again.
    const bool yes_or_no = u.answer == "yes" || u.answer == "no";
    if (topic->kind != TopicKind::yes_no && !u.answer.empty() && !(topic->kind == TopicKind::number && yes_or_no)) {
        s_.slots[topic->id] = std::string("unsure");
        close_question();
        return false;
    }
    // A hedged report of this very sign ("a bit numb down there?"): one
    // direct question confirms it, and "not sure" to that is the cautious yes.
    const bool hedged = std::find(to_confirm_.begin(), to_confirm_.end(), topic->id) != to_confirm_.end();
    if (hedged && s_.attempts == 0) {
        s_.attempts = 1;
        return true;
    }
    // A side question ("help", "what causes this?", "what does tearing
    // mean?") or other news about the pain is taken in and the question
    // asked again: it is not an unclear answer. Each such turn must add
    // something new or ask something, so this cannot loop for long.
    if (u.answer.empty() && (adds_news() || !u.intents.empty() || !u.definitions.empty() || !u.to_ask.empty())) return true;
    // Still hedged when asked directly ("like jelly, I think"): as unclear as "not sure".
    if (u.answer == "unsure" || (hedged && u.answer.empty())) {
        // A confirming question (attempts already 1) takes "not sure" as yes whatever the topic.
        const bool confirming = s_.attempts >= 1;
        ++s_.attempts;
        if (!topic->safety && !confirming) {
            s_.slots[topic->id] = std::string("unsure");
            close_question();
            return false;
        }
        if (s_.attempts >= 2) {
            // CLINICAL: still unclear after asking again: take the more cautious
            // answer, for this sign and for the signs the hedged words named.
            s_.slots[topic->id] = std::string("yes");
            if (hedged) {
                for (const auto& slot : u.hedged) s_.slots[slot] = std::string("yes");
            }
            say(plain(r_.text("unsure_cautious"), {}));
            close_question();
            return false;
        }
        return true;
    }
    // Not an answer (another topic, gibberish, a question the bot cannot
    // answer): never taken as yes. Asked again; a safety question still
    // unanswered after that gets its sign's advice and stays unknown.
    ++s_.non_answers;
    if (s_.non_answers >= 2) {
        if (topic->safety) {
            s_.slots[topic->id] = std::string(unanswered_value);
            say(plain(r_.text("unanswered_moving_on") + "\n\n" + topic->unanswered, {}));
        } else {
            s_.slots[topic->id] = std::string("unsure");
            say(plain(r_.text("unclear_moving_on"), {}));
        }
        close_question();
        return false;
    }
    say(plain(r_.text(u.question ? "question_not_understood" : "answer_not_understood"), {}));
    return true;
}

bool Turn::resolve_follow_up(const Topic& topic, const Understanding& u) {
    const std::string& fact = topic.follow_up_fact;
    // Said in words ("both legs", "just the left one"), or a plain yes or
    // no. A plain "no" to "one leg only?" is unclear (both? not any more?):
    // it is asked again in words, never read as both legs.
    if (!s_.slots.count(fact) && u.follow_up_answer) s_.slots[fact] = std::string(*u.follow_up_answer ? "yes" : "no");
    if (!s_.slots.count(fact) && u.answer == "yes") s_.slots[fact] = std::string(topic.follow_up_yes_is_no ? "no" : "yes");
    if (!s_.slots.count(fact) && u.answer == "no" && !topic.follow_up_yes_is_no) s_.slots[fact] = std::string("no");
    // Settled, or the sign itself is now denied ("not any more").
    const auto sign = s_.slots.find(topic.id);
    if (s_.slots.count(fact) || sign == s_.slots.end() || sign->second != SlotValue{std::string("yes")}) {
        close_question();
        return false;
    }
    if (u.answer == "unsure") {
        // As with a safety question: asked once more, then the cautious yes.
        if (++s_.attempts < 2) return true;
        s_.slots[fact] = std::string("yes");
        say(plain(r_.text("unsure_cautious"), {}));
        close_question();
        return false;
    }
    if (u.answer.empty() && (adds_news() || !u.intents.empty() || !u.definitions.empty() || !u.to_ask.empty())) return true;
    // Not an answer twice: the fact stays unknown and the questions go on.
    // (A safety sign left unknown was already answered yes by its topic.)
    if (++s_.non_answers >= 2) {
        close_question();
        return false;
    }
    say(plain(r_.text(u.question ? "question_not_understood" : "answer_not_understood"), {}));
    return true;
}

bool Turn::ask_follow_up() {
    for (const Topic& topic : r_.topics) {
        if (topic.follow_up_fact.empty() || s_.slots.count(topic.follow_up_fact) || is_follow_up(topic)) continue;
        const auto it = s_.slots.find(topic.id);
        if (it == s_.slots.end() || it->second != SlotValue{std::string("yes")}) continue;
        s_.followed_up.push_back(topic.id);
        ask(topic, topic.follow_up_question);
        return true;
    }
    return false;
}

void Turn::close_question() {
    s_.asking.clear();
    s_.picking.clear();
    s_.attempts = 0;
    s_.non_answers = 0;
}

// The covered topics of a group still worth asking, in its order.
std::vector<std::string> Turn::open_topics(const Group& group, const State& state, const Triage& now) const {
    std::vector<std::string> out;
    for (const auto& id : group.covers) {
        if (worth_asking(state, *r_.topic(id), now)) out.push_back(id);
    }
    return out;
}

void Turn::ask_group(const Group& group, std::vector<std::string> covers) {
    const bool again = s_.asking == group.id;
    if (!again) {
        s_.attempts = 0;
        s_.non_answers = 0;
        s_.picking.clear();
    }
    const bool asked_before = std::find(s_.asked.begin(), s_.asked.end(), group.id) != s_.asked.end();
    if (!asked_before) s_.asked.push_back(group.id);
    s_.asking = group.id;
    Reply reply;
    if (s_.picking == group.id) {
        // "Which one?": a button per sign still open, then "More than one" and "Not sure".
        std::vector<QuickReply> buttons;
        for (const auto& id : covers) buttons.push_back({id, r_.topic(id)->label});
        buttons.insert(buttons.end(), r_.which_replies.begin(), r_.which_replies.end());
        reply = plain(r_.text("group_which"), std::move(buttons));
    } else {
        // Asked again after a sign was named or denied: the others, said so.
        const bool others = asked_before && !again && covers.size() < group.covers.size();
        std::string text = others ? r_.text("group_others") : group.intro;
        for (const auto& id : covers) text += "\n- " + r_.topic(id)->title;
        reply = plain(std::move(text), r_.group_replies);
    }
    reply.asking = group.id;
    reply.covers = std::move(covers);
    say(std::move(reply));
}

// An answer to "Do you have any of these?". Signs named in the message
// are already set; "none" denies the rest; "yes" alone asks which one;
// "not sure", or "more than one" to "which one?", goes through them one at
// a time. Returns true when the group is asked again.
bool Turn::resolve_group(const Group& group, const Understanding& u) {
    // A sign of the group this message newly named as present.
    const bool named = std::any_of(group.covers.begin(), group.covers.end(), [&](const std::string& id) {
        const auto it = u.slots.find(id);
        return it != u.slots.end() && it->second == SlotValue{std::string("yes")} && !slots_before_.count(id);
    });
    const bool picking = s_.picking == group.id;
    const auto one_by_one = [&] {
        s_.one_at_a_time.push_back(group.id);
        say(plain(r_.text("group_one_at_a_time"), {}));
        close_question();
        return false;
    };
    // "I don't understand the question": the list, one sign at a time.
    if (has_intent(u, "clarify") && !named) return one_by_one();
    // "None of these", or "coughing makes it worse, otherwise no": the
    // signs named are set, the rest denied. Once the person has said yes,
    // a bare "no" to "which one?" is unclear, never a denial.
    // "Sorry, I meant no": the yes taken back, as "none of these".
    const bool taken_back = picking && u.answer == "no" && has_intent(u, "correction");
    if (u.answer == "no" && (named || !picking || taken_back)) {
        // "None of that. Oh wait, my pee has been a bit weird": the sign
        // raised is asked about, not denied.
        for (const auto& id : group.covers) {
            const auto raised = [&](const std::vector<std::string>& list) { return std::find(list.begin(), list.end(), id) != list.end(); };
            if (!raised(to_confirm_) && !raised(to_ask_)) s_.slots.emplace(id, std::string("no"));
        }
        close_question();
        return false;
    }
    // A sign named with doubt ("legs a bit wobbly, but that's prob just me
    // not eating") is confirmed by one direct question next, like a sign
    // named outright; the rest come back as a group.
    if (named || !u.to_confirm.empty()) {
        close_question();  // the rest are asked again as a group, if still worth it
        return false;
    }
    if (news_ && !picking) {
        close_question();
        return false;
    }
    if (u.answer == "yes" && !picking) {
        s_.picking = group.id;
        s_.non_answers = 0;
        return true;
    }
    if (!u.answer.empty()) return one_by_one();
    if (!u.intents.empty() || !u.definitions.empty() || !u.to_ask.empty() || news_) return true;
    if (++s_.non_answers >= 2) {
        if (picking) return one_by_one();
        s_.one_at_a_time.push_back(group.id);
        close_question();
        return false;
    }
    say(plain(r_.text(u.question ? "question_not_understood" : "answer_not_understood"), {}));
    return true;
}

std::vector<QuickReply> Turn::replies_for(const Topic& topic) const {
    if (topic.kind == TopicKind::yes_no) return r_.yes_no_replies;
    std::vector<QuickReply> out;
    for (const Option& o : topic.options) out.push_back({o.id, o.title});
    return out;
}

void Turn::ask(const Topic& topic, const std::string& text) {
    if (s_.asking != topic.id) {
        s_.attempts = 0;
        s_.non_answers = 0;
    }
    s_.picking.clear();
    s_.asking = topic.id;
    if (std::find(s_.asked.begin(), s_.asked.end(), topic.id) == s_.asked.end()) s_.asked.push_back(topic.id);
    Reply reply = plain(text, replies_for(topic));
    reply.asking = topic.id;
    say(std::move(reply));
}

void Turn::ask_again() {
    if (const Group* group = r_.group(s_.asking)) {
        const State* state = r_.state(s_.state);
        auto covers = state ? open_topics(*group, *state, triage()) : group->covers;
        ask_group(*group, covers.empty() ? group->covers : std::move(covers));
        return;
    }
    const Topic& topic = *r_.topic(s_.asking);
    if (is_follow_up(topic) && is_answered(s_, topic.id)) {
        ask(topic, s_.non_answers + s_.attempts == 0 ? topic.follow_up_question : topic.follow_up_reprompt);
        return;
    }
    if (s_.attempts == 0) {
        ask(topic, topic.question);
        return;
    }
    const auto k = std::min(static_cast<std::size_t>(s_.attempts - 1), topic.reprompts.size() - 1);
    ask(topic, topic.reprompts[k]);
}

// A red flag the message raised in a question, a hypothetical or with
// doubt, not yet answered (or denied before): asked before anything else.
// In the order of the flow, so the most specific safety question comes
// first ("numb down there" raises saddle numbness before leg numbness).
bool Turn::ask_raised_flag(bool after_advice) {
    const auto raised = [](const std::vector<std::string>& list, const std::string& id) {
        return std::find(list.begin(), list.end(), id) != list.end();
    };
    for (const State* state = r_.state(r_.start_state); state; state = state->next.empty() ? nullptr : r_.state(state->next)) {
        std::vector<std::string> topics;  // a group stands for its topics
        for (const auto& q : state->questions) {
            if (const Group* group = r_.group(q)) {
                topics.insert(topics.end(), group->covers.begin(), group->covers.end());
            } else {
                topics.push_back(q);
            }
        }
        for (const auto& id : topics) {
            const bool confirm = raised(to_confirm_, id);
            if (!confirm && !raised(to_ask_, id)) continue;
            const Topic& topic = *r_.topic(id);
            const auto known = s_.slots.find(id);
            // A sign denied in an earlier message and raised again ("nope.
            // well actually my foot has gone a bit floppy") is asked again
            // when a yes would raise the level, before the advice as after
            // it; never when this message answered that very question.
            if (known != s_.slots.end()) {
                const auto before = slots_before_.find(id);
                const bool denied_before = before != slots_before_.end() && before->second == SlotValue{std::string("no")} &&
                                           known->second == SlotValue{std::string("no")};
                const Level level = after_advice ? s_.triage->level : triage().level;
                if (!denied_before || asking_before_ == id || !yes_would_raise(topic, level)) continue;
            }
            ask(topic, topic.question);
            if (confirm) s_.attempts = 1;
            return true;
        }
    }
    return false;
}

// Ask only what could still change the advice: its level, or (below
// `narrow_from`) the causes it gives or the stretching plan.
bool Turn::worth_asking(const State& state, const Topic& topic, const Triage& now) const {
    if (is_answered(s_, topic.id)) return false;
    if (topic.ask_if && evaluate(*topic.ask_if, s_.slots) != Truth::yes) return false;
    if (could_raise(topic, now.level)) return true;
    if (state.narrow_from && now.level >= *state.narrow_from) return false;
    return could_change_reasons(topic, now) || shapes_plan(topic);
}

// The questions still to come, at most: an honest answer to "how many more?".
int Turn::questions_left() const {
    const Triage now = triage();
    int n = 0;
    for (const State* state = r_.state(s_.state); state && state->kind == State::Kind::questions; state = r_.state(state->next)) {
        for (const auto& id : state->questions) {
            if (id == s_.asking) continue;
            if (const Group* group = r_.group(id)) {
                const auto open = open_topics(*group, *state, now);
                n += one_at_a_time(*group) ? static_cast<int>(open.size()) : open.empty() ? 0 : 1;
            } else {
                n += worth_asking(*state, *r_.topic(id), now) ? 1 : 0;
            }
        }
    }
    return n;
}

void Turn::continue_questions(const Triage& now) {
    if (ask_raised_flag() || ask_follow_up()) return;
    for (const State* state = r_.state(s_.state); state && state->kind == State::Kind::questions; state = r_.state(state->next)) {
        for (const auto& id : state->questions) {
            const Group* group = r_.group(id);
            std::vector<std::string> open = group ? open_topics(*group, *state, now) : std::vector<std::string>{};
            if (!group && worth_asking(*state, *r_.topic(id), now)) open.push_back(id);
            if (open.empty()) continue;
            s_.state = state->id;
            if (group && open.size() > 1 && !one_at_a_time(*group)) {
                ask_group(*group, std::move(open));
            } else {
                const Topic& topic = *r_.topic(open.front());
                ask(topic, topic.question);
            }
            return;
        }
    }
    deliver_outcome(false, now);
}

}  // namespace backtalk::detail
