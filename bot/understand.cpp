#include "bot/understand.hpp"

#include "bot/value_reader.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_set>

namespace backtalk {

namespace {

// Tries the pattern starting at token `start`; fills the hit on success.
bool match_at(const RuleSet& rules, const PatternRef& ref, const std::vector<Token>& tokens, std::size_t start, Hit& hit) {
    const auto& terms = ref.pattern->terms;
    const int segment = tokens[start].segment;
    std::vector<char> consumed;  // positions taken by terms, relative to start
    std::size_t pos = start;
    for (std::size_t k = 0; k < terms.size(); ++k) {
        const std::size_t first = pos;
        const std::size_t last = k == 0 ? start : std::min(tokens.size() - 1, pos + static_cast<std::size_t>(rules.max_gap));
        bool found = false;
        for (std::size_t j = first; j <= last && j < tokens.size(); ++j) {
            if (tokens[j].segment != segment) break;
            const int len = term_length(rules.lexicon, terms[k], tokens, j);
            if (len > 0) {
                if (consumed.size() < j - start + static_cast<std::size_t>(len)) consumed.resize(j - start + static_cast<std::size_t>(len), 0);
                for (int l = 0; l < len; ++l) consumed[j - start + static_cast<std::size_t>(l)] = 1;
                pos = j + static_cast<std::size_t>(len);
                found = true;
                break;
            }
        }
        if (!found) return false;
    }
    hit.ref = &ref;
    hit.start = static_cast<int>(start);
    hit.end = static_cast<int>(pos);
    // The pattern takes the context of its first word: a trigger outside the
    // pattern's own words whose scope covers it, or one inside its span
    // ("pain does not go below the knee"). A pattern that holds its own
    // negation ("no weakness", "did not fall") is not read again by one
    // before it ("no numbness, no weakness").
    ContextSet own = 0;
    ContextSet inside = 0;
    for (std::size_t j = start; j < pos; ++j) {
        if (consumed[j - start]) own |= tokens[j].triggers;
        else inside |= tokens[j].triggers;
    }
    // Only a negation belongs to the pattern that holds it; a hedge the
    // pattern names ("legs feel wobbly") still hedges it.
    ContextSet context = inside | static_cast<ContextSet>(own & ~bit(Context::negated));
    for (std::size_t k = 0; k < context_kinds; ++k) {
        const auto kind = static_cast<Context>(k);
        if (tokens[start].in_scope(kind) && !has(own, kind)) context |= bit(kind);
    }
    hit.context = context;
    hit.negated = has(context, Context::negated);
    return true;
}

// "tearing?": the hit is all its clause says.
bool whole_clause(const Normalised& message, const Hit& hit) {
    const auto& tokens = message.tokens;
    const auto segment = tokens[static_cast<std::size_t>(hit.start)].segment;
    const bool from_start = hit.start == 0 || tokens[static_cast<std::size_t>(hit.start - 1)].segment != segment;
    const bool to_end = static_cast<std::size_t>(hit.end) == tokens.size() || tokens[static_cast<std::size_t>(hit.end)].segment != segment;
    return from_start && to_end;
}

bool overlaps(const Hit& a, const Hit& b) { return a.start < b.end && b.start < a.end; }

int segment_start(const Normalised& message, int at) {
    const int segment = message.tokens[static_cast<std::size_t>(at)].segment;
    while (at > 0 && message.tokens[static_cast<std::size_t>(at - 1)].segment == segment) --at;
    return at;
}

}  // namespace

std::vector<Hit> find_hits(const RuleSet& rules, const Normalised& message) {
    std::vector<Hit> hits;
    const auto& tokens = message.tokens;
    const auto& index = rules.index;
    const auto try_refs = [&](const std::vector<int>& refs, std::size_t i) {
        for (int r : refs) {
            Hit hit;
            if (match_at(rules, index.refs[static_cast<std::size_t>(r)], tokens, i, hit)) hits.push_back(hit);
        }
    };
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i].id != unknown_word) {
            if (const auto it = index.by_first_word.find(tokens[i].id); it != index.by_first_word.end()) try_refs(it->second, i);
        }
        try_refs(index.unanchored, i);
    }
    return hits;
}

