#include "store/redact.hpp"

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

namespace backtalk::store {

namespace {

constexpr std::string_view email_marker = "[email]";
constexpr std::string_view phone_marker = "[phone]";
constexpr std::string_view id_marker = "[id]";

// Phone numbers have 7 to 15 digits (E.164 allows 15); longer digit runs are
// card or account numbers.
constexpr int phone_min_digits = 7;
constexpr int phone_max_digits = 15;
constexpr int id_min_digits = 6;

// ASCII classes on raw bytes: UTF-8 continuation and lead bytes are >= 0x80,
// so they never match and multi-byte characters pass through untouched.
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) {
    const auto lower = static_cast<unsigned char>(c) | 0x20u;
    return lower >= 'a' && lower <= 'z';
}
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
bool is_email_local_char(char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool is_domain_char(char c) { return is_alnum(c) || c == '.' || c == '-'; }
bool is_number_separator(char c) {
    return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')';
}

struct Span {
    std::size_t begin;
    std::size_t end;
};

// The e-mail address around the '@' at `at`, if it is one.
std::optional<Span> email_around(std::string_view text, std::size_t at) {
    std::size_t begin = at;
    while (begin > 0 && is_email_local_char(text[begin - 1])) --begin;
    while (begin < at && text[begin] == '.') ++begin;
    if (begin == at) return std::nullopt;

    std::size_t end = at + 1;
    while (end < text.size() && is_domain_char(text[end])) ++end;
    while (end > at + 1 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
    const std::string_view domain = text.substr(at + 1, end - at - 1);
    const std::size_t dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return std::nullopt;
    const std::string_view top_level = domain.substr(dot + 1);
    if (top_level.size() < 2) return std::nullopt;
    for (char c : top_level) {
        if (!is_alpha(c)) return std::nullopt;
    }
    return Span{begin, end};
}

std::vector<Span> find_emails(std::string_view text) {
    std::vector<Span> spans;
    for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
        const auto span = email_around(text, at);
        if (span && (spans.empty() || span->begin >= spans.back().end)) spans.push_back(*span);
    }
    return spans;
}

// Digits written with the separators people put in phone numbers:
// "+44 20 7946 0958", "(030) 1234-567", "555.123.4567".
struct NumberRun {
    std::size_t end = 0;  // one past the last digit
    int digits = 0;
    bool date_shaped = false;  // 2024-05-01, 01/05/2024: not a phone number
};

NumberRun number_run_at(std::string_view text, std::size_t at) {
    NumberRun run;
    std::array<std::size_t, 3> group_lengths{};
    std::array<char, 2> group_separators{};
    int groups = 0;
    std::size_t group_length = 0;
    std::size_t i = at;
    if (text[i] == '+' || text[i] == '(') ++i;
    const auto close_group = [&] {
        if (groups < 3) group_lengths[static_cast<std::size_t>(groups)] = group_length;
        ++groups;
        group_length = 0;
    };
    while (i < text.size()) {
        if (is_digit(text[i])) {
            ++run.digits;
            ++group_length;
            ++i;
            run.end = i;
            continue;
        }
        // At most two separator characters, e.g. ") ", between digit groups.
        std::size_t next = i;
        while (next < text.size() && next - i < 2 && is_number_separator(text[next])) ++next;
        if (next == i || next >= text.size() || !is_digit(text[next])) break;
        if (groups < 2) group_separators[static_cast<std::size_t>(groups)] = next - i == 1 ? text[i] : '\0';
        close_group();
        i = next;
    }
    close_group();
    if (groups == 3 && group_separators[0] != '\0' && group_separators[0] == group_separators[1] &&
        group_separators[0] != ' ' && group_separators[0] != '(' && group_separators[0] != ')') {
        const bool year_first = group_lengths[0] == 4 && group_lengths[1] <= 2 && group_lengths[2] <= 2;
        const bool year_last = group_lengths[0] <= 2 && group_lengths[1] <= 2 && group_lengths[2] == 4;
        run.date_shaped = year_first || year_last;
    }
    return run;
}

bool starts_number(std::string_view text, std::size_t at) {
    if (is_digit(text[at])) return true;
    return (text[at] == '+' || text[at] == '(') && at + 1 < text.size() && is_digit(text[at + 1]);
}

}  // namespace

std::string redact(std::string_view text, const RedactionOptions& options) {
    std::string out;
    out.reserve(text.size());
    const std::vector<Span> emails = options.emails ? find_emails(text) : std::vector<Span>{};
    std::size_t next_email = 0;

    std::size_t i = 0;
    while (i < text.size()) {
        if (next_email < emails.size() && emails[next_email].begin == i) {
            out += email_marker;
            i = emails[next_email].end;
            ++next_email;
            continue;
        }
        const bool word_start = i == 0 || !is_alnum(text[i - 1]);
        if (word_start && (options.phones || options.identifiers) && starts_number(text, i)) {
            // A number never runs into the next e-mail address.
            const std::size_t limit = next_email < emails.size() ? emails[next_email].begin : text.size();
            const NumberRun run = number_run_at(text.substr(0, limit), i);
            const bool word_ends = run.end >= text.size() || !is_alnum(text[run.end]);
            if (word_ends && !run.date_shaped && run.digits >= phone_min_digits) {
                if (run.digits <= phone_max_digits && options.phones) {
                    out += phone_marker;
                    i = run.end;
                    continue;
                }
                if (run.digits > phone_max_digits && options.identifiers) {
                    out += id_marker;
                    i = run.end;
                    continue;
                }
            }
        }
        if (word_start && is_alnum(text[i])) {
            std::size_t end = i;
            int digits = 0;
            int letters = 0;
            while (end < text.size() && is_alnum(text[end])) {
                is_digit(text[end]) ? ++digits : ++letters;
                ++end;
            }
            const bool code = (digits >= id_min_digits && letters > 0) || digits > phone_max_digits;
            if (options.identifiers && code) {
                out += id_marker;
            } else {
                out.append(text.substr(i, end - i));
            }
            i = end;
            continue;
        }
        out += text[i];
        ++i;
    }
    return out;
}

}  // namespace backtalk::store
