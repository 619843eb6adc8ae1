#include "bot/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

namespace backtalk {

namespace {

bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

using Boundary = Token::Boundary;

struct RawToken {
    std::string text;
    Boundary before = Boundary::none;
    bool after_question_mark = false;  // the sentence before this word ended with "?"
};

struct Split {
    std::vector<RawToken> words;
    bool ends_with_question_mark = false;
};

// Splits text into raw words, marking punctuation boundaries. Digits and
// letters are split apart ("10k" -> "10" "k", "2am" -> "2" "am") but a
// decimal point inside a number is kept ("38.9").
Split split(std::string_view input) {
    std::string text;
    text.reserve(input.size());
    for (std::size_t i = 0; i < input.size(); ++i) {
        // Typographic apostrophes (U+2018, U+2019) become ASCII ones.
        if (input.compare(i, 3, "\xE2\x80\x99") == 0 || input.compare(i, 3, "\xE2\x80\x98") == 0) {
            text.push_back('\'');
            i += 2;
            continue;
        }
        text.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(input[i]))));
    }

    std::vector<RawToken> out;
    Boundary pending = Boundary::none;
    bool question_mark = false;
    std::size_t i = 0;
    while (i < text.size()) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (is_word_byte(c)) {
            const bool digit = std::isdigit(c) != 0;
            std::size_t j = i;
            while (j < text.size()) {
                const unsigned char d = static_cast<unsigned char>(text[j]);
                if (digit) {
                    if (std::isdigit(d)) { ++j; continue; }
                    if (d == '.' && j + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[j + 1]))) { ++j; continue; }
                    break;
                }
                if (std::isdigit(d)) break;
                if (is_word_byte(d)) { ++j; continue; }
                // An apostrophe inside a word belongs to it (don't, it's).
                if (d == '\'' && j + 1 < text.size() && std::isalpha(static_cast<unsigned char>(text[j + 1]))) { ++j; continue; }
                break;
            }
            out.push_back({text.substr(i, j - i), pending, question_mark});
            pending = Boundary::none;
            question_mark = false;
            i = j;
            continue;
        }
        switch (c) {
            case '?':
                pending = Boundary::hard;
                question_mark = true;
                break;
            case '.': case '!': case ';': case ':': case '(': case ')': case '\n':
                pending = Boundary::hard;
                break;
            case ',':
                if (pending == Boundary::none) pending = Boundary::soft;
                break;
            case '/':
                out.push_back({"/", pending, question_mark});
                pending = Boundary::none;
                question_mark = false;
                break;
            default:
                break;
        }
        ++i;
    }
    return {std::move(out), question_mark};
}

std::vector<std::string> expand(const Lexicon& lexicon, const std::string& word) {
    if (const auto it = lexicon.contractions.find(word); it != lexicon.contractions.end()) return it->second;
    const auto apostrophe = word.find('\'');
    if (apostrophe == std::string::npos) return {word};
    const std::string stem = word.substr(0, apostrophe);
    const std::string tail = word.substr(apostrophe + 1);
    if (tail == "t" && stem.size() > 1 && stem.back() == 'n') return {stem.substr(0, stem.size() - 1), "not"};
    if (tail == "ve") return {stem, "have"};
    if (tail == "re") return {stem, "are"};
    if (tail == "ll") return {stem, "will"};
    if (tail == "d") return {stem, "would"};
    if (tail == "m") return {stem, "am"};
    return {stem};  // possessive 's and anything else: keep the word itself
}

bool alphabetic(const std::string& word) {
    return std::all_of(word.begin(), word.end(), [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)); });
}

// Finds the lexicon word a misspelling most likely meant, or unknown_word.
// A word a prefix pattern reads as it is ("shoot*" for "shooting").
bool has_pattern_prefix(const Lexicon& lexicon, const std::string& word) {
    for (const auto& prefix : lexicon.prefixes) {
        if (word.size() >= prefix.size() && word.compare(0, prefix.size(), prefix) == 0) return true;
    }
    return false;
}

