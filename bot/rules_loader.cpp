// Reads rules/<locale>/*.json, reports every mistake with its file and JSON
// path, and compiles the knowledge into an immutable RuleSet: the run, typed
// JSON access and conditions (the other loaders: rules_loader.hpp).
#include "bot/rules_loader.hpp"

#include "bot/engine.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace backtalk {

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

namespace rules_loader {
namespace {

const char* const rule_files[] = {"meta.json",   "lexicon.json", "context.json",   "topics.json", "facts.json",
                                  "intents.json", "definitions.json", "triage.json", "causes.json", "stretches.json",
                                  "texts.json",  "flow.json", "real_words.json"};

}  // namespace

RuleLoad Loader::run() {
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

void Loader::error(const std::string& path, const std::string& message) {
    errors_.push_back({label_.empty() ? file_ : label_ + "/" + file_, path, message});
}

std::string Loader::join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

std::string Loader::at(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

json Loader::parse(const std::string& text) {
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

const json* Loader::field(const json& object, const std::string& path, const char* key, json::value_t type, bool required) {
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

const char* Loader::type_name(json::value_t type) {
    switch (type) {
        case json::value_t::object: return "an object";
        case json::value_t::array: return "an array";
        case json::value_t::string: return "a string";
        case json::value_t::boolean: return "true or false";
        case json::value_t::number_integer: return "an integer";
        default: return "a number";
    }
}

std::string Loader::text_of(const json& object, const std::string& path, const char* key, bool required) {
    const json* v = field(object, path, key, json::value_t::string, required);
    if (v && required && v->get_ref<const std::string&>().empty()) error(join(path, key), "must not be empty");
    return v ? v->get<std::string>() : std::string();
}

void Loader::only_fields(const json& object, const std::string& path, const std::vector<std::string>& known) {
    if (!object.is_object()) return;
    for (const auto& [key, value] : object.items()) {
        if (std::find(known.begin(), known.end(), key) == known.end()) error(join(path, key), "unknown field");
    }
}

std::vector<std::string> Loader::strings_of(const json& object, const std::string& path, const char* key, bool required) {
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

std::vector<SlotAssignment> Loader::implies_of(const json& object, const std::string& path) {
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

std::optional<Condition> Loader::condition_of(const json& node, const std::string& path, int depth) {
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

std::vector<QuickReply> Loader::quick_replies(const json& list, const std::string& path) {
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

void Loader::close_unasked(Condition& c, const RuleSet& r) {
    if (!c.slot.empty() && !r.topic(c.slot)) c.closed = true;
    for (auto& child : c.children) close_unasked(child, r);
}

void Loader::check_conditions(const RuleSet& r) {
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

std::string Loader::content_hash() const {
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

}  // namespace rules_loader

RuleLoad compile_rules(const std::map<std::string, std::string>& files, const std::string& label) {
    return rules_loader::Loader(files, label).run();
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