double Understanding::confidence() const {
    if (!understood()) return 0.0;
    if (tokens == 0) return 0.0;
    // At least 0.5 once something matched; more when most words were used.
    return std::min(1.0, 0.5 + 0.5 * static_cast<double>(covered) / static_cast<double>(tokens));
}

namespace {

// Tokens of a hit that none of its terms matched (up to max_gap between terms).
int skipped_tokens(const Hit& hit) {
    return std::max(0, hit.end - hit.start - static_cast<int>(hit.ref->pattern->terms.size()));
}

// Whether a hit shares words with an affirmed mention of a sign or fact
// ("I don't fully empty" holds "I do not").
bool inside_a_mention(const std::vector<Hit>& hits, const std::vector<char>& dropped, const Hit& hit) {
    for (std::size_t h = 0; h < hits.size(); ++h) {
        const PatternOwner o = hits[h].ref->owner;
        const bool mention = o == PatternOwner::topic_yes || o == PatternOwner::topic_yes_when_asked ||
                             o == PatternOwner::topic_vague || o == PatternOwner::fact_yes;
        if (mention && !dropped[h] && !hits[h].negated && hits[h].start < hit.end && hit.start < hits[h].end) {
            return true;
        }
    }
    return false;
}

void set_yes_no(Slots& slots, const std::string& slot, bool yes) {
    auto it = slots.find(slot);
    // Within one message, a mention wins over a denial: the cautious reading.
    if (it == slots.end()) {
        slots.emplace(slot, std::string(yes ? "yes" : "no"));
    } else if (yes) {
        it->second = std::string("yes");
    }
}

// What a mention in its context does to its slot.
enum class Use { set, drop, ask, confirm };

Use use_of(const MentionPolicy& policy, ContextSet context, bool about_someone_else) {
    // Someone else's history sets no red flag; "helped a friend move a sofa" still tells how it started.
    if (has(context, Context::other) && policy.red_flag && !policy.others_count && !about_someone_else) return Use::drop;
    for (const Context when : {Context::past, Context::recent}) {
        if (has(context, when) && !(policy.times & bit(when))) return Use::drop;
    }
    if (has(context, Context::hypothetical) || has(context, Context::question)) return policy.red_flag ? Use::ask : Use::drop;
    // "I can't say my legs aren't weak": a denial said with doubt is a
    // hedged report, confirmed by one direct question.
    if (has(context, Context::negated) && has(context, Context::uncertain) && policy.red_flag) return Use::confirm;
    if (has(context, Context::negated)) return Use::set;
    if (has(context, Context::conditional) && !policy.conditional_counts) return Use::drop;
    // "A numb bum if I sit on hard bleachers": a red flag felt only in one
    // situation may be harmless or the start of it; one direct question settles it.
    if (has(context, Context::conditional) && policy.red_flag) return Use::confirm;
    if (has(context, Context::uncertain) && policy.red_flag) return Use::confirm;
    return Use::set;
}

// The policy of the slot a hit sets, or null for intents and answers.
const MentionPolicy* policy_of(const RuleSet& rules, const PatternRef& ref) {
    const auto idx = static_cast<std::size_t>(ref.index);
    switch (ref.owner) {
        case PatternOwner::topic_yes:
        case PatternOwner::topic_yes_when_asked:
        case PatternOwner::topic_vague:
        case PatternOwner::topic_no_when_asked:
        case PatternOwner::topic_no:
        case PatternOwner::topic_explained:
        case PatternOwner::option:
        case PatternOwner::option_no:
            return &rules.topics[idx].mentions;
        case PatternOwner::fact_yes:
        case PatternOwner::fact_no:
            return &rules.facts[idx].mentions;
        default:
            return nullptr;
    }
}

}  // namespace

