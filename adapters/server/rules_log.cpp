#include "adapters/server/rules_log.hpp"

#include "adapters/server/log.hpp"

namespace backtalk::server {

namespace {

void log_refusal(const ReloadResult& result, std::string_view cause) {
    for (const auto& error : result.errors) {
        log(LogLevel::error, "rules reload refused, keeping the old rules",
            {{"version", result.version}, {"cause", cause}, {"problem", error}});
    }
}

}  // namespace

void log_reload(const SyncedReload& result, std::string_view cause) {
    const ReloadResult& local = result.local;
    if (!local.ok) return log_refusal(local, cause);
    if (!result.shared) return log(LogLevel::info, "rules reloaded", {{"version", local.version}, {"cause", cause}});
    log(LogLevel::info, "rules reloaded",
        {{"version", local.version}, {"cause", cause}, {"published", result.published ? "true" : "false"}});
    if (!result.publish_error.empty()) {
        log(LogLevel::error, "rules reloaded here but not published to the other instances",
            {{"version", local.version}, {"error", result.publish_error}});
    }
}

void log_followed_reload(const ReloadResult& result, const std::string& published) {
    if (!result.ok) log_refusal(result, "published");
    if (result.version == published) {
        log(LogLevel::info, "rules reloaded", {{"version", result.version}, {"cause", "published"}});
        return;
    }
    // Refused, or this machine's files give another version.
    log(LogLevel::warn, "rules differ from the version published to every instance",
        {{"version", result.version}, {"published", published}});
}

}  // namespace backtalk::server
