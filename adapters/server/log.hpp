// The server's own log: one JSON object per line on stderr, with a level.
// It never carries what people wrote or who they are, only what happened,
// counts and error codes.
#pragma once

#include <boost/system/error_code.hpp>

#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

namespace backtalk::server {

enum class LogLevel { debug, info, warn, error };

std::optional<LogLevel> log_level_from_string(std::string_view text);
// Lines below this level are dropped. Default: info.
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

using LogField = std::pair<std::string_view, std::string_view>;
void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// Shorthands used across the server.
void log_event(std::string_view event);                                          // info
void log_error(std::string_view where, const boost::system::error_code& error);  // warn

}  // namespace backtalk::server
