// Reads rules/<locale>/*.json, reports every mistake with its file and JSON
// path, and compiles the knowledge into an immutable RuleSet.
#include "bot/rules.hpp"

#include "bot/conditions.hpp"
#include "bot/engine.hpp"
#include "bot/ruleset.hpp"
#include "bot/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>

namespace backtalk {

using nlohmann::json;

std::string RuleError::to_string() const {
    std::string out = file;
    if (!path.empty()) out += ": " + path;
    return out + ": " + message;
}

const std::string& RuleSet::text(const std::string& key) const {
    const auto it = texts.find(key);
    if (it == texts.end()) throw std::logic_error("missing text " + key);
    return it->second;
}

namespace {

const char* const rule_files[] = {"meta.json",   "lexicon.json", "context.json",   "topics.json", "facts.json",
                                  "intents.json", "definitions.json", "triage.json", "causes.json", "stretches.json",
                                  "texts.json",  "flow.json", "real_words.json"};

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
    "questions_left_none", "group_one_at_a_time", "group_which", "group_others", "correction_confirm", "correction_change", "advice_stands", "correction_unclear", "correction_applied", "correction_kept", "is_serious_during", "stretch_safe_during", "scans", "maternity", "count_general",
    "is_serious_emergency", "is_serious_urgent", "is_serious_gp_soon", "is_serious_self_care",
    "stretch_safe_emergency", "stretch_safe_urgent", "stretch_safe_gp_soon", "stretch_safe_self_care",
    "delay_emergency", "delay_urgent", "delay_gp_soon", "delay_self_care",
    "what_happens_emergency", "what_happens_urgent", "what_happens_gp_soon", "what_happens_self_care",
    "medicines_emergency", "medicines_urgent",   "unanswered_moving_on", "answer_not_understood", "question_not_understood"};

// Texts the channels show beside the replies (adapters/core/wording.hpp).
const char* const required_channel_texts[] = {
    "level_title_emergency", "level_action_emergency", "level_title_urgent",    "level_action_urgent",
    "level_title_gp_soon",   "level_action_gp_soon",   "level_title_self_care", "level_action_self_care",
    "level_call",            "causes_label_one",       "causes_label_many",     "origin_refused",        "error_bad_json",
    "error_unknown_type",    "error_empty",            "error_too_long",        "error_bad_choice",
    "error_rate_limited",    "error_unavailable",      "error_internal",        "telegram_edited",
    "telegram_not_text",     "telegram_shared_chat"};

const char* const required_menus[] = {"after_outcome_safe", "after_outcome_serious", "stretch_step", "stretches_done"};

class Loader {
public:
    Loader(const std::map<std::string, std::string>& files, std::string label) : files_(files), label_(std::move(label)) {}

    RuleLoad run() {
        auto rules = std::make_shared<RuleSet>();
        std::map<std::string, json> docs;
        for (const char* name : rule_files) {
            file_ = name;
            const auto it = files_.find(name);
            if (it == files_.end()) {
                error("", "file is missing");
                continue;
            }
            json doc = parse(it->second);
            if (!doc.is_discarded()) docs[name] = std::move(doc);
        }
        for (const auto& file : files_) {
            const std::string& name = file.first;
            if (std::find_if(std::begin(rule_files), std::end(rule_files), [&](const char* f) { return name == f; }) ==
                std::end(rule_files)) {
                file_ = name;
                error("", "unexpected file (known files: meta, lexicon, context, topics, facts, intents, definitions, triage, causes, "
                         "stretches, texts, flow, real_words)");
            }
        }
        if (!errors_.empty()) return {nullptr, errors_};

        RuleSet& r = *rules;
        load_meta(r, docs["meta.json"]);
        load_lexicon(r, docs["lexicon.json"]);
        load_context(r, docs["context.json"]);
        file_ = "real_words.json";
        for (const auto& w : strings_of(docs["real_words.json"], "", "words")) r.lexicon.real_words.insert(w);
        // Every word of every pattern joins the lexicon before patterns compile,
        // so typo tolerance knows the whole vocabulary.
        collect_pattern_words(r, docs);
        load_topics(r, docs["topics.json"]);
        load_facts(r, docs["facts.json"]);
        check_follow_ups(r);
        load_intents(r, docs["intents.json"]);
        load_definitions(r, docs["definitions.json"]);
        load_causes(r, docs["causes.json"]);
        load_triage(r, docs["triage.json"]);
        mark_red_flags(r);
        load_stretches(r, docs["stretches.json"]);
        load_texts(r, docs["texts.json"]);
        load_flow(r, docs["flow.json"]);
        check_conditions(r);
        if (!errors_.empty()) return {nullptr, errors_};
        build_deletion_index(r);
        build_pattern_index(r);
        r.version = r.version + "+" + content_hash();
        return {rules, {}};
    }

private:
    const std::map<std::string, std::string>& files_;
    std::string label_;
    std::string file_;
    std::vector<RuleError> errors_;
    // Conditions are checked once every slot name is known.
    std::vector<std::tuple<std::string, std::string, Condition*>> conditions_;
    std::set<std::string> slot_names_;

