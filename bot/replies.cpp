// Composing replies: causes, definitions, questions back, the stretching plan; all wording from the rules.
#include "bot/turn.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace backtalk::detail {

std::vector<QuickReply> Turn::menu_after_outcome() const {
    return r_.menus.at(stretching_safe() ? "after_outcome_safe" : "after_outcome_serious");
}

std::string Turn::causes_text(std::size_t limit) const {
    std::string text = r_.text("causes_intro");
    std::size_t n = 0;
    for (const auto& id : s_.triage->reasons) {
        if (n++ == limit) break;
        const Cause& c = r_.causes.at(id);
        text += "\n- **" + c.title + "**: " + c.explanation;
    }
    return text;
}

void Turn::side_intents(const Understanding& u) {
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
std::string Turn::finding_title(const std::string& slot) const {
    if (const Topic* topic = r_.topic(slot); topic && !topic->title.empty()) return topic->title;
    for (const Fact& fact : r_.facts) {
        if (fact.id == slot) return fact.title;
    }
    return slot;
}

std::string Turn::value_text(const SlotValue& value) const {
    if (const auto* number = std::get_if<double>(&value)) return format_number(*number);
    return std::get<std::string>(value);
}

// The most specific wording the rules have: `key`_<level>_<cause> for the
// first cause behind the advice given at that level ("what happens at the
// hospital" differs for the heart and the nerves), else `key`_<level>, else
// `key`. A {why} in it is the same choice for "why_now".
std::string Turn::level_text(const std::string& key, const std::string& level) const {
    std::string text;
    if (s_.triage && to_string(s_.triage->level) == level) {
        for (const auto& cause : s_.triage->reasons) {
            if (const auto it = r_.texts.find(key + "_" + level + "_" + cause); it != r_.texts.end()) {
                text = it->second;
                break;
            }
        }
    }
    if (text.empty()) {
        const auto it = r_.texts.find(key + "_" + level);
        text = it != r_.texts.end() ? it->second : r_.text(key);
    }
    if (key != "why_now" && text.find("{why}") != std::string::npos) text = fill(std::move(text), {{"why", level_text("why_now", level)}});
    if (text.find("{findings}") != std::string::npos) text = fill(std::move(text), {{"findings", findings_text()}});
    return text;
}

// The first of the intent's text families with words for this level (the
// validator makes sure one has).
const std::string& Turn::answer_family(const Intent& intent, const std::string& level) const {
    for (const std::string& family : intent.level_answers) {
        if (r_.texts.count(family + "_" + level) || r_.texts.count(family)) return family;
    }
    return intent.level_answers.back();
}

// A question back ("why do you ask?", "are you a bot?", "should I take
// an aspirin?") or a reply to the advice ("I'll wait till Monday"),
// answered wherever it comes. Returns false for other intents. Each
// answer is said once per turn.
bool Turn::answer_question_back(const std::string& intent, const std::vector<QuickReply>& buttons) {
    const bool advised = s_.triage.has_value() && s_.asking.empty();
    const std::string level = advised ? std::string(to_string(s_.triage->level)) : "during";
    const bool serious = advised && s_.triage->level >= Level::urgent;
    // "Why do you ask?" is about the question the person was shown, even
    // when the message answered it too ("16, why does that matter?").
    const std::string& shown = asking_before_.empty() ? s_.asking : asking_before_;
    const Topic* open = shown.empty() ? nullptr : r_.topic(shown);
    const Group* open_group = shown.empty() ? nullptr : r_.group(shown);
    std::string text;
    // "I told you, 35": what it said is taken, and that is the answer.
    if (intent == "already_told" && !advised && s_.slots != slots_before_) return true;
    if (intent == "about_bot") {
        text = r_.text("about_bot");
    } else if (intent == "why_asking") {
        text = open ? open->why : open_group ? open_group->why : r_.text("why_asking_general");
    } else if (intent == "does_it_count") {
        text = open ? (open->counts.empty() ? open->why : open->counts) : r_.text("count_general");
    } else if (intent == "clarify") {
        // A list is taken one sign at a time (resolve_group); a question in
        // simpler words; after the advice, its gist.
        if (open_group) return true;
        text = open && !open->reprompts.empty() ? open->reprompts.front()
                                                : advised ? level_text("clarify", level) : r_.text("help");
    } else if (intent == "questions_left") {
        const int n = questions_left();
        text = n > 0 ? fill(r_.text("questions_left"), {{"count", std::to_string(n)}}) : r_.text("questions_left_none");
    } else if (const Intent* asked = r_.intent(intent); asked && !asked->level_answers.empty()) {
        text = level_text(answer_family(*asked, level), level);
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
void Turn::explain(const Understanding& u) {
    for (const auto& id : u.definitions) {
        for (const Definition& d : r_.definitions) {
            if (d.id == id) say(plain(d.text, {}));
        }
    }
}

// The stretching plan for this person: steps whose "when" holds (the
// cool-down only after exercise).
std::vector<Step> Turn::plan() const {
    std::vector<Step> steps;
    for (std::size_t i = 0; i < r_.stretches.steps.size(); ++i) {
        const auto& when = r_.stretches.step_when[i];
        if (!when || evaluate(*when, s_.slots) == Truth::yes) steps.push_back(r_.stretches.steps[i]);
    }
    return steps;
}

Reply Turn::stretch_step_reply(const std::string& prefix) {
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

}  // namespace backtalk::detail
