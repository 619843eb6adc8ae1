// The dialogue state machine: a turn from the client object in to the replies and session out.
#include "bot/turn.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace backtalk::detail {

TurnResult Turn::begin() {
    s_.state = r_.start_state;
    say(plain(r_.text("greeting"), {}));
    return finish();
}

TurnResult Turn::resume() {
    const State* state = r_.state(s_.state);
    if (!state || (state->kind == State::Kind::questions && !s_.asking.empty() && !r_.topic(s_.asking) && !r_.group(s_.asking))) {
        // The rules changed under this conversation: continue from a safe place.
        move_to_safe_state();
        state = r_.state(s_.state);
    }
    if (on_stretch_step(*state)) {
        // Back in the stretching guide: the step they were on, again.
        say(stretch_step_reply(r_.text("resume") + "\n\n"));
    } else if (state->kind == State::Kind::outcome || state->kind == State::Kind::stretches) {
        say(plain(r_.text("resume_outcome"), menu_after_outcome()));
    } else if (state->kind == State::Kind::questions) {
        say(plain(r_.text("resume"), {}));
        continue_questions(triage());
    } else {
        say(plain(r_.text(state->kind == State::Kind::ended ? "ended" : "greeting"), {}));
    }
    return finish();
}

// A button of a question that is no longer open (clicked in another
// window, or on an old message): "no" to an earlier question must not
// answer the current one. Nothing changes; the person sees where the
// conversation is now.
TurnResult Turn::stale_choice() {
    const State* state = r_.state(s_.state);
    if (state && state->kind == State::Kind::questions && !s_.asking.empty()) {
        say(plain(r_.text("stale_choice"), {}));
        continue_questions(triage());
    } else if (state && on_stretch_step(*state)) {
        say(stretch_step_reply(r_.text("stale_choice") + "\n\n"));
    } else if (state && (state->kind == State::Kind::outcome || state->kind == State::Kind::stretches)) {
        say(plain(r_.text("stale_choice") + "\n\n" + r_.text("resume_outcome"), menu_after_outcome()));
    } else {
        say(plain(r_.text("stale_choice"), {}));
    }
    return finish();
}

TurnResult Turn::message(const protocol::Message& m) {
    ++s_.turns;
    for (const auto& offered : s_.offered) {
        if (comparable(offered.title) == comparable(m.text) && !comparable(m.text).empty()) return chosen(offered.id);
    }
    const Topic* asking = s_.asking.empty() ? nullptr : r_.topic(s_.asking);
    // A bare number picks that button ("2" for the second), unless the question asks for a number.
    if (const auto n = button_number(m.text); n && (!asking || asking->kind != TopicKind::number)) return chosen(s_.offered[*n - 1].id);
    Understanding u = understand(r_, m.text, asking, is_yes("for_someone_else"));
    return handle(u);
}

TurnResult Turn::choice(const protocol::Choice& c) {
    ++s_.turns;
    if (!c.asking.empty() && c.asking != s_.asking) return stale_choice();
    const bool offered = std::any_of(s_.offered.begin(), s_.offered.end(), [&](const QuickReply& q) { return q.id == c.id; });
    if (!offered) {
        TurnResult result;
        result.error = protocol::make_error("bad_choice");
        return result;
    }
    return chosen(c.id);
}

std::string Turn::emergency_number() const {
    return options_.emergency_number.empty() ? r_.default_emergency_number : options_.emergency_number;
}

Reply Turn::plain(std::string text, std::vector<QuickReply> quick_replies) const {
    return Reply{fill(std::move(text), {{"emergency_number", emergency_number()}}), std::move(quick_replies), "", s_.state,
                 std::nullopt, std::nullopt, {}};
}

void Turn::say(Reply reply) {
    reply.state = s_.state;
    replies_.push_back(std::move(reply));
}

TurnResult Turn::finish() {
    for (const auto& [slot, value] : s_.slots) {
        const auto before = slots_before_.find(slot);
        if (before == slots_before_.end() || before->second != value) s_.slot_turns[slot] = s_.turns;
    }
    if (advised_) notes_.basis = basis();
    s_.offered = replies_.empty() ? std::vector<QuickReply>{} : replies_.back().quick_replies;
    s_.rules_version = r_.version;
    TurnResult result;
    result.replies = std::move(replies_);
    result.session = std::move(s_);
    result.notes = std::move(notes_);
    return result;
}

// A quick reply, clicked or typed: an answer to the question, or an intent.
TurnResult Turn::chosen(const std::string& id) {
    Understanding u;
    const Topic* asking = s_.asking.empty() ? nullptr : r_.topic(s_.asking);
    bool answer = false;
    if (const Group* group = r_.group(s_.asking)) {
        if (id == "none" || id == "yes" || id == "unsure" || id == "several") {
            u.answer = id == "none" ? "no" : id == "several" ? "unsure" : id;
            answer = true;
        }
        // "None, I meant no" in "which one?" takes the yes back, as "sorry, I meant no" does.
        if (id == "none" && s_.picking == group->id) u.intents.push_back("correction");
        // A sign's own button in "which one?".
        if (std::find(group->covers.begin(), group->covers.end(), id) != group->covers.end()) {
            u.slots[id] = std::string("yes");
            answer = true;
        }
    }
    if (asking) {
        if (asking->kind == TopicKind::yes_no && (id == "yes" || id == "no" || id == "unsure")) {
            u.answer = id;
            answer = true;
        }
        for (const Option& o : asking->options) {
            if (o.id != id) continue;
            u.slots[asking->id] = o.value ? SlotValue{*o.value} : SlotValue{o.id};
            for (const auto& implied : o.implies) u.slots.emplace(implied.slot, implied.value);
            u.answered_asked = true;
            answer = true;
        }
    }
    if (!s_.pending_correction.empty() && (id == "yes" || id == "no")) {
        u.answer = id;
        answer = true;
    }
    if (!answer) u.intents.push_back(id);
    u.tokens = 1;
    u.covered = 1;
    return handle(u);
}

