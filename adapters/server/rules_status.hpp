// The rules on /healthz and /metrics: the version answering on this
// instance and, with a shared database, the one last published to every
// instance, so that an instance that refused a reload shows.
#pragma once

#include "adapters/core/rules_sync.hpp"

#include <nlohmann/json.hpp>

namespace backtalk::server {

class MetricsRegistry;

// /healthz's "rules": {"version"}; with a shared database also "published"
// (null until a reload is published), "in_step" and "listening".
nlohmann::json rules_health(const RulesStatus& status);

// backtalk_rules_info{version, published}, backtalk_rules_in_step,
// backtalk_rules_listening, and the reloads and refusals.
void add_rules_metrics(MetricsRegistry& metrics, const RulesSync& rules);

}  // namespace backtalk::server
