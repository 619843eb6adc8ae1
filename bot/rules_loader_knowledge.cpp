// What the bot knows: topics.json, facts.json, intents.json,
// definitions.json, causes.json and triage.json.
#include "bot/rules_loader.hpp"

#include "bot/engine.hpp"

#include <algorithm>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace backtalk::rules_loader {

void Loader::load_topics(RuleSet& r, const json& doc) {
    file_ = "topics.json";
    if (const json* replies = field(doc, "", "yes_no_replies", json::value_t::array)) {
        r.yes_no_replies = quick_replies(*replies, "yes_no_replies");
    }
    const json* topics = field(doc, "", "topics", json::value_t::object);
    if (!topics) return;
    for (const auto& [id, spec] : topics->items()) {
        const std::string path = join("topics", id);
        if (!spec.is_object()) {
            error(path, "must be an object");
            continue;
        }
        only_fields(spec, path, {"kind", "safety", "title", "label", "question", "why", "counts", "unanswered", "reprompts", "unit",
                                 "options", "ask_if", "follow_up", "detect", "detect_vague", "detect_when_asked", "deny",
                                 "deny_when_asked", "lookalikes", "explained_by", "time", "conditional_counts", "others_count", "complaint"});
        Topic t;
        t.id = id;
        const std::string kind = text_of(spec, path, "kind");
        if (kind == "yes_no") {
            t.kind = TopicKind::yes_no;
        } else if (kind == "number") {
            t.kind = TopicKind::number;
            const std::string unit = text_of(spec, path, "unit");
            if (unit == "years") t.number_kind = NumberKind::years;
            else if (unit == "days") t.number_kind = NumberKind::days;
            else if (unit == "score") t.number_kind = NumberKind::score;
            else if (!unit.empty()) error(join(path, "unit"), "must be years, days or score");
        } else if (kind == "choice") {
            t.kind = TopicKind::choice;
        } else if (!kind.empty()) {
            error(join(path, "kind"), "must be yes_no, number or choice");
        }
        if (const json* safety = field(spec, path, "safety", json::value_t::boolean, false)) t.safety = safety->get<bool>();
        t.question = text_of(spec, path, "question");
        t.reprompts = strings_of(spec, path, "reprompts");
        if (t.reprompts.empty()) error(join(path, "reprompts"), "needs at least one reprompt");
        t.detect = patterns_of(r, spec, path, "detect");
        t.deny = patterns_of(r, spec, path, "deny");
        t.lookalikes = patterns_of(r, spec, path, "lookalikes");
        t.explained_by = patterns_of(r, spec, path, "explained_by");
        t.detect_when_asked = patterns_of(r, spec, path, "detect_when_asked");
        t.detect_vague = patterns_of(r, spec, path, "detect_vague");
        t.deny_when_asked = patterns_of(r, spec, path, "deny_when_asked");
        if (const json* options = field(spec, path, "options", json::value_t::array, t.kind != TopicKind::yes_no)) {
            std::set<std::string> seen;
            for (std::size_t i = 0; i < options->size(); ++i) {
                const json& o = (*options)[i];
                const std::string opath = at(join(path, "options"), i);
                Option option;
                option.id = text_of(o, opath, "id");
                option.title = text_of(o, opath, "title");
                if (!seen.insert(option.id).second) error(join(opath, "id"), "duplicate id \"" + option.id + "\"");
                option.detect = patterns_of(r, o, opath, "detect");
                option.deny = patterns_of(r, o, opath, "deny");
                if (const json* v = field(o, opath, "value", json::value_t::number_float, t.kind == TopicKind::number)) {
                    option.value = v->get<double>();
                }
                option.implies = implies_of(o, opath);
                t.options.push_back(std::move(option));
            }
        }
        if (t.kind == TopicKind::yes_no && t.detect.empty()) error(join(path, "detect"), "a yes/no topic needs detect patterns");
        if (const auto it = spec.find("ask_if"); it != spec.end()) t.ask_if = condition_of(*it, join(path, "ask_if"));
        t.mentions = mention_policy(spec, path);
        t.title = text_of(spec, path, "title", false);
        t.label = text_of(spec, path, "label", false);
        t.why = text_of(spec, path, "why");
        t.counts = text_of(spec, path, "counts", false);
        t.unanswered = text_of(spec, path, "unanswered", t.safety);
        if (const json* follow_up = field(spec, path, "follow_up", json::value_t::object, false)) {
            const std::string fpath = join(path, "follow_up");
            if (t.kind != TopicKind::yes_no) error(fpath, "only a yes/no topic can have a follow-up");
            t.follow_up_fact = text_of(*follow_up, fpath, "fact");
            t.follow_up_question = text_of(*follow_up, fpath, "question");
            t.follow_up_reprompt = text_of(*follow_up, fpath, "reprompt");
            if (const json* f = field(*follow_up, fpath, "plain_yes_means", json::value_t::string, false)) {
                const auto means = f->get<std::string>();
                if (means != "yes" && means != "no") error(join(fpath, "plain_yes_means"), "must be \"yes\" or \"no\"");
                t.follow_up_yes_is_no = means == "no";
            }
            t.follow_up_yes = patterns_of(r, *follow_up, fpath, "yes");
            t.follow_up_no = patterns_of(r, *follow_up, fpath, "no");
        }
        slot_names_.insert(id);
        r.topic_index[id] = r.topics.size();
        r.topics.push_back(std::move(t));
    }
    for (std::size_t i = 0; i < r.topics.size(); ++i) {
        if (r.topics[i].ask_if) conditions_.emplace_back("topics.json", join(join("topics", r.topics[i].id), "ask_if"), &*r.topics[i].ask_if);
    }
}