// An inflected form of a known word ("stiffening", "aches") is more likely
// meant as itself than as a word two edits away.
bool inflection_of_known(const Lexicon& lexicon, const std::string& word) {
    for (const char* suffix : {"s", "es", "ed", "d", "ing", "ly", "er", "ers"}) {
        const std::string_view end(suffix);
        if (word.size() <= end.size() + 2 || word.compare(word.size() - end.size(), end.size(), end) != 0) continue;
        const std::string stem = word.substr(0, word.size() - end.size());
        if (lexicon.ids.count(stem) || lexicon.ids.count(stem + "e")) return true;
        // "dragging", "slapped": a doubled final consonant.
        if (stem.size() >= 3 && stem[stem.size() - 1] == stem[stem.size() - 2] && lexicon.ids.count(stem.substr(0, stem.size() - 1))) return true;
    }
    return false;
}

WordId correct(const Lexicon& lexicon, const std::string& word) {
    if (word.size() < 4 || !alphabetic(word) || has_pattern_prefix(lexicon, word) || lexicon.real_words.count(word)) return unknown_word;
    const int allowed = word.size() >= 8 ? 2 : 1;
    WordId best = unknown_word;
    int best_distance = allowed + 1;
    // Among equally close words, the one closest in length, then the first
    // alphabetically, so the choice is deterministic ("sciatia" -> "sciatic").
    const auto better = [&](WordId candidate, int d) {
        if (d != best_distance) return d < best_distance;
        const std::string& a = lexicon.words[static_cast<std::size_t>(candidate)];
        const std::string& b = lexicon.words[static_cast<std::size_t>(best)];
        const auto gap = [&](const std::string& w) { return w.size() > word.size() ? w.size() - word.size() : word.size() - w.size(); };
        if (gap(a) != gap(b)) return gap(a) < gap(b);
        return a < b;
    };
    const auto consider = [&](WordId candidate) {
        const std::string& target = lexicon.words[static_cast<std::size_t>(candidate)];
        // Typos rarely change the first letter; requiring it keeps "dumb" from becoming "numb".
        if (target.empty() || target[0] != word[0]) return;
        const int limit = std::min(allowed, target.size() >= 8 ? 2 : 1);
        const int d = edit_distance(word, target, limit);
        if (d > limit) return;
        if (best == unknown_word || better(candidate, d)) {
            best = candidate;
            best_distance = d;
        }
    };
    const auto lookup = [&](const std::string& key) {
        if (const auto it = lexicon.ids.find(key); it != lexicon.ids.end()) consider(it->second);
        if (const auto it = lexicon.deletions.find(key); it != lexicon.deletions.end()) {
            for (WordId candidate : it->second) consider(candidate);
        }
    };
    lookup(word);
    std::string deleted;
    for (std::size_t i = 0; i < word.size(); ++i) {
        deleted = word;
        deleted.erase(i, 1);
        lookup(deleted);
        if (allowed >= 2) {
            for (std::size_t k = i; k < deleted.size(); ++k) {
                std::string twice = deleted;
                twice.erase(k, 1);
                lookup(twice);
            }
        }
    }
    if (best_distance >= 2 && inflection_of_known(lexicon, word)) return unknown_word;
    return best;
}

}  // namespace

int edit_distance(std::string_view a, std::string_view b, int cap) {
    const std::size_t n = a.size(), m = b.size();
    if (static_cast<int>(n > m ? n - m : m - n) > cap) return cap + 1;
    std::vector<int> prev2(m + 1), prev(m + 1), cur(m + 1);
    for (std::size_t j = 0; j <= m; ++j) prev[j] = static_cast<int>(j);
    for (std::size_t i = 1; i <= n; ++i) {
        cur[0] = static_cast<int>(i);
        int row_min = cur[0];
        for (std::size_t j = 1; j <= m; ++j) {
            const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                cur[j] = std::min(cur[j], prev2[j - 2] + 1);
            }
            row_min = std::min(row_min, cur[j]);
        }
        if (row_min > cap) return cap + 1;
        std::swap(prev2, prev);
        std::swap(prev, cur);
    }
    return std::min(prev[m], cap + 1);
}

