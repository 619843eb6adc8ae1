// The compiled, immutable rule set. Internal to the engine: channels only
// hold a std::shared_ptr<const RuleSet> and call the functions in rules.hpp.
#pragma once

#include "bot/context.hpp"
#include "bot/pattern.hpp"
#include "bot/reply.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace backtalk {

// A boolean expression over slots, evaluated in three-valued logic so the
// dialogue can tell "false" from "not known yet".
struct Condition {
    enum class Op { all, any, negate, yes, no, is, at_least, below, known };
    Op op = Op::all;
    std::vector<Condition> children;
    std::string slot;
    std::string text;    // for is
    double number = 0;   // for at_least and below
    bool closed = false; // the slot is never asked (a fact): missing means "no"
};

enum class TopicKind { yes_no, number, choice };
enum class NumberKind { years, days, score };

struct SlotAssignment {
    std::string slot;
    std::string value;
};

struct Option {
    std::string id;
    std::string title;
    std::vector<Pattern> detect;
    std::vector<Pattern> deny;             // phrases that cancel a mention ("exercise helps")
    std::optional<double> value;           // for number topics' quick replies
    std::vector<SlotAssignment> implies;   // other slots this choice answers
};

// Which mentions of a slot count, by their context (context.hpp).
struct MentionPolicy {
    bool red_flag = false;            // a "yes" of an urgent or emergency rule (derived by the loader)
    bool others_count = false;        // someone else's counts: a family history (NICE NG65)
    bool conditional_counts = true;   // "dizzy when I stand up quickly" is not faintness with the pain
    ContextSet times = bit(Context::recent) | bit(Context::past);  // besides now
    std::string asked_by;             // the topic that asks about it (a fact's); a topic asks itself
    bool complaint = false;           // the back pain itself: someone else's means the message is about them
};

struct Topic {
    std::string id;
    TopicKind kind = TopicKind::yes_no;
    NumberKind number_kind = NumberKind::days;
    bool safety = false;  // an unclear answer is asked again, then taken as "yes"
    std::string question;
    std::vector<std::string> reprompts;
    std::vector<Pattern> detect;  // yes_no: the symptom mentioned (negation gives "no")
    std::vector<Pattern> deny;    // yes_no: phrases that mean "no" without a negation word
    // Phrases that look like the sign but are about something else ("tearing
    // up the carpet", "fell asleep"): they cancel a mention they overlap and
    // answer nothing, so the question is still asked.
    std::vector<Pattern> lookalikes;
    // Reasons that make a mention in their sentence not the sign ("lost a
    // stone, but I've been dieting"): they cancel it and answer "no"; alone
    // they answer only this topic's question.
    std::vector<Pattern> explained_by;
    std::vector<Pattern> detect_when_asked;  // yes_no: "yes" only as the answer to this question
    std::vector<Pattern> detect_vague;       // yes_no: a vague description, confirmed with a direct question
    std::vector<Pattern> deny_when_asked;    // yes_no: "no" only as the answer to this question ("it's the pain")
    // After a yes, one more question for a fact the yes leaves open ("Is it
    // in both legs?"), asked as this topic; its yes or no is the fact's.
    std::string follow_up_fact;
    std::string follow_up_question;
    std::string follow_up_reprompt;  // asked again in other words
    bool follow_up_yes_is_no = false;   // "Is it just one leg?": a plain yes makes the fact no
    std::vector<Pattern> follow_up_yes;  // as the answer to this topic: the fact is yes ("both", "the two")
    std::vector<Pattern> follow_up_no;   // ... or no ("just the left one")
    std::vector<Option> options;  // choice and number topics
    std::optional<Condition> ask_if;
    MentionPolicy mentions;
    std::string title;      // as one item of a grouped question
    std::string label;      // as a button of "which one?" after a yes to its group
    std::string why;        // one line: why the bot asks this
    std::string counts;     // what counts as a yes (does an old one count?); may be empty
    std::string unanswered; // a safety question left unanswered: what to do if the sign is there
};

// Several yes/no topics asked as one question ("Do you have any of these?").
struct Group {
    std::string id;
    std::string intro;
    std::string why;
    std::vector<std::string> covers;  // topic ids, in the order they are listed and asked one at a time
};

struct Fact {
    std::string id;
    std::string title;  // how the bot names it when checking a correction
    std::vector<Pattern> detect;
    std::vector<Pattern> deny;
    std::vector<Pattern> lookalikes;  // as a topic's
    std::vector<SlotAssignment> implies;
    MentionPolicy mentions;
};

// A plain definition of a word a question or an outcome uses, given when
// someone asks what it means.
struct Definition {
    std::string id;
    std::vector<Pattern> detect;
    std::string text;
};

struct Intent {
    std::string id;
    std::vector<Pattern> patterns;
    std::vector<Pattern> lookalikes;  // "how am I meant to" is not "I meant"
    int max_tokens = 0;  // 0: any length; otherwise only in short messages
    // A question back answered in the words of the advice's level, from the
    // texts.json families named here, the first that has words for the
    // level: "<family>_<level>" (or "<family>_during" before the advice),
    // else "<family>". Empty: not answered by level. ("answered_by_level":
    // true names the intent's own family; a list names others, as "what if
    // it gets worse?" falls back on the safety net.)
    std::vector<std::string> level_answers;
};

struct TriageRule {
    std::string id;      // EM-1 ... SC-5
    std::string source;  // NICE NG59, NHS ...
    Level level = Level::self_care;
    std::string cause;   // empty: raises the level, reasons come from the other rules
    Condition when;
    std::set<std::string> slots;  // the slots `when` reads (filled by the loader)
};