void Loader::check_follow_ups(const RuleSet& r) {
    file_ = "topics.json";
    for (const Topic& t : r.topics) {
        const bool known = std::any_of(r.facts.begin(), r.facts.end(), [&](const Fact& f) { return f.id == t.follow_up_fact; });
        if (!t.follow_up_fact.empty() && !known) {
            error(join(join(join("topics", t.id), "follow_up"), "fact"), "unknown fact \"" + t.follow_up_fact + "\"");
        }
    }
}

void Loader::load_facts(RuleSet& r, const json& doc) {
    file_ = "facts.json";
    const json* facts = field(doc, "", "facts", json::value_t::object);
    if (!facts) return;
    for (const auto& [id, spec] : facts->items()) {
        const std::string path = join("facts", id);
        if (r.topic(id)) error(path, "\"" + id + "\" is already a topic");
        only_fields(spec, path, {"title", "asked_by", "detect", "deny", "lookalikes", "implies", "time", "conditional_counts",
                                 "others_count", "complaint"});
        Fact f;
        f.id = id;
        f.title = text_of(spec, path, "title");
        f.detect = patterns_of(r, spec, path, "detect");
        f.deny = patterns_of(r, spec, path, "deny");
        f.lookalikes = patterns_of(r, spec, path, "lookalikes");
        if (f.detect.empty()) error(join(path, "detect"), "needs at least one pattern");
        f.implies = implies_of(spec, path);
        f.mentions = mention_policy(spec, path);
        f.mentions.asked_by = text_of(spec, path, "asked_by", false);
        if (!f.mentions.asked_by.empty() && !r.topic(f.mentions.asked_by)) {
            error(join(path, "asked_by"), "unknown topic \"" + f.mentions.asked_by + "\"");
        }
        slot_names_.insert(id);
        r.facts.push_back(std::move(f));
    }
}

MentionPolicy Loader::mention_policy(const json& spec, const std::string& path) {
    MentionPolicy p;
    if (const json* b = field(spec, path, "others_count", json::value_t::boolean, false)) p.others_count = b->get<bool>();
    if (const json* b = field(spec, path, "conditional_counts", json::value_t::boolean, false)) p.conditional_counts = b->get<bool>();
    if (const json* b = field(spec, path, "complaint", json::value_t::boolean, false)) p.complaint = b->get<bool>();
    if (spec.contains("time")) {
        p.times = 0;
        const auto frames = strings_of(spec, path, "time");
        for (std::size_t i = 0; i < frames.size(); ++i) {
            if (frames[i] == "recent") p.times |= bit(Context::recent);
            else if (frames[i] == "past") p.times |= bit(Context::past);
            else if (frames[i] != "now") error(at(join(path, "time"), i), "must be now, recent or past");
        }
    }
    return p;
}

void Loader::mark_red_flags(RuleSet& r) {
    std::set<std::string> flags;
    const std::function<void(const Condition&)> walk = [&](const Condition& c) {
        if (c.op == Condition::Op::yes) flags.insert(c.slot);
        for (const auto& child : c.children) walk(child);
    };
    for (const TriageRule& rule : r.triage_rules) {
        if (rule.level >= Level::urgent) walk(rule.when);
    }
    for (Topic& t : r.topics) t.mentions.red_flag = flags.count(t.id) > 0;
    for (Fact& f : r.facts) f.mentions.red_flag = flags.count(f.id) > 0;
}

void Loader::load_definitions(RuleSet& r, const json& doc) {
    file_ = "definitions.json";
    const json* definitions = field(doc, "", "definitions", json::value_t::object);
    if (!definitions) return;
    for (const auto& [id, spec] : definitions->items()) {
        const std::string path = join("definitions", id);
        if (!spec.is_object()) {
            error(path, "must be an object");
            continue;
        }
        Definition d;
        d.id = id;
        d.detect = patterns_of(r, spec, path, "detect");
        if (d.detect.empty()) error(join(path, "detect"), "needs at least one pattern");
        d.text = text_of(spec, path, "text");
        r.definitions.push_back(std::move(d));
    }
}

