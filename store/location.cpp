#include "store/location.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace backtalk::store {

namespace {

constexpr std::string_view accepted_forms =
    "give a file path (e.g. data/backtalk.db) or a PostgreSQL URL (postgresql://user@host/dbname "
    "or postgres://...)";

std::string lower_ascii(std::string_view text) {
    std::string lowered(text);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lowered;
}

}  // namespace

DatabaseLocation parse_database_location(std::string_view text) {
    if (text.empty()) throw std::invalid_argument("the database is empty: " + std::string(accepted_forms));
    const auto separator = text.find("://");
    if (separator == std::string_view::npos) return {Backend::sqlite, std::string(text)};
    const std::string scheme = lower_ascii(text.substr(0, separator));
    if (scheme == "postgresql" || scheme == "postgres") return {Backend::postgresql, std::string(text)};
    throw std::invalid_argument("'" + std::string(text.substr(0, separator)) +
                                "://...' is not a database backtalk can use: " + std::string(accepted_forms));
}

std::string describe_location(const DatabaseLocation& location) {
    if (location.backend != Backend::postgresql) return location.text;
    std::string text = location.text;
    const auto authority = text.find("://") + 3;
    const auto at = text.find('@', authority);
    const auto colon = text.find(':', authority);
    if (at != std::string::npos && colon < at) text.replace(colon + 1, at - colon - 1, "***");
    for (auto found = text.find("password="); found != std::string::npos; found = text.find("password=", found + 1)) {
        const auto start = found + 9;
        const auto end = text.find('&', start);
        text.replace(start, (end == std::string::npos ? text.size() : end) - start, "***");
    }
    return text;
}

}  // namespace backtalk::store
