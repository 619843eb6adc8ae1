#include "adapters/server/log.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>
#include <string>

namespace backtalk::server {

namespace {

std::mutex log_mutex;
std::atomic<LogLevel> threshold{LogLevel::info};

constexpr std::string_view level_names[] = {"debug", "info", "warn", "error"};

std::string utc_timestamp() {
    const auto now = std::chrono::system_clock::now();
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[96];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                  utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
    return text;
}

}  // namespace

std::optional<LogLevel> log_level_from_string(std::string_view text) {
    for (std::size_t i = 0; i < std::size(level_names); ++i) {
        if (level_names[i] == text) return static_cast<LogLevel>(i);
    }
    return std::nullopt;
}

void set_log_level(LogLevel level) { threshold = level; }

bool log_enabled(LogLevel level) { return level >= threshold.load(); }

void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
    if (!log_enabled(level)) return;
    nlohmann::ordered_json line;
    line["time"] = utc_timestamp();
    line["level"] = level_names[static_cast<std::size_t>(level)];
    line["event"] = event;
    for (const auto& [key, value] : fields) line[std::string(key)] = value;
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::lock_guard lock(log_mutex);
    std::cerr << text << '\n' << std::flush;
}

void log_event(std::string_view event) { log(LogLevel::info, event); }

void log_error(std::string_view where, const boost::system::error_code& error) {
    const std::string message = error.message();
    log(LogLevel::warn, where, {{"error", message}});
}

}  // namespace backtalk::server
