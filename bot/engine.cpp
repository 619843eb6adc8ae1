// The dialogue: applies what a message says to the session, checks the
// triage rules after every message, and decides what to say next. All
// wording comes from the rules; this file holds only the mechanism.
#include "bot/engine.hpp"

#include "bot/conditions.hpp"
#include "bot/rules.hpp"
#include "bot/ruleset.hpp"
#include "bot/understand.hpp"

#include <algorithm>
#include <optional>
#include <cctype>
#include <set>
#include <stdexcept>

namespace backtalk {

bool is_dialable_number(std::string_view number) {
    if (!number.empty() && number.front() == '+') number.remove_prefix(1);
    int digits = 0;
    bool after_digit = false;
    for (char c : number) {
        if (c >= '0' && c <= '9') {
            ++digits;
            after_digit = true;
        } else if ((c == ' ' || c == '-') && after_digit) {
            after_digit = false;
        } else {
            return false;
        }
    }
    return after_digit && digits >= 2 && digits <= 15;
}

namespace {

std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
    for (const auto& [key, value] : values) {
        const std::string marker = "{" + key + "}";
        for (std::size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + value.size())) {
            text.replace(at, marker.size(), value);
        }
    }
    return text;
}

// Lower-case letters and digits only, for comparing typed text to a button title.
std::string comparable(std::string_view text) {
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || u >= 0x80) out.push_back(static_cast<char>(std::tolower(u)));
    }
    return out;
}

std::string format_number(double value) {
    std::string text = std::to_string(value);
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
}

bool is_answered(const Session& s, const std::string& slot) { return s.slots.count(slot) > 0; }

// The value of a safety question the person did not answer: neither yes nor no.
constexpr const char* unanswered_value = "unanswered";

// Fewer words than this, none understood, is not yet a description of the pain.
constexpr int short_message_tokens = 3;

// One turn in progress.
class Turn {
public:
    Turn(const RuleSet& rules, const EngineOptions& options, Session session, std::int64_t now)
        : r_(rules), options_(options), s_(std::move(session)), slots_before_(s_.slots) {
        s_.last_active_ms = now;
    }

    TurnResult begin() {
        s_.state = r_.start_state;
        say(plain(r_.text("greeting"), {}));
        return finish();
    }

