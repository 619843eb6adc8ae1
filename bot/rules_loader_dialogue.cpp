// How the bot talks: flow.json (states and grouped questions), texts.json
// and stretches.json.
#include "bot/rules_loader.hpp"

#include "bot/engine.hpp"

#include <algorithm>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace backtalk::rules_loader {

namespace {

// Texts the engine's mechanisms use; each must be present in texts.json.
const char* const required_texts[] = {
    "greeting",        "greeting_again",   "acknowledge",       "acknowledge_relative",
    "help",            "restart",          "stop",              "stretches_later",      "stretches_not_safe",
    "doctor_later",    "causes_later",     "unsure_cautious",   "unclear_moving_on",    "outcome_emergency",
    "outcome_urgent",  "outcome_gp_soon",  "outcome_self_care", "safety_net_emergency", "safety_net_urgent",
    "safety_net_gp_soon", "safety_net_self_care", "disclaimer", "causes_intro",         "stretch_step",
    "stretch_hold",    "stretch_activity", "stretches_stopped", "outside_scope", "stale_choice",
    "stretches_done",  "after_outcome",    "level_raised",      "resume",               "ended",
    "thanks",          "resume_outcome",   "about_bot",         "why_asking_general",   "questions_left",
    "questions_left_none", "group_one_at_a_time", "group_which", "group_others", "correction_confirm", "correction_change", "advice_stands", "correction_unclear", "correction_applied", "correction_kept", "maternity", "count_general",
    "delay_emergency", "delay_urgent", "delay_gp_soon", "delay_self_care", "why_now_emergency", "why_now_urgent",
    "what_happens_emergency", "what_happens_urgent", "what_happens_gp_soon", "what_happens_self_care",
    "medicines_emergency", "medicines_urgent",   "unanswered_moving_on", "answer_not_understood", "question_not_understood",
    "clarify", "stretch_hurts"};

// Texts the channels show beside the replies (adapters/core/wording.hpp).
const char* const required_channel_texts[] = {
    "level_title_emergency", "level_action_emergency", "level_title_urgent",    "level_action_urgent",
    "level_title_gp_soon",   "level_action_gp_soon",   "level_title_self_care", "level_action_self_care",
    "level_call",            "causes_label_one",       "causes_label_many",     "origin_refused",        "error_bad_json",
    "error_unknown_type",    "error_empty",            "error_too_long",        "error_bad_choice",
    "error_rate_limited",    "error_unavailable",      "error_internal",        "telegram_edited",
    "telegram_not_text",     "telegram_shared_chat"};

const char* const required_menus[] = {"after_outcome_safe", "after_outcome_serious", "stretch_step", "stretches_done"};

}  // namespace

void Loader::load_stretches(RuleSet& r, const json& doc) {
    file_ = "stretches.json";
    r.stretches.intro = text_of(doc, "", "intro");
    r.stretches.note = text_of(doc, "", "note");
    const json* steps = field(doc, "", "steps", json::value_t::array);
    if (!steps) return;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < steps->size(); ++i) {
        const json& s = (*steps)[i];
        const std::string path = at("steps", i);
        Step step{text_of(s, path, "id"), text_of(s, path, "title"), text_of(s, path, "text"), 0, 1};
        if (!step.id.empty() && !seen.insert(step.id).second) error(join(path, "id"), "duplicate id \"" + step.id + "\"");
        if (const json* h = field(s, path, "hold_seconds", json::value_t::number_integer)) step.hold_seconds = h->get<int>();
        if (const json* n = field(s, path, "repeat", json::value_t::number_integer)) step.repeat = n->get<int>();
        if (step.hold_seconds < 0 || step.hold_seconds > 3600) error(join(path, "hold_seconds"), "must be 0 to 3600");
        if (step.repeat < 1 || step.repeat > 10) error(join(path, "repeat"), "must be 1 to 10");
        r.stretches.steps.push_back(std::move(step));
        const auto when = s.find("when");
        r.stretches.step_when.push_back(when == s.end() ? std::nullopt : condition_of(*when, join(path, "when")));
    }
    if (std::none_of(r.stretches.step_when.begin(), r.stretches.step_when.end(), [](const auto& w) { return !w.has_value(); })) {
        error("steps", "needs at least one step without \"when\", so every plan has a step");
    }
    for (std::size_t i = 0; i < r.stretches.step_when.size(); ++i) {
        if (r.stretches.step_when[i]) conditions_.emplace_back("stretches.json", join(at("steps", i), "when"), &*r.stretches.step_when[i]);
    }
}

