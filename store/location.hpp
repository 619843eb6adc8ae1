// Where the store keeps its data, as --db and BACKTALK_DB name it: a file
// path (SQLite, the embedded default) or a PostgreSQL URL. Anything else that
// looks like a URL is a mistake in the settings; taken as a path it would
// quietly create a folder named after the scheme.
#pragma once

#include <string>
#include <string_view>

namespace backtalk::store {

enum class Backend { sqlite, postgresql };

struct DatabaseLocation {
    Backend backend = Backend::sqlite;
    std::string text;  // the path, or the URL as given
};

// Throws std::invalid_argument naming the accepted forms for an empty text or
// a URL whose scheme is not postgresql:// or postgres://. The message quotes
// the scheme only: a URL may carry a password.
DatabaseLocation parse_database_location(std::string_view text);

// The location as logs and messages may show it: a PostgreSQL URL without
// its password (in the user part or as a password= parameter).
std::string describe_location(const DatabaseLocation& location);

}  // namespace backtalk::store
