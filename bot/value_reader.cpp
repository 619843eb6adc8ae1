#include "bot/value_reader.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace backtalk {

const Token* ValueReader::at(std::size_t i) const { return i < tokens.size() ? &tokens[i] : nullptr; }

bool ValueReader::word_at(std::size_t i, const char* word) const { return i < tokens.size() && tokens[i].text == word; }

void ValueReader::mark(std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to && k < used.size(); ++k) used[k] = 1;
}

std::size_t ValueReader::phrase_at(std::size_t i, const std::string& phrase) const {
    std::size_t k = i;
    std::size_t from = 0;
    while (from <= phrase.size()) {
        const std::size_t space = std::min(phrase.find(' ', from), phrase.size());
        if (k >= tokens.size() || tokens[k].text.compare(0, std::string::npos, phrase, from, space - from) != 0) return 0;
        ++k;
        from = space + 1;
    }
    return k - i;
}

bool ValueReader::blocked(std::size_t i) const {
    std::optional<std::size_t> nearest_blocker;
    std::optional<std::size_t> nearest_anchor;
    const auto closer = [](std::optional<std::size_t>& nearest, std::size_t distance) {
        nearest = std::min(nearest.value_or(distance), distance);
    };
    for (std::size_t k = 0; k < tokens.size(); ++k) {
        if (tokens[k].segment != tokens[i].segment) continue;
        const std::size_t distance = k > i ? k - i : i - k;
        if (lexicon.duration_blockers.count(tokens[k].text)) closer(nearest_blocker, distance);
        else if (lexicon.duration_anchors.count(tokens[k].text)) closer(nearest_anchor, distance);
    }
    return nearest_blocker && (!nearest_anchor || *nearest_blocker <= *nearest_anchor);
}

bool ValueReader::about_the_pain(std::size_t i) const {
    return std::any_of(tokens.begin(), tokens.end(), [&](const Token& t) {
        return t.segment == tokens[i].segment && lexicon.duration_anchors.count(t.text) > 0;
    });
}

std::optional<double> ValueReader::duration_days(bool about_someone_else) {
    std::optional<double> longest_about_pain;
    std::optional<double> longest_other;
    // Someone else's time, or one that is over ("chest pain last year,
    // sorted now", "no pain for 3 days"), is not how long this pain has lasted.
    const auto someone_elses = [&](std::size_t i) {
        return (!about_someone_else && tokens[i].in_scope(Context::other)) || tokens[i].negated();
    };
    const auto found = [&](std::size_t i, double days) {
        auto& longest = about_the_pain(i) ? longest_about_pain : longest_other;
        longest = std::max(longest.value_or(0.0), days);
    };
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const auto unit = lexicon.unit_days.find(tokens[i].text);
        if (unit != lexicon.unit_days.end() && !blocked(i) && !someone_elses(i)) {
            // "72 years old", "75 years of age" is an age, not a duration; "every day", "some days" is how often.
            if (word_at(i + 1, "old") || (word_at(i + 1, "of") && word_at(i + 2, "age"))) continue;
            if (i >= 1 && lexicon.frequency_words.count(tokens[i - 1].text)) continue;
            double count = -1;
            std::size_t from = i;
            for (std::size_t back = 1; back <= 3 && back <= i; ++back) {
                const Token& t = tokens[i - back];
                if (t.segment != tokens[i].segment) break;
                if (t.number >= 0) {
                    count = t.number;
                    from = i - back;
                    break;
                }
            }
            // "for weeks" without a number: a few of them.
            if (count < 0) count = tokens[i].text.back() == 's' ? 3 : 1;
            const double days = count * unit->second;
            mark(from, i + 1);
            found(i, days);
            continue;
        }
        for (const auto& [phrase, days] : lexicon.relative_days) {
            const std::size_t length = phrase_at(i, phrase);
            // "can't see a doctor today", in a clause not about the pain, says
            // when, not how long it has hurt.
            if (length == 0 || (blocked(i) && !about_the_pain(i)) || someone_elses(i)) continue;
            mark(i, i + length);
            found(i, days);
        }
    }
    return longest_about_pain ? longest_about_pain : longest_other;
}

bool ValueReader::counts_something(std::size_t i) const {
    static const std::unordered_set<std::string_view> counted = {
        "kids", "children", "child", "boys", "girls", "sons", "daughters", "grandchildren", "grandkids", "babies",
        "people", "times", "dogs", "cats", "jobs", "shifts", "flights", "stairs", "floors", "miles", "hours", "minutes"};
    // "34 years", "34 year" to "how old are you?" is the age itself.
    static const std::unordered_set<std::string_view> years = {"year", "years", "yr", "yrs"};
    const auto counted_at = [&](std::size_t k) {
        return k < tokens.size() && tokens[k].segment == tokens[i].segment && !years.count(tokens[k].text) &&
               (counted.count(tokens[k].text) > 0 || lexicon.unit_days.count(tokens[k].text) > 0);
    };
    // "kids under 5": the limit of a count said just before.
    const bool limit_of_count = i >= 2 && (tokens[i - 1].text == "under" || tokens[i - 1].text == "over") && counted_at(i - 2);
    return counted_at(i + 1) || limit_of_count;
}

bool ValueReader::unit_follows(std::size_t i) const {
    static const std::unordered_set<std::string_view> measures = {
        "/",    "out", "of", "percent", "kg",     "kilos",  "lbs",   "pounds", "stone", "st", "ft",
        "feet", "foot", "cm", "inches", "metres", "meters", "metre", "meter",  "miles", "km"};
    const Token* next = at(i + 1);
    return next && (lexicon.unit_days.count(next->text) || measures.count(next->text));
}