// "2", " 2. ": the number of a button now shown, or nothing.
std::optional<std::size_t> Turn::button_number(std::string_view text) const {
    std::size_t value = 0;
    int digits = 0;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            if (++digits > 2) return std::nullopt;
            value = value * 10 + static_cast<std::size_t>(c - '0');
        } else if (c != ' ' && c != '.' && c != ')') {
            return std::nullopt;
        }
    }
    if (digits == 0 || value < 1 || value > s_.offered.size()) return std::nullopt;
    return value;
}

TurnResult Turn::handle(Understanding& u) {
    notes_.intents = u.intents;
    for (const auto& [slot, value] : u.slots) notes_.intents.push_back(slot);
    if (!u.answer.empty()) notes_.intents.push_back("answer:" + u.answer);
    notes_.confidence = u.confidence();
    notes_.understood = u.understood();

    const State* state = r_.state(s_.state);
    if (!state) {
        move_to_safe_state();
        state = r_.state(s_.state);
    }
    if (has_intent(u, "restart")) return restart();
    // In the stretching guide "stop" ends the routine, not the conversation.
    if (state->kind == State::Kind::stretches && has_intent(u, "stop")) u.intents = {"done"};
    if (has_intent(u, "stop")) {
        s_.asking.clear();
        s_.state = state_of_kind(State::Kind::ended).id;
        // After urgent or emergency advice the goodbye keeps it: "stop_<level>".
        say(plain(s_.triage ? level_text("stop", std::string(to_string(s_.triage->level))) : r_.text("stop"), {}));
        return finish();
    }
    if (state->kind == State::Kind::ended) {
        // Someone who comes back after "stop" starts a fresh conversation.
        begin_again();
        state = r_.state(s_.state);
    }

    if (!s_.pending_correction.empty() && resolve_correction(u)) return finish();
    s_.pending_correction.clear();
    if (has_intent(u, "correction") && propose_correction(u)) return finish();

    merge(u);
    to_ask_ = u.to_ask;
    to_confirm_ = u.to_confirm;
    const bool pending = resolve_asked(u);

    // The slots do not change after this point of the turn: `now` is the
    // triage every step below works from.
    const Triage now = triage();
    const bool have_outcome = s_.triage.has_value();
    if (now.level == Level::emergency && (!have_outcome || s_.triage->level < Level::emergency)) {
        deliver_outcome(have_outcome, now);
        return finish();
    }

    switch (state->kind) {
        case State::Kind::greeting:
            // "hi", "help" or a word or two: not yet a description of the pain.
            if (u.slots.empty() && (!u.intents.empty() || (!u.understood() && u.tokens < short_message_tokens))) {
                side_intents(u);
                say(plain(r_.text("greeting_again"), {}));
                return finish();
            }
            s_.state = state->next;
            say(plain(r_.text(is_yes("for_someone_else") ? "acknowledge_relative" : "acknowledge"), {}));
            side_intents(u);
            continue_questions(now);
            return finish();
        case State::Kind::questions:
            side_intents(u);
            if (pending) {
                if (!ask_raised_flag()) ask_again();
            } else {
                continue_questions(now);
            }
            return finish();
        case State::Kind::outcome:
        case State::Kind::stretches:
            after_outcome(u, now);
            return finish();
        case State::Kind::ended:
            break;
    }
    return finish();
}

// The answer to the question asked replaces what was there; a symptom
// mentioned in passing fills a gap or turns a "no" into a "yes", never
// the other way round.
void Turn::merge(const Understanding& u) {
    for (const auto& [slot, value] : u.slots) {
        auto it = s_.slots.find(slot);
        const bool open = it == s_.slots.end() ||
                          (std::holds_alternative<std::string>(it->second) && std::get<std::string>(it->second) == "unsure");
        if (slot == s_.asking || open) {
            if (open && slot != s_.asking) news_ = true;
            s_.slots[slot] = value;
        } else if (std::holds_alternative<std::string>(value) && std::get<std::string>(value) == "yes" && it->second != value) {
            news_ = true;
            it->second = value;
        }
    }
}

const State& Turn::state_of_kind(State::Kind kind) const {
    for (const State& s : r_.states) {
        if (s.kind == kind) return s;
    }
    throw std::logic_error("validated rules lack a state kind");
}

void Turn::move_to_safe_state() {
    s_.asking.clear();
    s_.attempts = 0;
    if (s_.triage) {
        s_.state = state_of_kind(State::Kind::outcome).id;
    } else {
        s_.state = r_.state(r_.start_state)->next;
    }
}

TurnResult Turn::restart() {
    begin_again();
    say(plain(r_.text("restart"), {}));
    return finish();
}

// Forgets what the person said, in the same session: it keeps its start,
// this turn's activity (or the next message would find it expired and
// open another conversation), its turn count, locale and rules version.
void Turn::begin_again() {
    Session fresh;
    fresh.started_ms = s_.started_ms;
    fresh.last_active_ms = s_.last_active_ms;
    fresh.turns = s_.turns;
    fresh.rules_version = std::move(s_.rules_version);
    fresh.locale = std::move(s_.locale);
    fresh.state = r_.start_state;
    s_ = std::move(fresh);
}

}  // namespace backtalk::detail