struct Cause {
    std::string id;
    std::string title;
    std::string explanation;
    std::string advice;
};

struct State {
    enum class Kind { greeting, questions, outcome, stretches, ended };
    std::string id;
    Kind kind = Kind::questions;
    std::vector<std::string> questions;  // topic ids, for questions states
    std::string next;
    std::optional<Level> narrow_from;    // at this level or above, ask only what could raise it
};

struct StretchPlan {
    std::string intro;
    std::string note;
    std::vector<Step> steps;
    // Per step: shown only when this holds (the cool-down after exercise).
    std::vector<std::optional<Condition>> step_when;
};

struct Lexicon {
    std::vector<std::string> words;  // WordId -> text
    std::unordered_map<std::string, WordId> ids;
    // Deletion index for typo tolerance: a word with one or two letters removed -> candidates.
    std::unordered_map<std::string, std::vector<WordId>> deletions;
    std::vector<std::vector<std::vector<WordId>>> concepts;  // concept -> phrases
    std::vector<std::string> concept_names;
    std::unordered_map<WordId, std::vector<int>> concepts_of_word;  // single-word members
    std::unordered_map<std::string, std::vector<std::string>> contractions;
    ContextRules context;  // rules/<locale>/context.json
    // Real words near a rule word (rules/<locale>/real_words.json): never mended into it.
    std::unordered_set<std::string> real_words;
    std::unordered_map<std::string, double> number_words;
    std::unordered_map<std::string, double> unit_days;
    std::unordered_map<std::string, double> relative_days;  // "yesterday" -> 1
    std::unordered_set<std::string> age_words;     // "aged", "age": an age follows
    std::unordered_set<std::string> age_subjects;  // "i", "she", "mum": "she is 81" is an age
    std::unordered_set<std::string> age_sex_markers;  // "46m", "f34": an age beside a sex
    std::unordered_set<std::string> age_possessives;  // "my 2 year old": someone else's age
    // Words that make a number and unit in their clause something other than
    // how long the pain has lasted ("had cancer 4 years ago").
    std::unordered_set<std::string> duration_blockers;
    // Words that tie a number and unit to the pain ("done my back in 4 weeks
    // ago at work"): the nearer of an anchor and a blocker decides.
    std::unordered_set<std::string> duration_anchors;
    std::unordered_set<std::string> frequency_words;  // "every day", "some days": how often, not how long
    // Stems of prefix patterns ("shoot*"): a word that starts with one is
    // left as it is, not mended into another word.
    std::vector<std::string> prefixes;

    WordId find(const std::string& word) const {
        const auto it = ids.find(word);
        return it == ids.end() ? unknown_word : it->second;
    }
};

// Who a pattern belongs to, so a hit can be applied.
enum class PatternOwner { topic_yes, topic_yes_when_asked, topic_vague, topic_no, topic_explained, topic_lookalike, topic_no_when_asked, follow_up_yes, follow_up_no, option, option_no, fact_yes, fact_no, fact_lookalike, intent, intent_lookalike, answer, answer_lookalike, definition };

struct PatternRef {
    const Pattern* pattern = nullptr;
    PatternOwner owner = PatternOwner::topic_yes;
    int index = 0;  // topic, fact, intent or answer-kind index
    int sub = 0;    // option index
};

// Patterns indexed by what their first term can match, so a message is only
// tried against patterns that can start at one of its words.
struct PatternIndex {
    std::vector<PatternRef> refs;
    std::unordered_map<WordId, std::vector<int>> by_first_word;
    std::vector<int> unanchored;  // first term is a prefix or a number
};

class RuleSet {
public:
    std::string locale;
    std::string version;
    std::string default_emergency_number;
    Lexicon lexicon;
    int max_gap = 3;

    std::vector<Topic> topics;
    std::unordered_map<std::string, std::size_t> topic_index;
    std::vector<Fact> facts;
    std::vector<Intent> intents;
    std::vector<Definition> definitions;
    std::map<std::string, std::vector<Pattern>> answers;  // yes / no / unsure
    // Words that hold an answer's words but are no answer ("I don't
    // understand", "ok fine, so ..."): they cancel the answer they overlap.
    std::vector<Pattern> answer_lookalikes;
    std::vector<QuickReply> yes_no_replies;
    std::vector<TriageRule> triage_rules;
    std::unordered_map<std::string, Cause> causes;
    std::vector<State> states;
    std::vector<Group> groups;
    std::vector<QuickReply> group_replies;
    std::vector<QuickReply> which_replies;  // beside the signs' own buttons in "which one?"
    std::unordered_map<std::string, std::size_t> state_index;
    std::string start_state;
    std::unordered_map<std::string, std::string> texts;
    std::unordered_map<std::string, std::vector<QuickReply>> menus;
    StretchPlan stretches;
    std::vector<std::string> answer_kinds;  // index -> "yes", "no", "unsure"
    PatternIndex index;

    const Topic* topic(const std::string& id) const {
        const auto it = topic_index.find(id);
        return it == topic_index.end() ? nullptr : &topics[it->second];
    }
    const Intent* intent(const std::string& id) const {
        for (const Intent& i : intents) {
            if (i.id == id) return &i;
        }
        return nullptr;
    }
    const Group* group(const std::string& id) const {
        for (const Group& g : groups) {
            if (g.id == id) return &g;
        }
        return nullptr;
    }
    const State* state(const std::string& id) const {
        const auto it = state_index.find(id);
        return it == state_index.end() ? nullptr : &states[it->second];
    }
    const std::string& text(const std::string& key) const;  // throws on a missing key (validated at load)
};

}  // namespace backtalk
