// The words of the rules: meta.json, lexicon.json, context.json, every
// pattern compiled, and the indexes the matcher uses.
#include "bot/rules_loader.hpp"

#include "bot/engine.hpp"

#include <algorithm>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace backtalk::rules_loader {

void Loader::load_meta(RuleSet& r, const json& doc) {
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

WordId Loader::add_word(Lexicon& lex, const std::string& word) {
    if (const auto it = lex.ids.find(word); it != lex.ids.end()) return it->second;
    const auto id = static_cast<WordId>(lex.words.size());
    lex.words.push_back(word);
    lex.ids.emplace(word, id);
    return id;
}

std::set<WordId> Loader::word_set(Lexicon& lex, const json& doc, const char* key) {
    std::set<WordId> out;
    for (const auto& w : strings_of(doc, "", key)) out.insert(add_word(lex, w));
    return out;
}

void Loader::load_lexicon(RuleSet& r, const json& doc) {
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

void Loader::collect_pattern_words(RuleSet& r, const std::map<std::string, json>& docs) {
    const std::function<void(const json&, const std::string&)> walk = [&](const json& node, const std::string& key) {
        if (node.is_object()) {
            for (const auto& [k, v] : node.items()) walk(v, k);
        } else if (node.is_array()) {
            for (const auto& v : node) walk(v, key);
        } else if (node.is_string() && (key == "detect" || key == "deny" || key == "lookalikes" || key == "detect_when_asked" || key == "detect_vague" || key == "deny_when_asked" || key == "patterns" || key == "yes" ||
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

std::optional<Pattern> Loader::compile_pattern(RuleSet& r, const std::string& path, const std::string& source) {
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

std::vector<Pattern> Loader::patterns_of(RuleSet& r, const json& object, const std::string& path, const char* key) {
    std::vector<Pattern> out;
    const auto sources = strings_of(object, path, key, false);
    for (std::size_t i = 0; i < sources.size(); ++i) {
        if (auto p = compile_pattern(r, at(join(path, key), i), sources[i])) out.push_back(std::move(*p));
    }
    return out;
}

void Loader::load_context(RuleSet& r, const json& doc) {
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

void Loader::build_deletion_index(RuleSet& r) {
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

void Loader::build_pattern_index(RuleSet& r) {
    PatternIndex& index = r.index;
    const auto add = [&](const Pattern& p, PatternOwner owner, std::size_t i, std::size_t sub) {
        index.refs.push_back({&p, owner, static_cast<int>(i), static_cast<int>(sub)});
    };
    for (std::size_t t = 0; t < r.topics.size(); ++t) {
        for (const auto& p : r.topics[t].detect) add(p, PatternOwner::topic_yes, t, 0);
        for (const auto& p : r.topics[t].deny) add(p, PatternOwner::topic_no, t, 0);
        for (const auto& p : r.topics[t].lookalikes) add(p, PatternOwner::topic_lookalike, t, 0);
        for (const auto& p : r.topics[t].explained_by) add(p, PatternOwner::topic_explained, t, 0);
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
        for (const auto& p : r.facts[f].lookalikes) add(p, PatternOwner::fact_lookalike, f, 0);
    }
    for (std::size_t i = 0; i < r.intents.size(); ++i) {
        for (const auto& p : r.intents[i].patterns) add(p, PatternOwner::intent, i, 0);
        for (const auto& p : r.intents[i].lookalikes) add(p, PatternOwner::intent_lookalike, i, 0);
    }
    for (std::size_t k = 0; k < r.answer_kinds.size(); ++k) {
        for (const auto& p : r.answers[r.answer_kinds[k]]) add(p, PatternOwner::answer, k, 0);
    }
    for (const auto& p : r.answer_lookalikes) add(p, PatternOwner::answer_lookalike, 0, 0);
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

}  // namespace backtalk::rules_loader
