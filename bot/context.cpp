#include "bot/context.hpp"

#include "bot/ruleset.hpp"
#include "bot/text.hpp"

#include <algorithm>
#include <optional>

namespace backtalk {

namespace {

using Boundary = Token::Boundary;

struct Found {
    int start = 0;
    int end = 0;  // one past the last token
    const ContextTrigger* trigger = nullptr;
};

// The longest trigger (or pseudo-trigger) at token i, within one sentence.
std::optional<Found> trigger_at(const Lexicon& lexicon, const std::vector<Token>& tokens, std::size_t i) {
    const auto it = lexicon.context.by_first_word.find(tokens[i].id);
    if (tokens[i].id == unknown_word || it == lexicon.context.by_first_word.end()) return std::nullopt;
    std::optional<Found> best;
    for (int index : it->second) {
        const ContextTrigger& trigger = lexicon.context.triggers[static_cast<std::size_t>(index)];
        std::size_t pos = i;
        bool ok = true;
        for (const Term& term : trigger.terms) {
            if (pos >= tokens.size() || (pos > i && tokens[pos].before == Boundary::hard)) {
                ok = false;
                break;
            }
            const int length = term_length(lexicon, term, tokens, pos);
            if (length == 0) {
                ok = false;
                break;
            }
            pos += static_cast<std::size_t>(length);
        }
        if (ok && (!best || static_cast<int>(pos) > best->end)) best = Found{static_cast<int>(i), static_cast<int>(pos), &trigger};
    }
    return best;
}

class ScopeReader {
public:
    ScopeReader(const Lexicon& lexicon, Normalised& message)
        : lexicon_(lexicon), rules_(lexicon.context), m_(message), tokens_(message.tokens) {}

    void run() {
        std::vector<Found> found;
        for (std::size_t i = 0; i < tokens_.size();) {
            const auto f = trigger_at(lexicon_, tokens_, i);
            if (!f) {
                ++i;
                continue;
            }
            if (!f->trigger->pseudo) {
                tokens_[static_cast<std::size_t>(f->start)].triggers |= bit(f->trigger->kind);
                found.push_back(*f);
            }
            i = static_cast<std::size_t>(f->end);
        }
        for (const Found& f : found) apply(f);
        mark_question_marks();
    }

private:
    const Lexicon& lexicon_;
    const ContextRules& rules_;
    Normalised& m_;
    std::vector<Token>& tokens_;

    void cover(std::size_t at, Context kind, int trigger) {
        int& slot = tokens_[at].scope_of[static_cast<std::size_t>(kind)];
        slot = trigger;
    }
    void cover_if_free(std::size_t at, Context kind, int trigger) {
        int& slot = tokens_[at].scope_of[static_cast<std::size_t>(kind)];
        if (slot < 0) slot = trigger;
    }

    // Tokens from `start` to the next boundary or joiner: a list item's length.
    std::size_t item_length(std::size_t start) const {
        std::size_t k = start;
        while (k < tokens_.size() && (k == start || (tokens_[k].before == Boundary::none && !rules_.list_joiners.count(tokens_[k].id)))) ++k;
        return k - start;
    }

    bool opens_segment(int at) const {
        return at == 0 || tokens_[static_cast<std::size_t>(at)].before != Boundary::none;
    }

    void apply(const Found& f) {
        const Context kind = f.trigger->kind;
        const ContextKindRules& kr = rules_.kinds[static_cast<std::size_t>(kind)];
        const std::size_t n = tokens_.size();
        if (f.trigger->forward) {
            // A pattern may start inside a trigger: "had a fall" in "not had a fall".
            for (int j = f.start + 1; j < f.end; ++j) cover(static_cast<std::size_t>(j), kind, f.start);
            for (std::size_t j = static_cast<std::size_t>(f.end); j < n; ++j) {
                const Token& t = tokens_[j];
                if (kr.ended_by.count(t.id) || t.before == Boundary::hard) break;
                const bool joiner = rules_.list_joiners.count(t.id) > 0;
                if ((t.before == Boundary::soft || joiner) && !kr.sentence_scope) {
                    // A bare "no," is an answer: it reads nothing after the comma.
                    const bool bare = j == static_cast<std::size_t>(f.end) && opens_segment(f.start);
                    if (bare || !kr.lists) break;
                    const std::size_t item = joiner ? j + 1 : j;
                    const bool continues = t.text == "or" || t.text == "nor" || (item < n && item_length(item) <= 2);
                    if (!continues) break;
                }
                cover(j, kind, f.start);
            }
        }
        if (f.trigger->backward) {
            for (std::size_t j = static_cast<std::size_t>(f.start); j-- > 0;) {
                // A trigger that opens with a terminator ("only my dad") still
                // reaches back across the boundary its own first word makes.
                const bool own_terminator =
                    j + 1 == static_cast<std::size_t>(f.start) && rules_.terminators.count(tokens_[j + 1].id) > 0;
                const Boundary after = own_terminator ? Boundary::none : tokens_[j + 1].before;
                if (after == Boundary::hard || (after == Boundary::soft && !kr.sentence_scope)) break;
                cover_if_free(j, kind, f.start);
            }
        }
        // "Fever? No." "Numb down there? probably nothing": a trigger that is
        // its whole sentence answers the question just before it.
        const auto sentence = tokens_[static_cast<std::size_t>(f.start)].sentence;
        const bool whole_sentence = (f.start == 0 || tokens_[static_cast<std::size_t>(f.start)].before == Boundary::hard) &&
                                    (static_cast<std::size_t>(f.end) == n || tokens_[static_cast<std::size_t>(f.end)].before == Boundary::hard);
        if (whole_sentence && sentence > 0 && m_.asked[static_cast<std::size_t>(sentence - 1)]) {
            for (std::size_t j = static_cast<std::size_t>(f.start); j-- > 0 && tokens_[j].sentence == sentence - 1;) cover(j, kind, f.start);
        }
    }

    // The last clause of a sentence ending in "?" is a question when a
    // question word opens it ("..., is that bad?"), otherwise a statement
    // said with doubt ("a bit numb down there?").
    void mark_question_marks() {
        for (std::size_t i = 0; i < tokens_.size(); ++i) {
            const auto sentence = static_cast<std::size_t>(tokens_[i].sentence);
            if (sentence >= m_.asked.size() || !m_.asked[sentence]) continue;
            const bool last_clause = std::none_of(tokens_.begin() + static_cast<std::ptrdiff_t>(i) + 1, tokens_.end(), [&](const Token& t) {
                return t.sentence == tokens_[i].sentence && t.segment != tokens_[i].segment;
            });
            if (!last_clause) continue;
            std::size_t first = i;
            while (first > 0 && tokens_[first - 1].segment == tokens_[i].segment) --first;
            const Context kind = rules_.question_openers.count(tokens_[first].id) ? Context::question : Context::uncertain;
            cover_if_free(i, kind, static_cast<int>(first));
        }
    }
};

}  // namespace

void read_context(const Lexicon& lexicon, Normalised& message) {
    ScopeReader(lexicon, message).run();
}

}  // namespace backtalk