void Loader::check_cause_texts(const RuleSet& r) {
    std::set<std::string> keys;
    for (const auto& [key, value] : r.texts) keys.insert(key);
    for (const auto& key : keys) {
        for (const Level level : {Level::emergency, Level::urgent, Level::gp_soon, Level::self_care}) {
            const std::string middle = "_" + std::string(to_string(level)) + "_";
            const auto at_level = key.find(middle);
            if (at_level == std::string::npos || !keys.count(key.substr(0, at_level + middle.size() - 1))) continue;
            const std::string cause = key.substr(at_level + middle.size());
            if (!r.causes.count(cause)) error(join("texts", key), "unknown cause \"" + cause + "\" (wording for one cause is <text>_<level>_<cause>)");
        }
    }
}

// A question back answered by level has its words before the advice and
// at every level, or one text for all.
void Loader::check_level_answers(const RuleSet& r) {
    for (const Intent& intent : r.intents) {
        const auto& families = intent.level_answers;
        if (families.empty()) continue;
        for (const char* level : {"during", "emergency", "urgent", "gp_soon", "self_care"}) {
            const bool worded = std::any_of(families.begin(), families.end(), [&](const std::string& family) {
                return r.texts.count(family + "_" + level) || r.texts.count(family);
            });
            const std::string key = families.front() + "_" + level;
            if (!worded) error(join("texts", key), "is missing (intent \"" + intent.id + "\" is answered by level; or give \"" + families.front() + "\")");
        }
    }
}

void Loader::load_texts(RuleSet& r, const json& doc) {
    file_ = "texts.json";
    if (const json* texts = field(doc, "", "texts", json::value_t::object)) {
        for (const auto& [key, value] : texts->items()) {
            if (!value.is_string()) {
                error(join("texts", key), "must be a string");
                continue;
            }
            r.texts[key] = value.get<std::string>();
        }
    }
    for (const char* key : required_texts) {
        if (!r.texts.count(key)) error(join("texts", key), "is missing");
    }
    check_cause_texts(r);
    check_level_answers(r);
    for (const char* key : required_channel_texts) {
        if (!r.texts.count(key)) error(join("texts", key), "is missing");
    }
    if (const json* menus = field(doc, "", "menus", json::value_t::object)) {
        for (const auto& [name, list] : menus->items()) {
            if (!list.is_array()) {
                error(join("menus", name), "must be an array");
                continue;
            }
            r.menus[name] = quick_replies(list, join("menus", name));
        }
    }
    for (const char* name : required_menus) {
        if (!r.menus.count(name)) error(join("menus", name), "is missing");
    }
}