void Loader::load_intents(RuleSet& r, const json& doc) {
    file_ = "intents.json";
    if (const json* intents = field(doc, "", "intents", json::value_t::object)) {
        for (const auto& [id, spec] : intents->items()) {
            const std::string path = join("intents", id);
            Intent i;
            i.id = id;
            i.patterns = patterns_of(r, spec, path, "patterns");
            i.lookalikes = patterns_of(r, spec, path, "lookalikes");
            if (i.patterns.empty()) error(join(path, "patterns"), "needs at least one pattern");
            if (const json* m = field(spec, path, "max_tokens", json::value_t::number_integer, false)) i.max_tokens = m->get<int>();
            if (const auto it = spec.find("answered_by_level"); it != spec.end()) {
                if (it->is_boolean() && it->get<bool>()) i.level_answers = {id};
                else if (it->is_array() && !it->empty()) i.level_answers = strings_of(spec, path, "answered_by_level");
                else if (!it->is_boolean()) error(join(path, "answered_by_level"), "must be true, false or a list of text families");
            }
            r.intents.push_back(std::move(i));
        }
    }
    for (const char* id : {"restart", "help", "stretches", "causes", "see_doctor", "stop", "next", "repeat", "done", "greeting", "thanks"}) {
        if (std::none_of(r.intents.begin(), r.intents.end(), [&](const Intent& i) { return i.id == id; })) {
            error("intents", std::string("the global intent \"") + id + "\" is missing");
        }
    }
    if (const json* answers = field(doc, "", "answers", json::value_t::object)) {
        for (const char* kind : {"yes", "no", "unsure"}) {
            r.answer_kinds.push_back(kind);
            r.answers[kind] = patterns_of(r, *answers, "answers", kind);
            if (r.answers[kind].empty()) error(join("answers", kind), "needs at least one pattern");
        }
        r.answer_lookalikes = patterns_of(r, *answers, "answers", "lookalikes");
    }
}

void Loader::load_causes(RuleSet& r, const json& doc) {
    file_ = "causes.json";
    const json* causes = field(doc, "", "causes", json::value_t::object);
    if (!causes) return;
    for (const auto& [id, spec] : causes->items()) {
        const std::string path = join("causes", id);
        r.causes[id] = Cause{id, text_of(spec, path, "title"), text_of(spec, path, "explanation"), text_of(spec, path, "advice")};
    }
}

void Loader::load_triage(RuleSet& r, const json& doc) {
    file_ = "triage.json";
    const json* rules = field(doc, "", "rules", json::value_t::array);
    if (!rules) return;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < rules->size(); ++i) {
        const json& spec = (*rules)[i];
        const std::string path = at("rules", i);
        TriageRule rule;
        rule.id = text_of(spec, path, "id");
        if (!rule.id.empty() && !seen.insert(rule.id).second) error(join(path, "id"), "duplicate id \"" + rule.id + "\"");
        rule.source = text_of(spec, path, "source");
        const std::string level = text_of(spec, path, "level");
        if (const auto l = level_from_string(level)) {
            rule.level = *l;
        } else if (!level.empty()) {
            error(join(path, "level"), "unknown level \"" + level + "\" (emergency, urgent, gp_soon, self_care)");
        }
        rule.cause = text_of(spec, path, "cause", false);
        if (!rule.cause.empty() && !r.causes.count(rule.cause)) {
            error(join(path, "cause"), "rule for an unknown cause \"" + rule.cause + "\"");
        }
        if (const auto it = spec.find("when"); it == spec.end()) {
            error(join(path, "when"), "is missing");
        } else if (auto c = condition_of(*it, join(path, "when"))) {
            rule.when = std::move(*c);
        }
        referenced_slots(rule.when, rule.slots);
        r.triage_rules.push_back(std::move(rule));
    }
    for (std::size_t i = 0; i < r.triage_rules.size(); ++i) {
        conditions_.emplace_back("triage.json", join(at("rules", i), "when"), &r.triage_rules[i].when);
    }
    if (std::none_of(r.triage_rules.begin(), r.triage_rules.end(), [](const TriageRule& rule) {
            return rule.level == Level::self_care && !rule.cause.empty() && rule.when.op == Condition::Op::all && rule.when.children.empty();
        })) {
        error("rules", "needs a self_care rule with a cause and \"when\": {\"all\": []} as the fallback");
    }
}

}  // namespace backtalk::rules_loader