    void error(const std::string& path, const std::string& message) {
        errors_.push_back({label_.empty() ? file_ : label_ + "/" + file_, path, message});
    }

    static std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
    static std::string at(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

    // Parses JSON with comments, reporting syntax errors and duplicate keys.
    json parse(const std::string& text) {
        std::vector<std::set<std::string>> keys;
        std::vector<std::string> paths;
        std::string last_key;
        bool duplicate = false;
        const json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) {
            switch (event) {
                case json::parse_event_t::object_start:
                    keys.emplace_back();
                    paths.push_back(paths.empty() ? std::string() : join(paths.back(), last_key));
                    break;
                case json::parse_event_t::object_end:
                    keys.pop_back();
                    paths.pop_back();
                    break;
                case json::parse_event_t::key: {
                    last_key = parsed.get<std::string>();
                    if (!keys.empty() && !keys.back().insert(last_key).second) {
                        error(join(paths.back(), last_key), "duplicate id \"" + last_key + "\"");
                        duplicate = true;
                    }
                    break;
                }
                default:
                    break;
            }
            return true;
        };
        try {
            json doc = json::parse(text, callback, true, true);
            if (!doc.is_object()) {
                error("", "must be a JSON object");
                return json(json::value_t::discarded);
            }
            if (duplicate) return json(json::value_t::discarded);
            return doc;
        } catch (const json::parse_error& e) {
            error("", std::string("invalid JSON: ") + e.what());
            return json(json::value_t::discarded);
        }
    }

    // Typed field access that records an error instead of throwing.
    const json* field(const json& object, const std::string& path, const char* key, json::value_t type, bool required = true) {
        const auto it = object.find(key);
        if (it == object.end()) {
            if (required) error(join(path, key), "is missing");
            return nullptr;
        }
        const bool ok = type == json::value_t::number_float ? it->is_number() : it->type() == type ||
                        (type == json::value_t::number_integer && it->is_number_integer());
        if (!ok) {
            error(join(path, key), std::string("must be ") + type_name(type));
            return nullptr;
        }
        return &*it;
    }
    static const char* type_name(json::value_t type) {
        switch (type) {
            case json::value_t::object: return "an object";
            case json::value_t::array: return "an array";
            case json::value_t::string: return "a string";
            case json::value_t::boolean: return "true or false";
            case json::value_t::number_integer: return "an integer";
            default: return "a number";
        }
    }
    std::string text_of(const json& object, const std::string& path, const char* key, bool required = true) {
        const json* v = field(object, path, key, json::value_t::string, required);
        if (v && required && v->get_ref<const std::string&>().empty()) error(join(path, key), "must not be empty");
        return v ? v->get<std::string>() : std::string();
    }
    std::vector<std::string> strings_of(const json& object, const std::string& path, const char* key, bool required = true) {
        std::vector<std::string> out;
        const json* v = field(object, path, key, json::value_t::array, required);
        if (!v) return out;
        for (std::size_t i = 0; i < v->size(); ++i) {
            if (!(*v)[i].is_string()) {
                error(at(join(path, key), i), "must be a string");
                continue;
            }
            out.push_back((*v)[i].get<std::string>());
        }
        return out;
    }