void Loader::load_flow(RuleSet& r, const json& doc) {
    file_ = "flow.json";
    r.start_state = text_of(doc, "", "start");
    load_groups(r, doc);
    const json* states = field(doc, "", "states", json::value_t::object);
    if (!states) return;
    for (const auto& [id, spec] : states->items()) {
        const std::string path = join("states", id);
        State s;
        s.id = id;
        const std::string kind = text_of(spec, path, "kind");
        static const std::map<std::string, State::Kind> kinds{{"greeting", State::Kind::greeting},
                                                               {"questions", State::Kind::questions},
                                                               {"outcome", State::Kind::outcome},
                                                               {"stretches", State::Kind::stretches},
                                                               {"ended", State::Kind::ended}};
        if (const auto k = kinds.find(kind); k != kinds.end()) {
            s.kind = k->second;
        } else if (!kind.empty()) {
            error(join(path, "kind"), "unknown kind \"" + kind + "\" (greeting, questions, outcome, stretches, ended)");
        }
        s.questions = strings_of(spec, path, "questions", s.kind == State::Kind::questions);
        for (std::size_t i = 0; i < s.questions.size(); ++i) {
            if (!r.topic(s.questions[i]) && !r.group(s.questions[i])) {
                error(at(join(path, "questions"), i), "question for an unknown topic or group \"" + s.questions[i] + "\"");
            }
        }
        s.next = text_of(spec, path, "next", s.kind == State::Kind::greeting || s.kind == State::Kind::questions);
        if (const json* narrow = field(spec, path, "narrow_from", json::value_t::string, false)) {
            s.narrow_from = level_from_string(narrow->get<std::string>());
            if (!s.narrow_from) error(join(path, "narrow_from"), "unknown level \"" + narrow->get<std::string>() + "\"");
        }
        r.state_index[id] = r.states.size();
        r.states.push_back(std::move(s));
    }
    // Transitions, reachability and the states the mechanisms need.
    for (const State& s : r.states) {
        if (!s.next.empty() && !r.state(s.next)) error(join(join("states", s.id), "next"), "unknown state \"" + s.next + "\"");
    }
    if (!r.start_state.empty() && !r.state(r.start_state)) error("start", "unknown state \"" + r.start_state + "\"");
    std::set<std::string> reachable;
    for (std::string at_state = r.start_state; !at_state.empty() && r.state(at_state) && reachable.insert(at_state).second;) {
        at_state = r.state(at_state)->next;
    }
    for (const State& s : r.states) {
        // Outcome, stretches and ended are entered by the dialogue itself.
        const bool entered_by_engine = s.kind == State::Kind::outcome || s.kind == State::Kind::stretches || s.kind == State::Kind::ended;
        if (!entered_by_engine && !reachable.count(s.id)) error(join("states", s.id), "unreachable state");
    }
    for (const auto kind : {State::Kind::greeting, State::Kind::outcome, State::Kind::stretches, State::Kind::ended}) {
        const auto count = std::count_if(r.states.begin(), r.states.end(), [&](const State& s) { return s.kind == kind; });
        if (count != 1) error("states", "needs exactly one state of each kind greeting, outcome, stretches and ended");
    }
    std::set<std::string> asked;
    for (const State& s : r.states) {
        for (const auto& q : s.questions) {
            const Group* g = r.group(q);
            for (const auto& topic : g ? g->covers : std::vector<std::string>{q}) {
                if (!asked.insert(topic).second) error(join(join("states", s.id), "questions"), "topic \"" + topic + "\" is asked in two places");
            }
        }
    }
}

void Loader::load_groups(RuleSet& r, const json& doc) {
    if (const json* replies = field(doc, "", "group_replies", json::value_t::array)) {
        r.group_replies = quick_replies(*replies, "group_replies");
        for (const char* id : {"none", "yes", "unsure"}) {
            if (std::none_of(r.group_replies.begin(), r.group_replies.end(), [&](const QuickReply& q) { return q.id == id; })) {
                error("group_replies", std::string("needs the reply \"") + id + "\"");
            }
        }
    }
    if (const json* replies = field(doc, "", "which_replies", json::value_t::array)) {
        r.which_replies = quick_replies(*replies, "which_replies");
        for (const char* id : {"several", "unsure"}) {
            if (std::none_of(r.which_replies.begin(), r.which_replies.end(), [&](const QuickReply& q) { return q.id == id; })) {
                error("which_replies", std::string("needs the reply \"") + id + "\"");
            }
        }
    }
    const json* groups = field(doc, "", "groups", json::value_t::object);
    if (!groups) return;
    for (const auto& [id, spec] : groups->items()) {
        const std::string path = join("groups", id);
        if (r.topic(id)) error(path, "\"" + id + "\" is already a topic");
        Group g;
        g.id = id;
        g.intro = text_of(spec, path, "intro");
        g.why = text_of(spec, path, "why");
        g.covers = strings_of(spec, path, "covers");
        if (g.covers.size() < 2) error(join(path, "covers"), "a group covers at least two topics");
        for (std::size_t i = 0; i < g.covers.size(); ++i) {
            const Topic* t = r.topic(g.covers[i]);
            if (!t) error(at(join(path, "covers"), i), "unknown topic \"" + g.covers[i] + "\"");
            else if (t->kind != TopicKind::yes_no) error(at(join(path, "covers"), i), "a group covers yes/no topics only");
            else if (t->title.empty()) error(at(join(path, "covers"), i), "topic \"" + t->id + "\" needs a title to be listed in a group");
            else if (t->label.empty()) error(at(join(path, "covers"), i), "topic \"" + t->id + "\" needs a label to be a button of its group");
        }
        r.groups.push_back(std::move(g));
    }
}

}  // namespace backtalk::rules_loader