std::optional<double> ValueReader::stated_age(bool about_someone_else, bool lone_number_allowed) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const Token& t = tokens[i];
        if (t.number < 1 || t.number > 120 || t.has_decimal) continue;
        const bool years_old = (word_at(i + 1, "years") || word_at(i + 1, "year") || word_at(i + 1, "yrs") ||
                                word_at(i + 1, "yr")) && (word_at(i + 2, "old") || (word_at(i + 2, "of") && word_at(i + 3, "age")));
        const bool short_form = word_at(i + 1, "yo") || (word_at(i + 1, "y") && word_at(i + 2, "/") && word_at(i + 3, "o"));
        const bool aged = i >= 1 && lexicon.age_words.count(tokens[i - 1].text) && tokens[i - 1].segment == t.segment;
        // "I am 67", "she is 81": a person, a verb of being, a number with no unit after it.
        const bool copula = i >= 2 && (tokens[i - 1].text == "am" || tokens[i - 1].text == "is") && !unit_follows(i) &&
                            lexicon.age_subjects.count(tokens[i - 2].text) > 0;
        // "40s", or a decade in words ("forties", a number word read as 40).
        const bool decade_in_words = t.text.ends_with("ies");
        const bool decade = (word_at(i + 1, "s") || decade_in_words) && static_cast<int>(t.number) % 10 == 0 && t.number >= 10;
        if (decade && i >= 1 && (tokens[i - 1].text == "my" || tokens[i - 1].text == "her" || tokens[i - 1].text == "his" ||
                                 tokens[i - 1].text == "early" || tokens[i - 1].text == "mid" || tokens[i - 1].text == "late")) {
            mark(i - 1, decade_in_words ? i + 1 : i + 2);
            const std::string& q = tokens[i - 1].text;
            return t.number + (q == "early" ? 2 : q == "late" ? 8 : 5);
        }
        // "my 2 year old", "a 40 year old man": someone else's age, unless
        // the message is about that person.
        const bool someone_else = years_old && i >= 1 && lexicon.age_possessives.count(tokens[i - 1].text) > 0 && !about_someone_else;
        if (someone_else) continue;
        // "46m", "F34", "32 female": an age beside a sex, as people sign off.
        const auto sex_at = [&](std::size_t k) {
            return k < tokens.size() && tokens[k].segment == t.segment && lexicon.age_sex_markers.count(tokens[k].text) > 0;
        };
        // Only where it opens or closes its clause: "for 30m after" is minutes.
        const bool opens = i == 0 || tokens[i - 1].segment != t.segment;
        const bool closes_with_sex = i + 2 >= tokens.size() || tokens[i + 2].segment != t.segment;
        const bool with_sex = t.number >= 12 && ((sex_at(i + 1) && (opens || closes_with_sex)) || (i >= 1 && sex_at(i - 1) &&
                                                                                                 (i < 2 || tokens[i - 2].segment != t.segment)));
        // "Hi, 47, my back...", "..., no pain in legs, 29": a number that is
        // a whole clause of a longer message, in the range of adult ages
        // (a message of one number is an age only when the age was asked).
        const bool alone = lone_number_allowed && tokens.size() > 1 && t.number >= 16 && t.number <= 99 && !t.has_decimal && (i == 0 || tokens[i - 1].segment != t.segment) &&
                           (i + 1 == tokens.size() || tokens[i + 1].segment != t.segment);
        if (years_old || short_form || aged || copula || with_sex || alone) {
            mark(i, i + 1);
            return t.number;
        }
    }
    return std::nullopt;
}

std::optional<double> ValueReader::stated_score() {
    std::optional<double> lowest;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const Token& t = tokens[i];
        if (t.number < 0 || t.number > 10) continue;
        std::size_t k = i + 1;
        if (word_at(k, "/")) {
            ++k;
        } else if (word_at(k, "out") && word_at(k + 1, "of")) {
            k += 2;
        } else if (word_at(k, "of")) {
            ++k;
        } else {
            continue;
        }
        if (const Token* ten = at(k); ten && ten->number == 10) {
            mark(i, k + 1);
            lowest = std::min(lowest.value_or(t.number), t.number);
        }
    }
    return lowest;
}

std::optional<double> ValueReader::temperature_celsius() {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const Token& t = tokens[i];
        if (t.number < 0) continue;
        const bool degree_word = word_at(i + 1, "degrees") || word_at(i + 1, "c") || word_at(i + 1, "celsius");
        if (t.number >= 34 && t.number <= 43 && (t.has_decimal || degree_word)) {
            mark(i, i + 1);
            return t.number;
        }
        if (t.number >= 95 && t.number <= 110 && (word_at(i + 1, "f") || word_at(i + 1, "fahrenheit") || word_at(i + 1, "degrees"))) {
            mark(i, i + 1);
            return (t.number - 32) * 5 / 9;
        }
    }
    return std::nullopt;
}

std::optional<double> ValueReader::bare_number(double low, double high, bool lowest) {
    std::optional<double> found;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const Token& t = tokens[i];
        // "3 kids under 5", "2 weeks": a count of something else.
        if (t.number >= low && t.number <= high && !(t.number == 0 && t.text != "0") && !counts_something(i)) {
            mark(i, i + 1);
            found = std::min(found.value_or(t.number), t.number);
            if (!lowest) break;
        }
    }
    return found;
}

}  // namespace backtalk