    void load_meta(RuleSet& r, const json& doc) {
        file_ = "meta.json";
        r.locale = text_of(doc, "", "locale");
        r.version = text_of(doc, "", "version");
        r.default_emergency_number = text_of(doc, "", "emergency_number");
        if (!r.default_emergency_number.empty() && !is_dialable_number(r.default_emergency_number)) {
            error("emergency_number", "must be a number people can dial, e.g. \"112\" or \"+44 20 7946 0958\"");
        }
        if (const json* gap = field(doc, "", "max_gap", json::value_t::number_integer)) {
            r.max_gap = gap->get<int>();
            if (r.max_gap < 0 || r.max_gap > 8) error("max_gap", "must be between 0 and 8");
        }
        for (const auto& s : strings_of(doc, "", "value_slots")) slot_names_.insert(s);
    }

    WordId add_word(Lexicon& lex, const std::string& word) {
        if (const auto it = lex.ids.find(word); it != lex.ids.end()) return it->second;
        const auto id = static_cast<WordId>(lex.words.size());
        lex.words.push_back(word);
        lex.ids.emplace(word, id);
        return id;
    }

    std::set<WordId> word_set(Lexicon& lex, const json& doc, const char* key) {
        std::set<WordId> out;
        for (const auto& w : strings_of(doc, "", key)) out.insert(add_word(lex, w));
        return out;
    }

    void load_lexicon(RuleSet& r, const json& doc) {
        file_ = "lexicon.json";
        Lexicon& lex = r.lexicon;
        if (const json* c = field(doc, "", "contractions", json::value_t::object)) {
            for (const auto& [from, to] : c->items()) {
                if (!to.is_string()) {
                    error(join("contractions", from), "must be a string");
                    continue;
                }
                std::istringstream words(to.get<std::string>());
                std::vector<std::string> expansion;
                for (std::string w; words >> w;) expansion.push_back(w);
                lex.contractions[from] = expansion;
            }
        }
        for (const auto& w : strings_of(doc, "", "words")) add_word(lex, w);
        const auto numbers = [&](const char* key, std::unordered_map<std::string, double>& out) {
            if (const json* m = field(doc, "", key, json::value_t::object)) {
                for (const auto& [word, value] : m->items()) {
                    if (!value.is_number()) {
                        error(join(key, word), "must be a number");
                        continue;
                    }
                    out[word] = value.get<double>();
                    add_word(lex, word);
                }
            }
        };
        numbers("number_words", lex.number_words);
        numbers("unit_days", lex.unit_days);
        numbers("relative_days", lex.relative_days);
        for (const auto& w : strings_of(doc, "", "age_words")) {
            lex.age_words.insert(w);
            add_word(lex, w);
        }
        for (const auto& w : strings_of(doc, "", "age_possessives", false)) {
            lex.age_possessives.insert(w);
            add_word(lex, w);
        }
        for (const auto& w : strings_of(doc, "", "duration_blockers", false)) {
            lex.duration_blockers.insert(w);
            add_word(lex, w);
        }
        for (const auto& w : strings_of(doc, "", "frequency_words", false)) {
            lex.frequency_words.insert(w);
            add_word(lex, w);
        }
        for (const auto& w : strings_of(doc, "", "duration_anchors", false)) {
            lex.duration_anchors.insert(w);
            add_word(lex, w);
        }
        for (const auto& w : strings_of(doc, "", "age_sex_markers", false)) {
            lex.age_sex_markers.insert(w);
            add_word(lex, w);
        }
        for (const auto& w : strings_of(doc, "", "age_subjects")) {
            lex.age_subjects.insert(w);
            add_word(lex, w);
        }
        if (const json* concepts = field(doc, "", "concepts", json::value_t::object)) {
            for (const auto& [name, members] : concepts->items()) {
                lex.concept_names.push_back(name);
                lex.concepts.emplace_back();
            }
            std::size_t index = 0;
            for (const auto& [name, members] : concepts->items()) {
                const std::string path = join("concepts", name);
                if (!members.is_array() || members.empty()) {
                    error(path, "must be a non-empty array of words or phrases");
                    ++index;
                    continue;
                }
                for (std::size_t i = 0; i < members.size(); ++i) {
                    if (!members[i].is_string()) {
                        error(at(path, i), "must be a string");
                        continue;
                    }
                    std::vector<WordId> phrase;
                    for (const auto& w : phrase_words(lex, members[i].get<std::string>())) phrase.push_back(add_word(lex, w));
                    if (phrase.empty()) {
                        error(at(path, i), "is empty");
                        continue;
                    }
                    if (phrase.size() == 1) lex.concepts_of_word[phrase[0]].push_back(static_cast<int>(index));
                    lex.concepts[index].push_back(std::move(phrase));
                }
                ++index;
            }
        }
    }

