// The server log's lines for rules reloads (docs/configuration.md): one
// line for a reload that took, one error line per problem for one refused,
// and a warning when this instance runs other rules than were published.
#pragma once

#include "adapters/core/rules_sync.hpp"

#include <string>
#include <string_view>

namespace backtalk::server {

// A reload asked for here (`cause`: SIGHUP, the admin API).
void log_reload(const SyncedReload& result, std::string_view cause);
// A reload that a publication from another instance caused.
void log_followed_reload(const ReloadResult& result, const std::string& published);

}  // namespace backtalk::server
