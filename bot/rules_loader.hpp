// The rules loader, shared by its files: rules_loader.cpp (the run, JSON
// access, conditions), rules_loader_words.cpp (meta, lexicon, patterns,
// context), rules_loader_knowledge.cpp (topics, facts, intents, definitions,
// causes, triage) and rules_loader_dialogue.cpp (stretches, texts, flow,
// groups). Internal to them: the engine's interface is bot/rules.hpp.
#pragma once

#include "bot/conditions.hpp"
#include "bot/rules.hpp"
#include "bot/ruleset.hpp"
#include "bot/text.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace backtalk::rules_loader {

using nlohmann::json;

// Reads the files of one locale, records every mistake with its file and
// JSON path instead of stopping at the first, and compiles a RuleSet.
class Loader {
public:
    Loader(const std::map<std::string, std::string>& files, std::string label) : files_(files), label_(std::move(label)) {}

    RuleLoad run();

private:
    const std::map<std::string, std::string>& files_;
    std::string label_;
    std::string file_;
    std::vector<RuleError> errors_;
    // Conditions are checked once every slot name is known.
    std::vector<std::tuple<std::string, std::string, Condition*>> conditions_;
    std::set<std::string> slot_names_;

    void error(const std::string& path, const std::string& message);

    static std::string join(const std::string& path, const std::string& key);
    static std::string at(const std::string& path, std::size_t i);

    // Parses JSON with comments, reporting syntax errors and duplicate keys.
    json parse(const std::string& text);

    // Typed field access that records an error instead of throwing.
    const json* field(const json& object, const std::string& path, const char* key, json::value_t type, bool required = true);
    static const char* type_name(json::value_t type);
    std::string text_of(const json& object, const std::string& path, const char* key, bool required = true);
    std::vector<std::string> strings_of(const json& object, const std::string& path, const char* key, bool required = true);
    // A field outside `known` is a mistake (a misspelt "detect_vague" would
    // silently drop its patterns): each is reported.
    void only_fields(const json& object, const std::string& path, const std::vector<std::string>& known);

    void load_meta(RuleSet& r, const json& doc);

    WordId add_word(Lexicon& lex, const std::string& word);

    std::set<WordId> word_set(Lexicon& lex, const json& doc, const char* key);

    void load_lexicon(RuleSet& r, const json& doc);

    // Adds the words of every pattern to the lexicon (see run()).
    void collect_pattern_words(RuleSet& r, const std::map<std::string, json>& docs);

    // "~pain below the knee", "numb*", "# out of 10": words, concepts, prefixes, numbers.
    std::optional<Pattern> compile_pattern(RuleSet& r, const std::string& path, const std::string& source);

    std::vector<Pattern> patterns_of(RuleSet& r, const json& object, const std::string& path, const char* key);

    std::vector<SlotAssignment> implies_of(const json& object, const std::string& path);
    struct ImpliedSlot {
        std::string file, path, slot;
    };
    std::vector<ImpliedSlot> implied_;

    // Deeper nesting is a broken file, not a rule: evaluating it (and loading
    // it) recurses once per level, and a file nested thousands deep would
    // overflow the stack of a server reloading its rules.
    static constexpr int max_condition_depth = 32;

    std::optional<Condition> condition_of(const json& node, const std::string& path, int depth = 1);

    void load_topics(RuleSet& r, const json& doc);

    std::vector<QuickReply> quick_replies(const json& list, const std::string& path);

    // A follow-up asks about a fact, which loads after the topics.
    void check_follow_ups(const RuleSet& r);

    void load_facts(RuleSet& r, const json& doc);

    // "time": the time frames besides now in which a mention counts;
    // "others_count", "conditional_counts": see MentionPolicy.
    MentionPolicy mention_policy(const json& spec, const std::string& path);

    // A red flag is a slot whose "yes" an urgent or emergency rule reads:
    // doubt about it is asked about, never taken as the sign.
    void mark_red_flags(RuleSet& r);

    void load_definitions(RuleSet& r, const json& doc);

    void load_context(RuleSet& r, const json& doc);

    void load_intents(RuleSet& r, const json& doc);

    void load_causes(RuleSet& r, const json& doc);

    void load_triage(RuleSet& r, const json& doc);

    void load_stretches(RuleSet& r, const json& doc);

    // Wording for one cause at one level, <text>_<level>_<cause>
    // ("what_happens_emergency_aortic"), names a known cause.
    void check_cause_texts(const RuleSet& r);

    void check_level_answers(const RuleSet& r);
    void load_texts(RuleSet& r, const json& doc);

    void load_flow(RuleSet& r, const json& doc);

    void load_groups(RuleSet& r, const json& doc);

    // Marks slots that are never asked, so that a missing one reads as "no".
    void close_unasked(Condition& c, const RuleSet& r);

    void check_conditions(const RuleSet& r);

    void build_deletion_index(RuleSet& r);

    void build_pattern_index(RuleSet& r);

    std::string content_hash() const;
};

}  // namespace backtalk::rules_loader
