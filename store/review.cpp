#include "store/review.hpp"

#include "bot/reply.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <vector>

namespace backtalk::store::review {

namespace {

using json = nlohmann::json;

// Spreadsheets run cells that start with these as formulas.
bool looks_like_formula(std::string_view text) {
    return !text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' ||
                             text[0] == '\t' || text[0] == '\r');
}

std::string csv_field(const json& value) {
    std::string text;
    if (value.is_string()) {
        text = value.get<std::string>();
    } else if (value.is_boolean()) {
        text.push_back(value.get<bool>() ? '1' : '0');
    } else if (!value.is_null()) {
        text = value.dump();
    }
    const bool formula = value.is_string() && looks_like_formula(text);
    const bool quoted = text.find_first_of(",\"\r\n") != std::string::npos;
    std::string field;
    field.reserve(text.size() + 4);
    if (quoted) field.push_back('"');
    if (formula) field.push_back('\'');
    for (char c : text) {
        if (quoted && c == '"') field.push_back('"');
        field.push_back(c);
    }
    if (quoted) field.push_back('"');
    return field;
}

std::string joined(const json& array, char separator) {
    std::string text;
    for (const auto& item : array) {
        if (!text.empty()) text += separator;
        text += item.get<std::string>();
    }
    return text;
}

constexpr std::array<const char*, 18> csv_columns{
    "conversation", "seq",   "time",   "direction",    "kind",           "text",
    "code",         "intents", "confidence", "understood", "state",      "asking",
    "triage_level", "triage_reasons", "rules_version", "channel", "processing_us", "basis"};

std::string csv_line(const json& row) {
    const json& triage = row.at("triage");
    const std::array<json, csv_columns.size()> fields{
        row.at("conversation"), row.at("seq"),
        row.at("time"),         row.at("direction"),
        row.at("kind"),         row.at("text"),
        row.at("code"),         json(joined(row.at("intents"), ' ')),
        row.at("confidence"),   row.at("understood"),
        row.at("state"),        row.at("asking"),
        triage.is_null() ? json(nullptr) : triage.at("level"),
        triage.is_null() ? json(nullptr) : json(joined(triage.at("reasons"), ' ')),
        row.at("rules_version"), row.at("channel"),
        row.at("processing_us"),
        json(basis_text(row.at("basis")))};
    std::string line;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) line += ',';
        line += csv_field(fields[i]);
    }
    return line;
}

// Sentence punctuation around a message; brackets stay so that redaction
// markers such as [phone] keep their shape.
bool is_edge_punctuation(char c) {
    return std::string_view(".,!?;:'\"`-=*~_").find(c) != std::string_view::npos;
}

}  // namespace

std::string basis_text(const json& basis) {
    std::string text;
    for (const json& rule : basis) {
        if (!text.empty()) text += "; ";
        text += rule.at("rule").get<std::string>() + " (" + rule.at("level").get<std::string>() + ")";
        std::string facts;
        for (const json& fact : rule.at("facts")) {
            if (!facts.empty()) facts += ", ";
            facts += fact.at("slot").get<std::string>() + "=" + fact.at("value").get<std::string>() + " @turn " +
                     std::to_string(fact.at("turn").get<int>());
        }
        if (!facts.empty()) text += ": " + facts;
    }
    return text;
}

void validate(const Filter& filter) {
    if (filter.level && *filter.level != "none" && !level_from_string(*filter.level)) {
        throw std::invalid_argument("unknown level '" + *filter.level +
                                    "' (expected emergency, urgent, gp_soon, self_care or none)");
    }
    if (filter.channel && std::find(channels.begin(), channels.end(), *filter.channel) == channels.end()) {
        throw std::invalid_argument("unknown channel '" + *filter.channel +
                                    "' (expected terminal, websocket, rest or telegram)");
    }
    if (filter.tag) validate_tag(*filter.tag);
    if (filter.text) search_words(*filter.text);
    if (filter.since_ms && filter.until_ms && *filter.since_ms >= *filter.until_ms) {
        throw std::invalid_argument("the time range is empty: since must be before until");
    }
}

std::int64_t parse_duration_ms(std::string_view text) {
    const auto bad = [&] {
        return std::invalid_argument("bad duration '" + std::string(text) +
                                     "': use a number and a unit (s, m, h, d, w), e.g. 30d, 12h or 90m");
    };
    // At most 9 digits keeps weeks in milliseconds far inside 64 bits.
    constexpr std::size_t max_digits = 9;
    if (text.size() < 2) throw bad();
    const std::string_view digits = text.substr(0, text.size() - 1);
    if (digits.find_first_not_of("0123456789") != std::string_view::npos) throw bad();
    if (digits.size() > max_digits) {
        throw std::invalid_argument("bad duration '" + std::string(text) + "': too large (at most " +
                                    std::to_string(max_digits) + " digits)");
    }
    std::int64_t amount = 0;
    for (char c : digits) amount = amount * 10 + (c - '0');
    if (amount == 0) throw bad();
    constexpr std::int64_t second = 1000;
    switch (text.back()) {
        case 's': return amount * second;
        case 'm': return amount * 60 * second;
        case 'h': return amount * 3600 * second;
        case 'd': return amount * 86400 * second;
        case 'w': return amount * 7 * 86400 * second;
        default: throw bad();
    }
}

