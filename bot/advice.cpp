// Triage for the dialogue: the level and causes the rules give, what a question could still change, and delivering the advice.
#include "bot/turn.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace backtalk::detail {

// Could a still-open rule above `level` fire once this topic is answered?
bool Turn::could_raise(const Topic& topic, Level level) const {
    for (const TriageRule& rule : r_.triage_rules) {
        if (rule.level <= level || !rule.slots.count(topic.id)) continue;
        if (evaluate(rule.when, s_.slots) == Truth::unknown) return true;
    }
    return false;
}

// Would a yes to this topic, whatever it holds now, fire a rule above `level`?
bool Turn::yes_would_raise(const Topic& topic, Level level) const {
    Slots with_yes = s_.slots;
    with_yes[topic.id] = std::string("yes");
    for (const TriageRule& rule : r_.triage_rules) {
        if (rule.level > level && rule.slots.count(topic.id) && evaluate(rule.when, with_yes) == Truth::yes) return true;
    }
    return false;
}

// Could a rule at the current level, with a cause not yet among the
// reasons, fire once this topic is answered?
bool Turn::could_change_reasons(const Topic& topic, const Triage& now) const {
    for (const TriageRule& rule : r_.triage_rules) {
        if (rule.level != now.level || rule.cause.empty() || !rule.slots.count(topic.id)) continue;
        if (std::find(now.reasons.begin(), now.reasons.end(), rule.cause) != now.reasons.end()) continue;
        if (evaluate(rule.when, s_.slots) == Truth::unknown) return true;
    }
    return false;
}

// Does a step of the stretching plan depend on this topic (the cool-down after exercise)?
bool Turn::shapes_plan(const Topic& topic) const {
    std::set<std::string> read;
    for (const auto& when : r_.stretches.step_when) {
        if (when && evaluate(*when, s_.slots) == Truth::unknown) referenced_slots(*when, read);
    }
    return read.count(topic.id) > 0;
}

Triage Turn::triage() const {
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

// The rules at the advice's level that hold, and the facts each used.
std::vector<RuleBasis> Turn::basis() const {
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

// What led to the advice, in the person's terms: the titles of the findings
// its rules used that hold, numbers with their value ("your age (16) and
// pain shooting down a leg below the knee").
std::string Turn::findings_text() const {
    std::vector<std::string> named;
    for (const RuleBasis& rule : basis()) {
        for (const RuleBasis::Fact& fact : rule.facts) {
            if (fact.value == "no" || fact.value == "unsure") continue;
            std::string title = finding_title(fact.slot);
            if (fact.value != "yes") title += " (" + fact.value + ")";
            if (std::find(named.begin(), named.end(), title) == named.end()) named.push_back(std::move(title));
        }
    }
    std::string text;
    for (std::size_t i = 0; i < named.size(); ++i) {
        if (i > 0) text += i + 1 == named.size() ? " and " : ", ";
        text += named[i];
    }
    return text;
}

void Turn::deliver_outcome(bool raised, const Triage& now) {
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

}  // namespace backtalk::detail
