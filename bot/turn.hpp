// One turn of the dialogue in progress: the engine's working state and the
// steps of a turn. Internal to the engine (bot/engine.cpp creates a Turn per
// client object); its member functions live in files named for their job:
//   dialogue.cpp      the state machine: a message or choice in, replies out
//   questions.cpp     which question comes next, single or grouped, and answers to it
//   advice.cpp        triage, what a question could change, delivering the advice
//   replies.cpp       composing replies: causes, definitions, questions back, stretches
//   after_advice.cpp  what people say after the advice
//   corrections.cpp   corrections confirmed before they change anything
#pragma once

#include "bot/conditions.hpp"
#include "bot/engine.hpp"
#include "bot/rules.hpp"
#include "bot/ruleset.hpp"
#include "bot/understand.hpp"
#include "bot/wording.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::detail {

inline bool is_answered(const Session& s, const std::string& slot) { return s.slots.count(slot) > 0; }

// The value of a safety question the person did not answer: neither yes nor no.
inline constexpr const char* unanswered_value = "unanswered";

// Fewer words than this, none understood, is not yet a description of the pain.
inline constexpr int short_message_tokens = 3;

class Turn {
public:
    Turn(const RuleSet& rules, const EngineOptions& options, Session session, std::int64_t now)
        : r_(rules), options_(options), s_(std::move(session)), slots_before_(s_.slots), asking_before_(s_.asking) {
        s_.last_active_ms = now;
    }

    TurnResult begin();

    TurnResult resume();

    // A button of a question that is no longer open (clicked in another
    // window, or on an old message): "no" to an earlier question must not
    // answer the current one. Nothing changes; the person sees where the
    // conversation is now.
    TurnResult stale_choice();

    TurnResult message(const protocol::Message& m);

    TurnResult choice(const protocol::Choice& c);

private:
    const RuleSet& r_;
    const EngineOptions& options_;
    Session s_;
    std::vector<Reply> replies_;
    TurnNotes notes_;
    bool news_ = false;  // this turn filled a slot that was open
    const Slots slots_before_;
    const std::string asking_before_;  // the question this message may answer
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

    std::string emergency_number() const;

    Reply plain(std::string text, std::vector<QuickReply> quick_replies) const;

    void say(Reply reply);

    TurnResult finish();

    // A quick reply, clicked or typed: an answer to the question, or an intent.
    TurnResult chosen(const std::string& id);

    // "2", " 2. ": the number of a button now shown, or nothing.
    std::optional<std::size_t> button_number(std::string_view text) const;

    bool has_intent(const Understanding& u, const char* id) const {
        return std::find(u.intents.begin(), u.intents.end(), id) != u.intents.end();
    }

    TurnResult handle(Understanding& u);

    // The answer to the question asked replaces what was there; a symptom
    // mentioned in passing fills a gap or turns a "no" into a "yes", never
    // the other way round.
    void merge(const Understanding& u);

    bool is_yes(const std::string& slot) const {
        const auto it = s_.slots.find(slot);
        return it != s_.slots.end() && std::holds_alternative<std::string>(it->second) && std::get<std::string>(it->second) == "yes";
    }

    const State& state_of_kind(State::Kind kind) const;

    void move_to_safe_state();

    TurnResult restart();

    // Forgets what the person said, in the same session: it keeps its start,
    // this turn's activity (or the next message would find it expired and
    // open another conversation), its turn count, locale and rules version.
    void begin_again();

    // Applies the answer to the question that was asked. Returns true when
    // the question is still open and must be asked again.
    bool resolve_asked(const Understanding& u);

    // Whether the message told something not known before this turn.
    bool adds_news() const { return news_; }

    void close_question();

    // The covered topics of a group still worth asking, in its order.
    std::vector<std::string> open_topics(const Group& group, const State& state, const Triage& now) const;

    bool one_at_a_time(const Group& group) const {
        return std::find(s_.one_at_a_time.begin(), s_.one_at_a_time.end(), group.id) != s_.one_at_a_time.end();
    }

    void ask_group(const Group& group, std::vector<std::string> covers);

    // An answer to "Do you have any of these?". Signs named in the message
    // are already set; "none" denies the rest; "yes" alone or "not sure" goes
    // through them one at a time. Returns true when the group is asked again.
    bool resolve_group(const Group& group, const Understanding& u);