Understanding understand(const RuleSet& rules, std::string_view text, const Topic* asking, bool about_someone_else) {
    Understanding u;
    const Normalised message = normalise(rules.lexicon, text);
    u.tokens = static_cast<int>(message.tokens.size());
    std::vector<char> used(message.tokens.size(), 0);

    std::vector<Hit> hits = find_hits(rules, message);
    // A denial ("nearly fell", "strength is fine") cancels a mention of the same slot or option that it overlaps
    // or shares a clause with.
    // An explanation that is someone else's or imagined ("my wife is on a
    // diet", "if I were dieting") explains nothing of the person's.
    const auto is_denial = [](const Hit& hit) {
        const PatternOwner o = hit.ref->owner;
        if (o == PatternOwner::topic_explained) {
            return !hit.negated && !has(hit.context, Context::other) && !has(hit.context, Context::hypothetical) &&
                   !has(hit.context, Context::question);
        }
        return (o == PatternOwner::topic_no || o == PatternOwner::fact_no || o == PatternOwner::option_no) && !hit.negated;
    };
    const auto denies = [](PatternOwner denial, PatternOwner mention) {
        return ((denial == PatternOwner::topic_no || denial == PatternOwner::topic_explained) && (mention == PatternOwner::topic_yes || mention == PatternOwner::topic_yes_when_asked ||
                                                          mention == PatternOwner::topic_vague)) ||
               (denial == PatternOwner::fact_no && mention == PatternOwner::fact_yes) ||
               (denial == PatternOwner::option_no && mention == PatternOwner::option);
    };
    std::vector<char> dropped(hits.size(), 0);
    // A lookalike ("tearing up the carpet") cancels the mention it overlaps and says nothing itself.
    const auto is_lookalike = [](const Hit& hit) {
        const PatternOwner o = hit.ref->owner;
        return o == PatternOwner::topic_lookalike || o == PatternOwner::fact_lookalike || o == PatternOwner::intent_lookalike ||
               o == PatternOwner::answer_lookalike;
    };
    for (std::size_t a = 0; a < hits.size(); ++a) {
        if (!is_lookalike(hits[a])) continue;
        const PatternOwner of = hits[a].ref->owner;
        for (std::size_t b = 0; b < hits.size(); ++b) {
            const PatternOwner o = hits[b].ref->owner;
            // An answer's lookalike ("I don't understand" is not "I don't")
            // cancels an answer of any kind.
            if (of == PatternOwner::answer_lookalike) {
                if (o == PatternOwner::answer && overlaps(hits[a], hits[b])) dropped[b] = 1;
                continue;
            }
            const bool mention = of == PatternOwner::fact_lookalike     ? o == PatternOwner::fact_yes
                                 : of == PatternOwner::intent_lookalike ? o == PatternOwner::intent
                                                                        : o == PatternOwner::topic_yes || o == PatternOwner::topic_yes_when_asked ||
                                                                              o == PatternOwner::topic_vague;
            if (mention && hits[b].ref->index == hits[a].ref->index && overlaps(hits[a], hits[b])) dropped[b] = 1;
        }
    }
    // An explanation reaches across its sentence, "but" included ("lost a
    // stone, but that's the diet"); it answers "no" only where it explained
    // a mention away, or to its own question.
    std::vector<char> explained(hits.size(), 0);
    for (std::size_t a = 0; a < hits.size(); ++a) {
        if (!is_denial(hits[a])) continue;
        const bool explanation = hits[a].ref->owner == PatternOwner::topic_explained;
        const Token& denial_at = message.tokens[static_cast<std::size_t>(hits[a].start)];
        for (std::size_t b = 0; b < hits.size(); ++b) {
            const bool same_target = hits[b].ref->index == hits[a].ref->index && hits[b].ref->sub == hits[a].ref->sub &&
                                     denies(hits[a].ref->owner, hits[b].ref->owner);
            const Token& mention_at = message.tokens[static_cast<std::size_t>(hits[b].start)];
            const bool in_scope = explanation ? denial_at.statement == mention_at.statement
                                              : denial_at.segment == mention_at.segment;
            if (same_target && (overlaps(hits[a], hits[b]) || in_scope)) {
                dropped[b] = 1;
                explained[a] = explanation;
            }
        }
    }

    struct AnswerAt {
        int start;
        int end;
        std::string kind;
        int skipped;  // words between its terms
    };
    // At the same place the tightest phrase wins ("not sure really" is "not
    // sure", not "not ... really"), then the longest ("i am not sure").
    const auto better_answer = [](const Hit& hit, const AnswerAt& than) {
        const int skipped = skipped_tokens(hit);
        return skipped != than.skipped ? skipped < than.skipped : hit.end > than.end;
    };
    // Writing for someone else, said in this message or before, or the
    // complaint itself told as someone else's ("my mum slipped and her back
    // hurts"): "she had" is then the person being helped.
    bool own_complaint = false;
    bool others_complaint = false;
    for (std::size_t h = 0; h < hits.size() && !about_someone_else; ++h) {
        const PatternRef& ref = *hits[h].ref;
        if (ref.owner != PatternOwner::fact_yes || hits[h].negated) continue;
        const Fact& fact = rules.facts[static_cast<std::size_t>(ref.index)];
        about_someone_else = fact.id == "for_someone_else";
        if (fact.mentions.complaint) (has(hits[h].context, Context::other) ? others_complaint : own_complaint) = true;
    }
    if (others_complaint && !own_complaint) {
        about_someone_else = true;
        u.slots.emplace("for_someone_else", std::string("yes"));
    }
    std::optional<AnswerAt> earliest_answer;
    std::vector<const Hit*> beside_a_yes;  // follow-up answers said in passing
    for (std::size_t h = 0; h < hits.size(); ++h) {
        if (dropped[h]) continue;
        const Hit& hit = hits[h];
        const PatternRef& ref = *hit.ref;
        const auto idx = static_cast<std::size_t>(ref.index);
        bool counts = true;
        if (ref.owner == PatternOwner::definition) {
            if (has(hit.context, Context::question) || (has(hit.context, Context::uncertain) && whole_clause(message, hit))) {
                const std::string& id = rules.definitions[idx].id;
                if (std::find(u.definitions.begin(), u.definitions.end(), id) == u.definitions.end()) u.definitions.push_back(id);
            }
            continue;
        }
        // A mention the context does not let count sets nothing; a red flag
        // among them is asked about next.
        if (const MentionPolicy* policy = policy_of(rules, ref)) {
            const Use use = use_of(*policy, hit.context, about_someone_else);
            if (use != Use::set) {
                const std::string topic = ref.owner == PatternOwner::fact_yes || ref.owner == PatternOwner::fact_no
                                              ? policy->asked_by
                                              : rules.topics[idx].id;
                if (use == Use::confirm) {
                    const std::string& slot = ref.owner == PatternOwner::fact_yes ? rules.facts[idx].id : rules.topics[idx].id;
                    if ((ref.owner == PatternOwner::fact_yes || ref.owner == PatternOwner::topic_yes ||
                         ref.owner == PatternOwner::topic_vague) &&
                        std::find(u.hedged.begin(), u.hedged.end(), slot) == u.hedged.end()) {
                        u.hedged.push_back(slot);
                    }
                }
                auto& list = use == Use::confirm ? u.to_confirm : u.to_ask;
                const bool denial = ref.owner == PatternOwner::topic_no || ref.owner == PatternOwner::fact_no ||
                                    ref.owner == PatternOwner::option_no;
                if ((use == Use::ask || use == Use::confirm) && !denial && !topic.empty() &&
                    std::find(list.begin(), list.end(), topic) == list.end()) {
                    list.push_back(topic);
                }
                continue;
            }
        }
        switch (ref.owner) {
            case PatternOwner::topic_yes:
                set_yes_no(u.slots, rules.topics[idx].id, !hit.negated);
                break;
            case PatternOwner::topic_yes_when_asked:
                // In passing ("can barely walk for the pain"), it is asked about next.
                if (asking != &rules.topics[idx]) {
                    if (!hit.negated && std::find(u.to_ask.begin(), u.to_ask.end(), rules.topics[idx].id) == u.to_ask.end()) {
                        u.to_ask.push_back(rules.topics[idx].id);
                    }
                    counts = false;
                    break;
                }
                set_yes_no(u.slots, rules.topics[idx].id, !hit.negated);
                break;
            case PatternOwner::topic_vague: {
                // "Not weird at all" denies nothing; in passing, a vague
                // description is confirmed like a hedged one.
                const std::string& id = rules.topics[idx].id;
                if (hit.negated) {
                    counts = false;
                } else if (asking == &rules.topics[idx]) {
                    set_yes_no(u.slots, id, true);
                } else {
                    if (std::find(u.to_confirm.begin(), u.to_confirm.end(), id) == u.to_confirm.end()) u.to_confirm.push_back(id);
                    if (std::find(u.hedged.begin(), u.hedged.end(), id) == u.hedged.end()) u.hedged.push_back(id);
                    counts = false;
                }
                break;
            }
            case PatternOwner::follow_up_yes:
            case PatternOwner::follow_up_no:
                // "Not both" is one leg; "not just the left" says nothing.
                if (ref.owner == PatternOwner::follow_up_no && hit.negated) {
                    counts = false;
                    break;
                }
                // As the answer to this topic, or beside a yes to it in this
                // message ("pins and needles in my right foot"): read once
                // every mention is in. Elsewhere "both" means nothing.
                if (asking == &rules.topics[idx]) {
                    // A yes wins within a message, as for every sign.
                    const bool yes = ref.owner == PatternOwner::follow_up_yes && !hit.negated;
                    u.follow_up_answer = u.follow_up_answer.value_or(false) || yes;
                } else {
                    beside_a_yes.push_back(&hit);
                    counts = false;
                }
                break;
            case PatternOwner::topic_no_when_asked:
                // "Because it hurts" answers the weakness question; in passing
                // it leaves the question to be asked.
                if (hit.negated || asking != &rules.topics[idx]) {
                    counts = false;
                    break;
                }
                set_yes_no(u.slots, rules.topics[idx].id, false);
                break;
            case PatternOwner::topic_explained:
                if (hit.negated || (!explained[h] && asking != &rules.topics[idx])) {
                    counts = false;
                    break;
                }
                set_yes_no(u.slots, rules.topics[idx].id, false);
                break;
            case PatternOwner::topic_no:
                if (hit.negated) {
                    counts = false;
                    break;
                }
                set_yes_no(u.slots, rules.topics[idx].id, false);
                break;
            case PatternOwner::fact_yes:
                set_yes_no(u.slots, rules.facts[idx].id, !hit.negated);
                if (!hit.negated) {
                    for (const auto& implied : rules.facts[idx].implies) u.slots.emplace(implied.slot, implied.value);
                }
                break;
            case PatternOwner::option_no:
                counts = !hit.negated;
                break;
            case PatternOwner::fact_no:
                if (hit.negated) {
                    counts = false;
                    break;
                }
                set_yes_no(u.slots, rules.facts[idx].id, false);
                break;
            case PatternOwner::option: {
                if (hit.negated) {
                    counts = false;
                    break;
                }
                const Topic& topic = rules.topics[idx];
                const Option& option = topic.options[static_cast<std::size_t>(ref.sub)];
                // Number topics' options (pain words) only answer when asked.
                if (topic.kind == TopicKind::number) {
                    if (asking != &topic || !option.value) {
                        counts = false;
                        break;
                    }
                    u.slots.emplace(topic.id, *option.value);
                } else {
                    u.slots.emplace(topic.id, option.id);
                }
                for (const auto& implied : option.implies) u.slots.emplace(implied.slot, implied.value);
                break;
            }
            case PatternOwner::intent:
                // "I don't want stretches" asks for nothing; "so I don't need
                // a scan?" is still a question about scans.
                if (hit.negated && !(has(hit.context, Context::question) && !rules.intents[idx].level_answers.empty())) {
                    counts = false;
                    break;
                }
                {
                    const Intent& intent = rules.intents[idx];
                    if (intent.max_tokens > 0 && u.tokens > intent.max_tokens) {
                        counts = false;
                        break;
                    }
                    if (std::find(u.intents.begin(), u.intents.end(), intent.id) == u.intents.end()) u.intents.push_back(intent.id);
                }
                break;
            case PatternOwner::definition:
            case PatternOwner::topic_lookalike:
            case PatternOwner::fact_lookalike:
            case PatternOwner::intent_lookalike:
            case PatternOwner::answer_lookalike:
                break;
            case PatternOwner::answer:
                if (has(hit.context, Context::question)) {
                    counts = false;
                    break;
                }
                // A plain answer opens its clause ("no, just sore", "well, yes"):
                // "what stretches can I do?" holds no "I do". The first answer
                // phrase wins; at the same place the longest ("i am not sure").
                // An answer phrase inside a sign's own words ("like I don't
                // fully empty") is part of that sign, not a "no".
                if (hit.start - segment_start(message, hit.start) > 1 || inside_a_mention(hits, dropped, hit)) {
                    counts = false;
                    break;
                }
                if (!earliest_answer || hit.start < earliest_answer->start ||
                    (hit.start == earliest_answer->start && better_answer(hit, *earliest_answer))) {
                    earliest_answer = AnswerAt{hit.start, hit.end, rules.answer_kinds[idx], skipped_tokens(hit)};
                }
                break;
        }
        if (counts) {
            for (int k = hit.start; k < hit.end; ++k) used[static_cast<std::size_t>(k)] = 1;
        }
    }
    for (const Hit* hit : beside_a_yes) {
        const Topic& topic = rules.topics[static_cast<std::size_t>(hit->ref->index)];
        const auto sign = u.slots.find(topic.id);
        if (sign != u.slots.end() && sign->second == SlotValue{std::string("yes")}) {
            set_yes_no(u.slots, topic.follow_up_fact, hit->ref->owner == PatternOwner::follow_up_yes && !hit->negated);
        }
    }
    if (earliest_answer) u.answer = earliest_answer->kind;
    u.question = std::any_of(message.tokens.begin(), message.tokens.end(), [](const Token& t) { return t.in_scope(Context::question); });

    // A number beats a word for the asked number: "5 most days, 7 on a bad
    // day" is 5, not "bad"; the word answers only when no number does.
    std::optional<SlotValue> worded_number;
    if (asking && asking->kind == TopicKind::number) {
        if (const auto it = u.slots.find(asking->id); it != u.slots.end()) {
            worded_number = it->second;
            u.slots.erase(it);
        }
    }
    ValueReader reader{rules.lexicon, message.tokens, used};
    if (const auto t = reader.temperature_celsius()) u.slots["temperature"] = *t;
    const auto writer = u.slots.find("for_someone_else");
    const bool writing_for = about_someone_else || (writer != u.slots.end() && writer->second == SlotValue{std::string("yes")});
    if (const auto age = reader.stated_age(writing_for, !(asking && asking->kind == TopicKind::number))) u.slots["age"] = *age;
    if (const auto score = reader.stated_score()) u.slots["pain_score"] = *score;
    if (const auto days = reader.duration_days(writing_for)) u.slots["duration"] = *days;

    if (asking && asking->kind == TopicKind::number && !u.slots.count(asking->id)) {
        switch (asking->number_kind) {
            case NumberKind::years:
                if (const auto n = reader.bare_number(1, 120)) u.slots[asking->id] = *n;
                break;
            case NumberKind::score:
                if (const auto n = reader.bare_number(0, 10, /*lowest=*/true)) u.slots[asking->id] = *n;
                break;
            case NumberKind::days:
                break;  // a bare number is not a duration: "3" what?
        }
        if (worded_number && !u.slots.count(asking->id)) u.slots.emplace(asking->id, *worded_number);
    }
    if (asking) u.answered_asked = u.slots.count(asking->id) > 0;

    for (char c : used) u.covered += c ? 1 : 0;
    return u;
}

}  // namespace backtalk