    // Adds the words of every pattern to the lexicon (see run()).
    void collect_pattern_words(RuleSet& r, const std::map<std::string, json>& docs) {
        const std::function<void(const json&, const std::string&)> walk = [&](const json& node, const std::string& key) {
            if (node.is_object()) {
                for (const auto& [k, v] : node.items()) walk(v, k);
            } else if (node.is_array()) {
                for (const auto& v : node) walk(v, key);
            } else if (node.is_string() && (key == "detect" || key == "deny" || key == "detect_when_asked" || key == "detect_vague" || key == "deny_when_asked" || key == "patterns" || key == "yes" ||
                                            key == "no" || key == "unsure")) {
                for (const auto& w : phrase_words(r.lexicon, node.get<std::string>())) {
                    if (w.empty() || w[0] == '~' || w.back() == '*' || w == "#") continue;
                    add_word(r.lexicon, w);
                }
            }
        };
        for (const char* name : {"topics.json", "facts.json", "intents.json", "definitions.json"}) {
            const auto it = docs.find(name);
            if (it != docs.end()) walk(it->second, "");
        }
    }

    // "~pain below the knee", "numb*", "# out of 10": words, concepts, prefixes, numbers.
    std::optional<Pattern> compile_pattern(RuleSet& r, const std::string& path, const std::string& source) {
        Pattern p;
        p.source = source;
        std::istringstream in(source);
        for (std::string raw; in >> raw;) {
            Term term;
            if (raw.size() > 1 && raw[0] == '~') {
                const std::string name = raw.substr(1);
                const auto& names = r.lexicon.concept_names;
                const auto it = std::find(names.begin(), names.end(), name);
                if (it == names.end()) {
                    error(path, "unknown concept \"~" + name + "\" in \"" + source + "\"");
                    return std::nullopt;
                }
                term.kind = Term::Kind::synonyms;
                term.id = static_cast<int>(it - names.begin());
                p.terms.push_back(term);
            } else if (raw == "#") {
                term.kind = Term::Kind::number;
                p.terms.push_back(term);
            } else if (raw.size() > 1 && raw.back() == '*') {
                term.kind = Term::Kind::prefix;
                term.prefix = raw.substr(0, raw.size() - 1);
                std::transform(term.prefix.begin(), term.prefix.end(), term.prefix.begin(),
                               [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
                auto& prefixes = r.lexicon.prefixes;
                if (std::find(prefixes.begin(), prefixes.end(), term.prefix) == prefixes.end()) prefixes.push_back(term.prefix);
                p.terms.push_back(term);
            } else {
                for (const auto& w : phrase_words(r.lexicon, raw)) {
                    term.kind = Term::Kind::word;
                    term.id = add_word(r.lexicon, w);
                    p.terms.push_back(term);
                }
            }
        }
        if (p.terms.empty()) {
            error(path, "empty pattern");
            return std::nullopt;
        }
        return p;
    }

    std::vector<Pattern> patterns_of(RuleSet& r, const json& object, const std::string& path, const char* key) {
        std::vector<Pattern> out;
        const auto sources = strings_of(object, path, key, false);
        for (std::size_t i = 0; i < sources.size(); ++i) {
            if (auto p = compile_pattern(r, at(join(path, key), i), sources[i])) out.push_back(std::move(*p));
        }
        return out;
    }

    std::vector<SlotAssignment> implies_of(const json& object, const std::string& path) {
        std::vector<SlotAssignment> out;
        if (const json* m = field(object, path, "implies", json::value_t::object, false)) {
            for (const auto& [slot, value] : m->items()) {
                if (!value.is_string()) {
                    error(join(join(path, "implies"), slot), "must be a string");
                    continue;
                }
                out.push_back({slot, value.get<std::string>()});
                implied_.push_back({file_, join(join(path, "implies"), slot), slot});
            }
        }
        return out;
    }
    struct ImpliedSlot {
        std::string file, path, slot;
    };
    std::vector<ImpliedSlot> implied_;

    // Deeper nesting is a broken file, not a rule: evaluating it (and loading
    // it) recurses once per level, and a file nested thousands deep would
    // overflow the stack of a server reloading its rules.
    static constexpr int max_condition_depth = 32;

    std::optional<Condition> condition_of(const json& node, const std::string& path, int depth = 1) {
        Condition c;
        if (depth > max_condition_depth) {
            error(path, "conditions nest more than " + std::to_string(max_condition_depth) + " levels deep");
            return std::nullopt;
        }
        if (!node.is_object() || node.size() != 1) {
            error(path, "a condition is an object with one key: all, any, not, yes, no, is, at_least, below or known");
            return std::nullopt;
        }
        // Copy the key: items() is a temporary whose iterator must not outlive it.
        const std::string op = node.begin().key();
        const json& arg = node.begin().value();
        const std::string inner = join(path, op);
        if (op == "all" || op == "any") {
            c.op = op == "all" ? Condition::Op::all : Condition::Op::any;
            if (!arg.is_array()) {
                error(inner, "must be an array of conditions");
                return std::nullopt;
            }
            for (std::size_t i = 0; i < arg.size(); ++i) {
                auto child = condition_of(arg[i], at(inner, i), depth + 1);
                if (!child) return std::nullopt;
                c.children.push_back(std::move(*child));
            }
            return c;
        }
        if (op == "not") {
            c.op = Condition::Op::negate;
            auto child = condition_of(arg, inner, depth + 1);
            if (!child) return std::nullopt;
            c.children.push_back(std::move(*child));
            return c;
        }
        if (op == "yes" || op == "no" || op == "known") {
            c.op = op == "yes" ? Condition::Op::yes : op == "no" ? Condition::Op::no : Condition::Op::known;
            if (!arg.is_string()) {
                error(inner, "must be a slot name");
                return std::nullopt;
            }
            c.slot = arg.get<std::string>();
            return c;
        }
        if (op == "is" || op == "at_least" || op == "below") {
            if (!arg.is_array() || arg.size() != 2 || !arg[0].is_string()) {
                error(inner, "must be [slot, value]");
                return std::nullopt;
            }
            c.slot = arg[0].get<std::string>();
            if (op == "is") {
                c.op = Condition::Op::is;
                if (!arg[1].is_string()) {
                    error(inner, "the value must be a string");
                    return std::nullopt;
                }
                c.text = arg[1].get<std::string>();
            } else {
                c.op = op == "at_least" ? Condition::Op::at_least : Condition::Op::below;
                if (!arg[1].is_number()) {
                    error(inner, "the value must be a number");
                    return std::nullopt;
                }
                c.number = arg[1].get<double>();
            }
            return c;
        }
        error(inner, "unknown condition \"" + op + "\"");
        return std::nullopt;
    }

    void load_topics(RuleSet& r, const json& doc) {
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

    std::vector<QuickReply> quick_replies(const json& list, const std::string& path) {
        std::vector<QuickReply> out;
        std::set<std::string> seen;
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::string p = at(path, i);
            QuickReply q{text_of(list[i], p, "id"), text_of(list[i], p, "title")};
            if (!seen.insert(q.id).second) error(join(p, "id"), "duplicate id \"" + q.id + "\"");
            out.push_back(std::move(q));
        }
        return out;
    }

    // A follow-up asks about a fact, which loads after the topics.
    void check_follow_ups(const RuleSet& r) {
        file_ = "topics.json";
        for (const Topic& t : r.topics) {
            const bool known = std::any_of(r.facts.begin(), r.facts.end(), [&](const Fact& f) { return f.id == t.follow_up_fact; });
            if (!t.follow_up_fact.empty() && !known) {
                error(join(join(join("topics", t.id), "follow_up"), "fact"), "unknown fact \"" + t.follow_up_fact + "\"");
            }
        }
    }

    void load_facts(RuleSet& r, const json& doc) {
        file_ = "facts.json";
        const json* facts = field(doc, "", "facts", json::value_t::object);
        if (!facts) return;
        for (const auto& [id, spec] : facts->items()) {
            const std::string path = join("facts", id);
            if (r.topic(id)) error(path, "\"" + id + "\" is already a topic");
            Fact f;
            f.id = id;
            f.title = text_of(spec, path, "title");
            f.detect = patterns_of(r, spec, path, "detect");
            f.deny = patterns_of(r, spec, path, "deny");
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

    // "time": the time frames besides now in which a mention counts;
    // "others_count", "conditional_counts": see MentionPolicy.
    MentionPolicy mention_policy(const json& spec, const std::string& path) {
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

    // A red flag is a slot whose "yes" an urgent or emergency rule reads:
    // doubt about it is asked about, never taken as the sign.
    void mark_red_flags(RuleSet& r) {
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

    void load_definitions(RuleSet& r, const json& doc) {
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

    void load_context(RuleSet& r, const json& doc) {
        file_ = "context.json";
        ContextRules& c = r.lexicon.context;
        const auto words = [&](const char* key, std::unordered_set<int>& out) {
            for (const auto& w : strings_of(doc, "", key)) {
                for (const auto& word : phrase_words(r.lexicon, w)) out.insert(add_word(r.lexicon, word));
            }
        };
        words("terminators", c.terminators);
        words("list_joiners", c.list_joiners);
        words("question_openers", c.question_openers);
        const auto kind_of = [](const std::string& name) -> std::optional<Context> {
            for (std::size_t k = 0; k < context_kinds; ++k) {
                if (context_names[k] == name) return static_cast<Context>(k);
            }
            return std::nullopt;
        };
        if (const json* kinds = field(doc, "", "kinds", json::value_t::object)) {
            for (std::size_t k = 0; k < context_kinds; ++k) {
                if (!kinds->contains(std::string(context_names[k]))) error(join("kinds", std::string(context_names[k])), "is missing");
            }
            for (const auto& [name, spec] : kinds->items()) {
                const std::string path = join("kinds", name);
                const auto kind = kind_of(name);
                if (!kind) {
                    error(path, "unknown kind (known: negated, other, hypothetical, question, uncertain, conditional, past, recent)");
                    continue;
                }
                ContextKindRules& kr = c.kinds[static_cast<std::size_t>(*kind)];
                const std::string scope = text_of(spec, path, "scope");
                if (scope == "sentence") kr.sentence_scope = true;
                else if (scope != "clause" && !scope.empty()) error(join(path, "scope"), "must be clause or sentence");
                if (const json* b = field(spec, path, "lists", json::value_t::boolean, false)) kr.lists = b->get<bool>();
                for (const auto& w : strings_of(spec, path, "ended_by", false)) kr.ended_by.insert(add_word(r.lexicon, w));
            }
        }
        const auto add_trigger = [&](const std::string& path, const std::string& source, Context kind, bool forward, bool backward,
                                     bool pseudo) {
            auto pattern = compile_pattern(r, path, source);
            if (!pattern) return;
            for (const Term& term : pattern->terms) {
                if (term.kind == Term::Kind::prefix) {
                    error(path, "a trigger is words, ~concepts and # only: \"" + source + "\"");
                    return;
                }
            }
            // A phrase listed both forward and backward reads both ways.
            for (ContextTrigger& known : c.triggers) {
                if (known.source == source && known.kind == kind && known.pseudo == pseudo) {
                    known.forward = known.forward || forward;
                    known.backward = known.backward || backward;
                    return;
                }
            }
            c.triggers.push_back({std::move(pattern->terms), kind, forward, backward, pseudo, source});
        };
        if (const json* triggers = field(doc, "", "triggers", json::value_t::object)) {
            for (const auto& [name, spec] : triggers->items()) {
                const std::string path = join("triggers", name);
                const auto kind = kind_of(name);
                if (!kind || !spec.is_object()) {
                    error(path, kind ? "must be an object" : "unknown kind");
                    continue;
                }
                for (const auto& [direction, list] : spec.items()) {
                    const bool forward = direction == "forward" || direction == "both";
                    const bool backward = direction == "backward" || direction == "both";
                    if (!forward && !backward) {
                        error(join(path, direction), "must be forward, backward or both");
                        continue;
                    }
                    const auto sources = strings_of(spec, path, direction.c_str());
                    for (std::size_t i = 0; i < sources.size(); ++i) {
                        add_trigger(at(join(path, direction), i), sources[i], *kind, forward, backward, false);
                    }
                }
            }
        }
        const auto pseudo = strings_of(doc, "", "pseudo");
        for (std::size_t i = 0; i < pseudo.size(); ++i) add_trigger(at("pseudo", i), pseudo[i], Context::negated, false, false, true);
        // Index by first word; at one position the longest trigger is tried first.
        for (std::size_t i = 0; i < c.triggers.size(); ++i) {
            const Term& first = c.triggers[i].terms.front();
            std::set<WordId> starts;
            if (first.kind == Term::Kind::number) {
                error(at("triggers", i), "a trigger cannot start with #: \"" + c.triggers[i].source + "\"");
                continue;
            }
            if (first.kind == Term::Kind::word) starts.insert(first.id);
            else for (const auto& phrase : r.lexicon.concepts[static_cast<std::size_t>(first.id)]) starts.insert(phrase.front());
            for (WordId w : starts) c.by_first_word[w].push_back(static_cast<int>(i));
        }
    }

    void load_intents(RuleSet& r, const json& doc) {
        file_ = "intents.json";
        if (const json* intents = field(doc, "", "intents", json::value_t::object)) {
            for (const auto& [id, spec] : intents->items()) {
                const std::string path = join("intents", id);
                Intent i;
                i.id = id;
                i.patterns = patterns_of(r, spec, path, "patterns");
                if (i.patterns.empty()) error(join(path, "patterns"), "needs at least one pattern");
                if (const json* m = field(spec, path, "max_tokens", json::value_t::number_integer, false)) i.max_tokens = m->get<int>();
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
        }
    }

    void load_causes(RuleSet& r, const json& doc) {
        file_ = "causes.json";
        const json* causes = field(doc, "", "causes", json::value_t::object);
        if (!causes) return;
        for (const auto& [id, spec] : causes->items()) {
            const std::string path = join("causes", id);
            r.causes[id] = Cause{id, text_of(spec, path, "title"), text_of(spec, path, "explanation"), text_of(spec, path, "advice")};
        }
    }

    void load_triage(RuleSet& r, const json& doc) {
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

    void load_stretches(RuleSet& r, const json& doc) {
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

    void load_texts(RuleSet& r, const json& doc) {
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

    void load_flow(RuleSet& r, const json& doc) {
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

    void load_groups(RuleSet& r, const json& doc) {
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

    // Marks slots that are never asked, so that a missing one reads as "no".
    void close_unasked(Condition& c, const RuleSet& r) {
        if (!c.slot.empty() && !r.topic(c.slot)) c.closed = true;
        for (auto& child : c.children) close_unasked(child, r);
    }

    void check_conditions(const RuleSet& r) {
        for (const auto& [file, path, condition] : conditions_) {
            close_unasked(*condition, r);
            std::set<std::string> slots;
            referenced_slots(*condition, slots);
            for (const auto& s : slots) {
                if (!slot_names_.count(s)) {
                    file_ = file;
                    error(path, "unknown slot \"" + s + "\" (not a topic, a fact or a value slot)");
                }
            }
        }
        for (const auto& implied : implied_) {
            if (!slot_names_.count(implied.slot)) {
                file_ = implied.file;
                error(implied.path, "unknown slot \"" + implied.slot + "\"");
            }
        }
    }

    void build_deletion_index(RuleSet& r) {
        Lexicon& lex = r.lexicon;
        for (std::size_t id = 0; id < lex.words.size(); ++id) {
            const std::string& w = lex.words[id];
            if (w.size() < 3) continue;
            const auto wid = static_cast<WordId>(id);
            for (std::size_t i = 0; i < w.size(); ++i) {
                std::string once = w;
                once.erase(i, 1);
                lex.deletions[once].push_back(wid);
                if (w.size() >= 7) {
                    for (std::size_t k = i; k < once.size(); ++k) {
                        std::string twice = once;
                        twice.erase(k, 1);
                        lex.deletions[twice].push_back(wid);
                    }
                }
            }
        }
        for (auto& [key, ids] : lex.deletions) {
            std::sort(ids.begin(), ids.end());
            ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        }
    }

    void build_pattern_index(RuleSet& r) {
        PatternIndex& index = r.index;
        const auto add = [&](const Pattern& p, PatternOwner owner, std::size_t i, std::size_t sub) {
            index.refs.push_back({&p, owner, static_cast<int>(i), static_cast<int>(sub)});
        };
        for (std::size_t t = 0; t < r.topics.size(); ++t) {
            for (const auto& p : r.topics[t].detect) add(p, PatternOwner::topic_yes, t, 0);
            for (const auto& p : r.topics[t].deny) add(p, PatternOwner::topic_no, t, 0);
            for (const auto& p : r.topics[t].detect_when_asked) add(p, PatternOwner::topic_yes_when_asked, t, 0);
            for (const auto& p : r.topics[t].detect_vague) add(p, PatternOwner::topic_vague, t, 0);
            for (const auto& p : r.topics[t].deny_when_asked) add(p, PatternOwner::topic_no_when_asked, t, 0);
            for (const auto& p : r.topics[t].follow_up_yes) add(p, PatternOwner::follow_up_yes, t, 0);
            for (const auto& p : r.topics[t].follow_up_no) add(p, PatternOwner::follow_up_no, t, 0);
            for (std::size_t o = 0; o < r.topics[t].options.size(); ++o) {
                for (const auto& p : r.topics[t].options[o].detect) add(p, PatternOwner::option, t, o);
                for (const auto& p : r.topics[t].options[o].deny) add(p, PatternOwner::option_no, t, o);
            }
        }
        for (std::size_t f = 0; f < r.facts.size(); ++f) {
            for (const auto& p : r.facts[f].detect) add(p, PatternOwner::fact_yes, f, 0);
            for (const auto& p : r.facts[f].deny) add(p, PatternOwner::fact_no, f, 0);
        }
        for (std::size_t i = 0; i < r.intents.size(); ++i) {
            for (const auto& p : r.intents[i].patterns) add(p, PatternOwner::intent, i, 0);
        }
        for (std::size_t k = 0; k < r.answer_kinds.size(); ++k) {
            for (const auto& p : r.answers[r.answer_kinds[k]]) add(p, PatternOwner::answer, k, 0);
        }
        for (std::size_t d = 0; d < r.definitions.size(); ++d) {
            for (const auto& p : r.definitions[d].detect) add(p, PatternOwner::definition, d, 0);
        }
        for (std::size_t i = 0; i < index.refs.size(); ++i) {
            const Term& first = index.refs[i].pattern->terms.front();
            const int ref = static_cast<int>(i);
            if (first.kind == Term::Kind::word) {
                index.by_first_word[first.id].push_back(ref);
            } else if (first.kind == Term::Kind::synonyms) {
                std::set<WordId> starts;
                for (const auto& phrase : r.lexicon.concepts[static_cast<std::size_t>(first.id)]) starts.insert(phrase.front());
                for (WordId w : starts) index.by_first_word[w].push_back(ref);
            } else {
                index.unanchored.push_back(ref);
            }
        }
    }

    std::string content_hash() const {
        // FNV-1a over the files, so a log row says exactly which rules answered.
        std::uint64_t h = 1469598103934665603ull;
        for (const auto& [name, text] : files_) {
            for (char c : name + '\0' + text) {
                h ^= static_cast<unsigned char>(c);
                h *= 1099511628211ull;
            }
        }
        std::ostringstream out;
        out << std::hex << (h & 0xffffffffull);
        return out.str();
    }
};

}  // namespace

RuleLoad compile_rules(const std::map<std::string, std::string>& files, const std::string& label) {
    return Loader(files, label).run();
}

RuleLoad load_rules(const std::filesystem::path& locale_dir) {
    std::map<std::string, std::string> files;
    std::error_code ec;
    if (!std::filesystem::is_directory(locale_dir, ec)) {
        return {nullptr, {{locale_dir.string(), "", "not a directory"}}};
    }
    for (const auto& entry : std::filesystem::directory_iterator(locale_dir, ec)) {
        if (entry.path().extension() != ".json") continue;
        // A folder named like a rules file reads as empty: say what it is.
        if (!entry.is_regular_file(ec)) return {nullptr, {{entry.path().string(), "", "is not a file"}}};
        std::ifstream in(entry.path(), std::ios::binary);
        if (!in) return {nullptr, {{entry.path().string(), "", "cannot be read"}}};
        std::ostringstream text;
        text << in.rdbuf();
        files[entry.path().filename().string()] = text.str();
    }
    if (ec) return {nullptr, {{locale_dir.string(), "", ec.message()}}};
    return compile_rules(files, locale_dir.string());
}

std::string summary(const RuleSet& r) {
    std::ostringstream out;
    out << "rules " << r.version << " (" << r.locale << "): " << r.topics.size() << " topics, " << r.facts.size() << " facts, "
        << r.intents.size() << " intents, " << r.triage_rules.size() << " triage rules, " << r.causes.size() << " causes, "
        << r.stretches.steps.size() << " stretching steps, " << r.states.size() << " states, " << r.lexicon.words.size()
        << " words, " << r.index.refs.size() << " patterns: ok";
    return out.str();
}

std::string version(const RuleSet& r) { return r.version; }

}  // namespace backtalk