std::vector<std::string> phrase_words(const Lexicon& lexicon, std::string_view phrase) {
    std::vector<std::string> words;
    for (const RawToken& raw : split(phrase).words) {
        for (std::string& w : expand(lexicon, raw.text)) words.push_back(std::move(w));
    }
    return words;
}

Normalised normalise(const Lexicon& lexicon, std::string_view text) {
    Normalised out;
    const Split raw = split(text);
    std::vector<bool> after_question_mark;
    for (const RawToken& r : raw.words) {
        bool first = true;
        for (std::string& w : expand(lexicon, r.text)) {
            Token t;
            t.text = std::move(w);
            if (!t.text.empty() && std::isdigit(static_cast<unsigned char>(t.text[0]))) {
                t.number = std::strtod(t.text.c_str(), nullptr);
                t.has_decimal = t.text.find('.') != std::string::npos;
            } else if (const auto it = lexicon.number_words.find(t.text); it != lexicon.number_words.end()) {
                t.number = it->second;
            }
            t.id = lexicon.find(t.text);
            if (t.id == unknown_word && t.number < 0) {
                t.id = correct(lexicon, t.text);
                if (t.id != unknown_word) {
                    t.text = lexicon.words[static_cast<std::size_t>(t.id)];
                    t.corrected = true;
                }
            }
            t.before = first ? r.before : Boundary::none;
            after_question_mark.push_back(first && r.after_question_mark);
            out.tokens.push_back(std::move(t));
            first = false;
        }
    }

    // Clause segments (between any punctuation) and sentences (between . ! ?
    // ; and terminator words such as "but").
    int segment = 0;
    int sentence = 0;
    int statement = 0;
    for (std::size_t i = 0; i < out.tokens.size(); ++i) {
        Token& t = out.tokens[i];
        if (i > 0 && t.before == Boundary::hard) ++statement;
        t.statement = statement;
        if (lexicon.context.terminators.count(t.id)) t.before = Boundary::hard;
        if (i > 0 && t.before != Boundary::none) ++segment;
        if (i > 0 && t.before == Boundary::hard) {
            out.asked.push_back(after_question_mark[i]);
            ++sentence;
        }
        t.segment = segment;
        t.sentence = sentence;
    }
    out.asked.push_back(raw.ends_with_question_mark);
    out.segments = segment + 1;
    read_context(lexicon, out);
    return out;
}

int term_length(const Lexicon& lexicon, const Term& term, const std::vector<Token>& tokens, std::size_t i) {
    const Token& t = tokens[i];
    switch (term.kind) {
        case Term::Kind::word:
            return t.id == term.id ? 1 : 0;
        case Term::Kind::prefix:
            return t.text.size() >= term.prefix.size() && t.text.compare(0, term.prefix.size(), term.prefix) == 0 ? 1 : 0;
        case Term::Kind::number:
            return t.number >= 0 ? 1 : 0;
        case Term::Kind::synonyms: {
            int best = 0;
            for (const auto& phrase : lexicon.concepts[static_cast<std::size_t>(term.id)]) {
                if (i + phrase.size() > tokens.size()) continue;
                bool ok = true;
                for (std::size_t k = 0; k < phrase.size() && ok; ++k) {
                    ok = tokens[i + k].id == phrase[k] && tokens[i + k].segment == t.segment;
                }
                if (ok) best = std::max(best, static_cast<int>(phrase.size()));
            }
            return best;
        }
    }
    return 0;
}

}  // namespace backtalk