    TurnResult resume() {
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
    TurnResult stale_choice() {
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

    TurnResult message(const protocol::Message& m) {
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

    TurnResult choice(const protocol::Choice& c) {
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

private:
    const RuleSet& r_;
    const EngineOptions& options_;
    Session s_;
    std::vector<Reply> replies_;
    TurnNotes notes_;
    bool news_ = false;  // this turn filled a slot that was open
    const Slots slots_before_;
    bool advised_ = false;  // this turn gave or raised the advice
    // Red flags this message raised without saying they are there: asked
    // next, before the usual order (a hedged one is confirmed once).
    std::vector<std::string> to_ask_;
    std::vector<std::string> to_confirm_;
    std::vector<std::string> answered_;  // texts of questions back answered this turn

    // In the stretching guide, on a step of this person's plan.
    bool on_stretch_step(const State& state) const {
        return state.kind == State::Kind::stretches && static_cast<std::size_t>(s_.step_index) < plan().size();
    }

    std::string emergency_number() const {
        return options_.emergency_number.empty() ? r_.default_emergency_number : options_.emergency_number;
    }

    Reply plain(std::string text, std::vector<QuickReply> quick_replies) const {
        return Reply{fill(std::move(text), {{"emergency_number", emergency_number()}}), std::move(quick_replies), "", s_.state,
                     std::nullopt, std::nullopt, {}};
    }

    void say(Reply reply) {
        reply.state = s_.state;
        replies_.push_back(std::move(reply));
    }

    TurnResult finish() {
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
    TurnResult chosen(const std::string& id) {
        Understanding u;
        const Topic* asking = s_.asking.empty() ? nullptr : r_.topic(s_.asking);
        bool answer = false;
        if (r_.group(s_.asking) && (id == "none" || id == "yes" || id == "unsure")) {
            u.answer = id == "none" ? "no" : id;
            answer = true;
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
    std::optional<std::size_t> button_number(std::string_view text) const {
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

    bool has_intent(const Understanding& u, const char* id) const {
        return std::find(u.intents.begin(), u.intents.end(), id) != u.intents.end();
    }

    TurnResult handle(Understanding& u) {
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
            say(plain(r_.text("stop"), {}));
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
    void merge(const Understanding& u) {
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

    bool is_yes(const std::string& slot) const {
        const auto it = s_.slots.find(slot);
        return it != s_.slots.end() && std::holds_alternative<std::string>(it->second) && std::get<std::string>(it->second) == "yes";
    }

    const State& state_of_kind(State::Kind kind) const {
        for (const State& s : r_.states) {
            if (s.kind == kind) return s;
        }
        throw std::logic_error("validated rules lack a state kind");
    }

    void move_to_safe_state() {
        s_.asking.clear();
        s_.attempts = 0;
        if (s_.triage) {
            s_.state = state_of_kind(State::Kind::outcome).id;
        } else {
            s_.state = r_.state(r_.start_state)->next;
        }
    }

    TurnResult restart() {
        begin_again();
        say(plain(r_.text("restart"), {}));
        return finish();
    }

    // Forgets what the person said, in the same session: it keeps its start,
    // this turn's activity (or the next message would find it expired and
    // open another conversation), its turn count, locale and rules version.
    void begin_again() {
        Session fresh;
        fresh.started_ms = s_.started_ms;
        fresh.last_active_ms = s_.last_active_ms;
        fresh.turns = s_.turns;
        fresh.rules_version = std::move(s_.rules_version);
        fresh.locale = std::move(s_.locale);
        fresh.state = r_.start_state;
        s_ = std::move(fresh);
    }

    // Applies the answer to the question that was asked. Returns true when
    // the question is still open and must be asked again.
    bool resolve_asked(const Understanding& u) {
        if (s_.asking.empty()) return false;
        if (const Group* group = r_.group(s_.asking)) return resolve_group(*group, u);
        const Topic* topic = r_.topic(s_.asking);
        if (!topic) {
            s_.asking.clear();
            return false;
        }
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
        if (topic->kind != TopicKind::yes_no && !u.answer.empty()) {
            s_.slots[topic->id] = std::string("unsure");
            close_question();
            return false;
        }
        // A hedged report of this very sign ("a bit numb down there?"): one
        // direct question confirms it, and "not sure" to that is the cautious yes.
        if (std::find(to_confirm_.begin(), to_confirm_.end(), topic->id) != to_confirm_.end()) {
            s_.attempts = std::max(s_.attempts, 1);
            return true;
        }
        // A side question ("help", "what causes this?", "what does tearing
        // mean?") or other news about the pain is taken in and the question
        // asked again: it is not an unclear answer. Each such turn must add
        // something new or ask something, so this cannot loop for long.
        if (u.answer.empty() && (adds_news() || !u.intents.empty() || !u.definitions.empty() || !u.to_ask.empty())) return true;
        if (u.answer == "unsure") {
            // A confirming question (attempts already 1) takes "not sure" as yes whatever the topic.
            const bool confirming = s_.attempts >= 1;
            ++s_.attempts;
            if (!topic->safety && !confirming) {
                s_.slots[topic->id] = std::string("unsure");
                close_question();
                return false;
            }
            if (s_.attempts >= 2) {
                // CLINICAL: still unclear after asking again: take the more cautious answer.
                s_.slots[topic->id] = std::string("yes");
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

    // Whether the message told something not known before this turn.
    bool adds_news() const { return news_; }

    void close_question() {
        s_.asking.clear();
        s_.attempts = 0;
        s_.non_answers = 0;
    }

    // The covered topics of a group still worth asking, in its order.
    std::vector<std::string> open_topics(const Group& group, const State& state, const Triage& now) const {
        std::vector<std::string> out;
        for (const auto& id : group.covers) {
            if (worth_asking(state, *r_.topic(id), now)) out.push_back(id);
        }
        return out;
    }

    bool one_at_a_time(const Group& group) const {
        return std::find(s_.one_at_a_time.begin(), s_.one_at_a_time.end(), group.id) != s_.one_at_a_time.end();
    }

    void ask_group(const Group& group, std::vector<std::string> covers) {
        if (s_.asking != group.id) {
            s_.attempts = 0;
            s_.non_answers = 0;
        }
        s_.asking = group.id;
        if (std::find(s_.asked.begin(), s_.asked.end(), group.id) == s_.asked.end()) s_.asked.push_back(group.id);
        std::string text = group.intro;
        for (const auto& id : covers) text += "\n- " + r_.topic(id)->title;
        Reply reply = plain(text, r_.group_replies);
        reply.asking = group.id;
        reply.covers = std::move(covers);
        say(std::move(reply));
    }

    // An answer to "Do you have any of these?". Signs named in the message
    // are already set; "none" denies the rest; "yes" alone or "not sure" goes
    // through them one at a time. Returns true when the group is asked again.
    bool resolve_group(const Group& group, const Understanding& u) {
        // A sign of the group this message newly named as present.
        const bool named = std::any_of(group.covers.begin(), group.covers.end(), [&](const std::string& id) {
            const auto it = u.slots.find(id);
            return it != u.slots.end() && it->second == SlotValue{std::string("yes")} && !slots_before_.count(id);
        });
        if (u.answer == "no" && !named) {
            for (const auto& id : group.covers) s_.slots.emplace(id, std::string("no"));
            close_question();
            return false;
        }
        if (named || news_) {
            close_question();  // the rest are asked again as a group, if still worth it
            return false;
        }
        if (u.answer == "yes" || u.answer == "unsure") {
            s_.one_at_a_time.push_back(group.id);
            say(plain(r_.text("group_one_at_a_time"), {}));
            close_question();
            return false;
        }
        if (!u.intents.empty() || !u.definitions.empty() || !u.to_ask.empty()) return true;
        ++s_.non_answers;
        if (s_.non_answers >= 2) {
            s_.one_at_a_time.push_back(group.id);
            close_question();
            return false;
        }
        say(plain(r_.text(u.question ? "question_not_understood" : "answer_not_understood"), {}));
        return true;
    }

    std::vector<QuickReply> replies_for(const Topic& topic) const {
        if (topic.kind == TopicKind::yes_no) return r_.yes_no_replies;
        std::vector<QuickReply> out;
        for (const Option& o : topic.options) out.push_back({o.id, o.title});
        return out;
    }

    void ask(const Topic& topic, const std::string& text) {
        if (s_.asking != topic.id) {
            s_.attempts = 0;
            s_.non_answers = 0;
        }
        s_.asking = topic.id;
        if (std::find(s_.asked.begin(), s_.asked.end(), topic.id) == s_.asked.end()) s_.asked.push_back(topic.id);
        Reply reply = plain(text, replies_for(topic));
        reply.asking = topic.id;
        say(std::move(reply));
    }

    void ask_again() {
        if (const Group* group = r_.group(s_.asking)) {
            const State* state = r_.state(s_.state);
            auto covers = state ? open_topics(*group, *state, triage()) : group->covers;
            ask_group(*group, covers.empty() ? group->covers : std::move(covers));
            return;
        }
        const Topic& topic = *r_.topic(s_.asking);
        if (s_.attempts == 0) {
            ask(topic, topic.question);
            return;
        }
        const auto k = std::min(static_cast<std::size_t>(s_.attempts - 1), topic.reprompts.size() - 1);
        ask(topic, topic.reprompts[k]);
    }

    // Could a still-open rule above `level` fire once this topic is answered?
    bool could_raise(const Topic& topic, Level level) const {
        for (const TriageRule& rule : r_.triage_rules) {
            if (rule.level <= level || !rule.slots.count(topic.id)) continue;
            if (evaluate(rule.when, s_.slots) == Truth::unknown) return true;
        }
        return false;
    }

    // A red flag the message raised in a question, a hypothetical or with
    // doubt, not yet answered: asked before anything else.
    // In the order of the flow, so the most specific safety question comes
    // first ("numb down there" raises saddle numbness before leg numbness).
    bool ask_raised_flag() {
        const auto raised = [](const std::vector<std::string>& list, const std::string& id) {
            return std::find(list.begin(), list.end(), id) != list.end();
        };
        for (const State* state = r_.state(r_.start_state); state; state = state->next.empty() ? nullptr : r_.state(state->next)) {
            for (const auto& id : state->questions) {
                const bool confirm = raised(to_confirm_, id);
                if ((!confirm && !raised(to_ask_, id)) || is_answered(s_, id)) continue;
                const Topic& topic = *r_.topic(id);
                ask(topic, topic.question);
                if (confirm) s_.attempts = 1;
                return true;
            }
        }
        return false;
    }

    // Ask only what could still change the advice: its level, or (below
    // `narrow_from`) the causes it gives or the stretching plan.
    bool worth_asking(const State& state, const Topic& topic, const Triage& now) const {
        if (is_answered(s_, topic.id)) return false;
        if (topic.ask_if && evaluate(*topic.ask_if, s_.slots) != Truth::yes) return false;
        if (could_raise(topic, now.level)) return true;
        if (state.narrow_from && now.level >= *state.narrow_from) return false;
        return could_change_reasons(topic, now) || shapes_plan(topic);
    }

    // Could a rule at the current level, with a cause not yet among the
    // reasons, fire once this topic is answered?
    bool could_change_reasons(const Topic& topic, const Triage& now) const {
        for (const TriageRule& rule : r_.triage_rules) {
            if (rule.level != now.level || rule.cause.empty() || !rule.slots.count(topic.id)) continue;
            if (std::find(now.reasons.begin(), now.reasons.end(), rule.cause) != now.reasons.end()) continue;
            if (evaluate(rule.when, s_.slots) == Truth::unknown) return true;
        }
        return false;
    }

    // Does a step of the stretching plan depend on this topic (the cool-down after exercise)?
    bool shapes_plan(const Topic& topic) const {
        std::set<std::string> read;
        for (const auto& when : r_.stretches.step_when) {
            if (when && evaluate(*when, s_.slots) == Truth::unknown) referenced_slots(*when, read);
        }
        return read.count(topic.id) > 0;
    }

    // The questions still to come, at most: an honest answer to "how many more?".
    int questions_left() const {
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

    void continue_questions(const Triage& now) {
        if (ask_raised_flag()) return;
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

    Triage triage() const {
        struct Fired {
            const TriageRule* rule;
            int specificity;
            std::size_t order;
        };
        std::vector<Fired> fired;
        for (std::size_t i = 0; i < r_.triage_rules.size(); ++i) {
            const TriageRule& rule = r_.triage_rules[i];
            if (evaluate(rule.when, s_.slots) == Truth::yes) fired.push_back({&rule, true_leaves(rule.when, s_.slots), i});
        }
        std::stable_sort(fired.begin(), fired.end(), [](const Fired& a, const Fired& b) {
            if (a.rule->level != b.rule->level) return a.rule->level > b.rule->level;
            if (a.specificity != b.specificity) return a.specificity > b.specificity;
            return a.order < b.order;
        });
        Triage t;
        if (!fired.empty()) t.level = fired.front().rule->level;
        // Reasons are the causes behind the level: those of the winning level,
        // or, when its rules carry none (age, not improving), of the most
        // urgent level below that has some.
        std::optional<Level> reasons_level;
        for (const Fired& f : fired) {
            if (f.rule->cause.empty()) continue;
            if (!reasons_level) reasons_level = f.rule->level;
            if (f.rule->level != *reasons_level) break;
            if (std::find(t.reasons.begin(), t.reasons.end(), f.rule->cause) == t.reasons.end()) t.reasons.push_back(f.rule->cause);
        }
        return t;
    }

    bool stretching_safe() const { return s_.triage && s_.triage->level <= Level::gp_soon; }

    std::vector<QuickReply> menu_after_outcome() const {
        return r_.menus.at(stretching_safe() ? "after_outcome_safe" : "after_outcome_serious");
    }

    std::string causes_text(std::size_t limit) const {
        std::string text = r_.text("causes_intro");
        std::size_t n = 0;
        for (const auto& id : s_.triage->reasons) {
            if (n++ == limit) break;
            const Cause& c = r_.causes.at(id);
            text += "\n- **" + c.title + "**: " + c.explanation;
        }
        return text;
    }

    // The rules at the advice's level that hold, and the facts each used.
    std::vector<RuleBasis> basis() const {
        std::vector<RuleBasis> out;
        for (const TriageRule& rule : r_.triage_rules) {
            if (rule.level != s_.triage->level || evaluate(rule.when, s_.slots) != Truth::yes) continue;
            RuleBasis b{rule.id, rule.level, {}};
            std::set<std::string> used;
            true_slots(rule.when, s_.slots, used);
            for (const auto& slot : used) {
                // A fact nobody mentioned counts as "no" (turn 0: never said).
                const auto value = s_.slots.find(slot);
                const auto turn = s_.slot_turns.find(slot);
                std::string text = "no";
                if (value != s_.slots.end()) {
                    text = std::holds_alternative<std::string>(value->second) ? std::get<std::string>(value->second)
                                                                              : format_number(std::get<double>(value->second));
                }
                b.facts.push_back({slot, std::move(text), turn == s_.slot_turns.end() ? 0 : turn->second});
            }
            out.push_back(std::move(b));
        }
        return out;
    }

    void deliver_outcome(bool raised, const Triage& now) {
        advised_ = true;
        if (!s_.triage || now.level >= s_.triage->level) {
            s_.triage = now;
        }
        close_question();
        s_.state = state_of_kind(State::Kind::outcome).id;
        s_.step_index = 0;
        const Level level = s_.triage->level;
        const std::string level_name(to_string(level));
        std::string text;
        if (raised) text += r_.text("level_raised") + "\n\n";
        text += r_.text("outcome_" + level_name) + "\n\n" + causes_text(3);
        if (level <= Level::gp_soon && !s_.triage->reasons.empty()) {
            text += "\n\n" + r_.causes.at(s_.triage->reasons.front()).advice;
        }
        if (level >= Level::urgent && is_yes("pregnant")) text += "\n\n" + r_.text("maternity");
        text += "\n\n" + r_.text("safety_net_" + level_name);
        for (const Topic& topic : r_.topics) {
            const auto it = s_.slots.find(topic.id);
            if (it != s_.slots.end() && it->second == SlotValue{std::string(unanswered_value)}) text += "\n\n" + topic.unanswered;
        }
        text += "\n\n" + r_.text("disclaimer");
        Reply reply = plain(text, menu_after_outcome());
        reply.triage = s_.triage;
        reply.steps = stretching_safe() ? plan() : std::vector<Step>{};
        say(std::move(reply));
    }

    void side_intents(const Understanding& u) {
        explain(u);
        // "Is it safe to stretch?" is answered as such, not also as a request for stretches.
        const bool asked_if_safe = std::find(u.intents.begin(), u.intents.end(), "stretch_safe") != u.intents.end();
        for (const auto& intent : u.intents) {
            if (answer_question_back(intent, {}) || (asked_if_safe && intent == "stretches")) continue;
            if (intent == "help") say(plain(r_.text("help"), {}));
            else if (intent == "causes") say(plain(r_.text("causes_later"), {}));
            else if (intent == "see_doctor") say(plain(r_.text("doctor_later"), {}));
            else if (intent == "stretches") say(plain(r_.text("stretches_later"), {}));
            else if (intent == "outside_scope") say(plain(r_.text("outside_scope"), {}));
        }
    }

    // How a finding is named to the person: its topic's or fact's title.
    std::string finding_title(const std::string& slot) const {
        if (const Topic* topic = r_.topic(slot); topic && !topic->title.empty()) return topic->title;
        for (const Fact& fact : r_.facts) {
            if (fact.id == slot) return fact.title;
        }
        return slot;
    }

    std::string value_text(const SlotValue& value) const {
        if (const auto* number = std::get_if<double>(&value)) return format_number(*number);
        return std::get<std::string>(value);
    }

    // "That's wrong, my legs are fine", "I meant no", "I'm 52, not 25": the
    // findings this message contradicts, or (for a bare "I meant no") those
    // the previous turn set. Nothing changes until the person confirms.
    bool propose_correction(const Understanding& u) {
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
    bool resolve_correction(const Understanding& u) {
        if (u.answer != "yes" && u.answer != "no") return false;
        if (u.answer == "no") {
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
    void return_to_where_we_were() {
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

    // The text `key`_<level> when the rules have one, else `key`.
    std::string level_text(const std::string& key, const std::string& level) const {
        const auto it = r_.texts.find(key + "_" + level);
        return it != r_.texts.end() ? it->second : r_.text(key);
    }

    // A question back ("why do you ask?", "are you a bot?", "should I take
    // an aspirin?") or a reply to the advice ("I'll wait till Monday"),
    // answered wherever it comes. Returns false for other intents. Each
    // answer is said once per turn.
    bool answer_question_back(const std::string& intent, const std::vector<QuickReply>& buttons) {
        const bool advised = s_.triage.has_value() && s_.asking.empty();
        const std::string level = advised ? std::string(to_string(s_.triage->level)) : "during";
        const bool serious = advised && s_.triage->level >= Level::urgent;
        const Topic* open = s_.asking.empty() ? nullptr : r_.topic(s_.asking);
        const Group* open_group = s_.asking.empty() ? nullptr : r_.group(s_.asking);
        std::string text;
        if (intent == "about_bot") {
            text = r_.text("about_bot");
        } else if (intent == "why_asking") {
            text = open ? open->why : open_group ? open_group->why : r_.text("why_asking_general");
        } else if (intent == "does_it_count") {
            text = open ? (open->counts.empty() ? open->why : open->counts) : r_.text("count_general");
        } else if (intent == "questions_left") {
            const int n = questions_left();
            text = n > 0 ? fill(r_.text("questions_left"), {{"count", std::to_string(n)}}) : r_.text("questions_left_none");
        } else if (intent == "is_serious") {
            text = level_text("is_serious", level);
        } else if (intent == "stretch_safe") {
            text = level_text("stretch_safe", level);
        } else if (intent == "scans") {
            text = level_text("scans", level);
        } else if (intent == "what_happens" && advised) {
            text = level_text("what_happens", level);
        } else if (intent == "delay" && advised) {
            text = level_text("delay", level);
            if (serious && is_yes("pregnant")) text += "\n\n" + r_.text("maternity");
        } else if ((intent == "aspirin" || intent == "outside_scope") && serious) {
            // In an emergency the call handler decides about medicines, never a pharmacist first.
            text = level_text("medicines", level);
        } else {
            return false;
        }
        if (std::find(answered_.begin(), answered_.end(), text) == answered_.end()) {
            answered_.push_back(text);
            say(plain(text, buttons));
        }
        return true;
    }

    // Plain definitions of the words the person asked about.
    void explain(const Understanding& u) {
        for (const auto& id : u.definitions) {
            for (const Definition& d : r_.definitions) {
                if (d.id == id) say(plain(d.text, {}));
            }
        }
    }

    // The stretching plan for this person: steps whose "when" holds (the
    // cool-down only after exercise).
    std::vector<Step> plan() const {
        std::vector<Step> steps;
        for (std::size_t i = 0; i < r_.stretches.steps.size(); ++i) {
            const auto& when = r_.stretches.step_when[i];
            if (!when || evaluate(*when, s_.slots) == Truth::yes) steps.push_back(r_.stretches.steps[i]);
        }
        return steps;
    }

    Reply stretch_step_reply(const std::string& prefix) {
        const std::vector<Step> steps = plan();
        const Step& step = steps[static_cast<std::size_t>(s_.step_index)];
        // A minute or more done once is an activity (the cool-down walk), not a hold.
        constexpr int activity_seconds = 60;
        const bool activity = step.repeat == 1 && step.hold_seconds >= activity_seconds;
        const std::string timing =
            activity ? fill(r_.text("stretch_activity"), {{"minutes", std::to_string(step.hold_seconds / 60)}})
                     : fill(r_.text("stretch_hold"), {{"hold", std::to_string(step.hold_seconds)},
                                                      {"repeat", std::to_string(step.repeat)}});
        std::string text = prefix + fill(r_.text("stretch_step"), {{"number", std::to_string(s_.step_index + 1)},
                                                                   {"total", std::to_string(steps.size())},
                                                                   {"title", step.title},
                                                                   {"text", step.text},
                                                                   {"timing", timing}});
        Reply reply = plain(text, r_.menus.at("stretch_step"));
        reply.steps = std::vector<Step>{step};
        return reply;
    }

    void after_outcome(const Understanding& u, const Triage& now) {
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
            if (intent == "stretches" || (!in_guide && (intent == "next" || intent == "repeat"))) {
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
            } else if (intent == "see_doctor") {
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
        if (!answered) say(plain(r_.text("after_outcome"), menu_after_outcome()));
    }
};

}  // namespace

Engine::Engine(std::shared_ptr<const RuleSet> rules, EngineOptions options) : rules_(std::move(rules)), options_(std::move(options)) {
    if (!rules_) throw std::invalid_argument("Engine needs rules");
}

TurnResult Engine::begin(std::int64_t now_ms) const {
    Session s;
    s.started_ms = now_ms;
    s.locale = rules_->locale;
    return Turn(*rules_, options_, std::move(s), now_ms).begin();
}

TurnResult Engine::resume(const Session& session, std::int64_t now_ms) const {
    return Turn(*rules_, options_, session, now_ms).resume();
}

TurnResult Engine::step(const Session& session, const protocol::Message& message, std::int64_t now_ms) const {
    return Turn(*rules_, options_, session, now_ms).message(message);
}

TurnResult Engine::step(const Session& session, const protocol::Choice& choice, std::int64_t now_ms) const {
    TurnResult result = Turn(*rules_, options_, session, now_ms).choice(choice);
    if (result.error) result.session = session;
    return result;
}

}  // namespace backtalk