    std::vector<QuickReply> replies_for(const Topic& topic) const;

    void ask(const Topic& topic, const std::string& text);

    void ask_again();

    // The follow-up of a topic answered yes whose fact is still open ("Is it
    // in both legs?"), asked at most once per topic.
    bool ask_follow_up();
    bool is_follow_up(const Topic& topic) const {
        return !topic.follow_up_fact.empty() &&
               std::find(s_.followed_up.begin(), s_.followed_up.end(), topic.id) != s_.followed_up.end();
    }
    // An answer to a follow-up: its yes or no is the fact's. Returns true
    // when it is asked again.
    bool resolve_follow_up(const Topic& topic, const Understanding& u);

    // Could a still-open rule above `level` fire once this topic is answered?
    bool could_raise(const Topic& topic, Level level) const;
    // Would a yes to it, whatever it holds now, fire a rule above `level`?
    bool yes_would_raise(const Topic& topic, Level level) const;

    // A red flag the message raised in a question, a hypothetical or with
    // doubt, not yet answered: asked before anything else.
    // In the order of the flow, so the most specific safety question comes
    // first ("numb down there" raises saddle numbness before leg numbness).
    // After the advice (`after_advice`), a sign denied earlier and raised
    // again ("is it ok that my pee is weird?") is asked again, if a yes
    // could still raise the level.
    bool ask_raised_flag(bool after_advice = false);

    // Ask only what could still change the advice: its level, or (below
    // `narrow_from`) the causes it gives or the stretching plan.
    bool worth_asking(const State& state, const Topic& topic, const Triage& now) const;

    // Could a rule at the current level, with a cause not yet among the
    // reasons, fire once this topic is answered?
    bool could_change_reasons(const Topic& topic, const Triage& now) const;

    // Does a step of the stretching plan depend on this topic (the cool-down after exercise)?
    bool shapes_plan(const Topic& topic) const;

    // The questions still to come, at most: an honest answer to "how many more?".
    int questions_left() const;

    void continue_questions(const Triage& now);

    Triage triage() const;

    bool stretching_safe() const { return s_.triage && s_.triage->level <= Level::gp_soon; }

    std::vector<QuickReply> menu_after_outcome() const;

    std::string causes_text(std::size_t limit) const;

    // The rules at the advice's level that hold, and the facts each used.
    std::vector<RuleBasis> basis() const;

    void deliver_outcome(bool raised, const Triage& now);

    void side_intents(const Understanding& u);

    // How a finding is named to the person: its topic's or fact's title.
    std::string finding_title(const std::string& slot) const;

    std::string value_text(const SlotValue& value) const;

    // "That's wrong, my legs are fine", "I meant no", "I'm 52, not 25": the
    // findings this message contradicts, or (for a bare "I meant no") those
    // the previous turn set. Nothing changes until the person confirms.
    bool propose_correction(const Understanding& u);

    // The answer to "Shall I change that?". Returns false when the message
    // is about something else: the correction is dropped and the message
    // handled as any other.
    bool resolve_correction(const Understanding& u);

    // After a side exchange: the open question again, or the menu after the advice.
    void return_to_where_we_were();

    // The text `key`_<level> when the rules have one, else `key`.
    std::string level_text(const std::string& key, const std::string& level) const;
    const std::string& answer_family(const Intent& intent, const std::string& level) const;
    bool told_new_sign() const;
    std::string findings_text() const;

    // A question back ("why do you ask?", "are you a bot?", "should I take
    // an aspirin?") or a reply to the advice ("I'll wait till Monday"),
    // answered wherever it comes. Returns false for other intents. Each
    // answer is said once per turn.
    bool answer_question_back(const std::string& intent, const std::vector<QuickReply>& buttons);

    // Plain definitions of the words the person asked about.
    void explain(const Understanding& u);

    // The stretching plan for this person: steps whose "when" holds (the
    // cool-down only after exercise).
    std::vector<Step> plan() const;

    Reply stretch_step_reply(const std::string& prefix);

    void after_outcome(const Understanding& u, const Triage& now);
};

}  // namespace backtalk::detail