std::int64_t parse_time_ms(std::string_view text, std::int64_t now_ms) {
    const auto bad = [&] {
        return std::invalid_argument("bad time '" + std::string(text) +
                                     "': use 2024-05-01, 2024-05-01T13:00 (UTC) or a duration back from "
                                     "now such as 7d");
    };
    // Durations end in a unit letter; times in a digit or Z.
    if (!text.empty() && text.back() >= 'a' && text.back() <= 'z') {
        try {
            return now_ms - parse_duration_ms(text);
        } catch (const std::invalid_argument&) {
            throw bad();
        }
    }
    // Fixed positions: YYYY-MM-DD[THH:MM[:SS]][Z]
    std::string_view rest = text;
    if (!rest.empty() && rest.back() == 'Z') rest.remove_suffix(1);
    if (rest.size() != 10 && rest.size() != 16 && rest.size() != 19) throw bad();
    const auto number = [&](std::size_t at, std::size_t digits) {
        int value = 0;
        for (std::size_t i = at; i < at + digits; ++i) {
            if (rest[i] < '0' || rest[i] > '9') throw bad();
            value = value * 10 + (rest[i] - '0');
        }
        return value;
    };
    const auto expect = [&](std::size_t at, char c) {
        if (rest[at] != c) throw bad();
    };
    std::tm parts{};
    parts.tm_year = number(0, 4) - 1900;
    expect(4, '-');
    parts.tm_mon = number(5, 2) - 1;
    expect(7, '-');
    parts.tm_mday = number(8, 2);
    if (rest.size() >= 16) {
        expect(10, 'T');
        parts.tm_hour = number(11, 2);
        expect(13, ':');
        parts.tm_min = number(14, 2);
    }
    if (rest.size() == 19) {
        expect(16, ':');
        parts.tm_sec = number(17, 2);
    }
    if (parts.tm_mon < 0 || parts.tm_mon > 11 || parts.tm_mday < 1 || parts.tm_mday > 31 || parts.tm_hour > 23 ||
        parts.tm_min > 59 || parts.tm_sec > 59) {
        throw bad();
    }
    const std::tm given = parts;
    const std::time_t seconds = timegm(&parts);
    // timegm normalises 2024-02-31 to March; such a date was not a real one.
    if (parts.tm_mday != given.tm_mday || parts.tm_mon != given.tm_mon) throw bad();
    return static_cast<std::int64_t>(seconds) * 1000;
}

std::string format_time_utc(std::int64_t ms) {
    const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    const auto millis = static_cast<int>(ms - static_cast<std::int64_t>(seconds) * 1000);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char buffer[40];
    const std::size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &parts);
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, ".%03dZ", millis);
    return std::string(buffer, length) + suffix;
}

std::optional<ExportFormat> export_format_from_string(std::string_view text) {
    if (text == "jsonl") return ExportFormat::jsonl;
    if (text == "csv") return ExportFormat::csv;
    return std::nullopt;
}

std::size_t write_export_rows(ExportFormat format, std::ostream& out,
                              const std::function<void(const std::function<void(const json&)>&)>& for_each_row) {
    std::size_t rows = 0;
    if (format == ExportFormat::csv) {
        for (std::size_t i = 0; i < csv_columns.size(); ++i) out << (i > 0 ? "," : "") << csv_columns[i];
        out << "\r\n";
    }
    for_each_row([&](const json& row) {
        if (format == ExportFormat::csv) {
            out << csv_line(row) << "\r\n";
        } else {
            out << row.dump() << '\n';
        }
        ++rows;
    });
    return rows;
}

std::string normalise_for_grouping(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool pending_space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    std::size_t begin = 0;
    while (begin < out.size() && is_edge_punctuation(out[begin])) ++begin;
    std::size_t end = out.size();
    while (end > begin && is_edge_punctuation(out[end - 1])) --end;
    std::string trimmed = out.substr(begin, end - begin);
    while (!trimmed.empty() && trimmed.back() == ' ') trimmed.pop_back();
    while (!trimmed.empty() && trimmed.front() == ' ') trimmed.erase(trimmed.begin());
    return trimmed;
}

}  // namespace backtalk::store::review
