// The rules publications on PostgreSQL (store/rules_notices.hpp): a row in
// rules_publications and a NOTIFY on backtalk_rules, committed together; a
// watch that LISTENs on a connection and a thread of its own.
#pragma once

#include "store/postgresql/pg_connection.hpp"
#include "store/rules_notices.hpp"

#include <memory>
#include <optional>
#include <string>

namespace backtalk::store::pg {

// Inserts the publication and notifies, in one statement (one commit).
PublishedRules publish_rules(PgConnection& connection, const std::string& version, const std::string& origin,
                             std::int64_t now_ms);

// The newest publication; nothing when there is none yet.
std::optional<PublishedRules> newest_publication(PgConnection& connection);

std::unique_ptr<RulesWatch> watch_rules(std::string url, RulesWatchOptions options);

}  // namespace backtalk::store::pg
