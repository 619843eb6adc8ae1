#include "adapters/server/rules_status.hpp"

#include "adapters/server/metrics.hpp"

namespace backtalk::server {

nlohmann::json rules_health(const RulesStatus& status) {
    nlohmann::json rules{{"version", status.version}};
    if (!status.shared) return rules;
    rules["published"] = status.published ? nlohmann::json(*status.published) : nlohmann::json(nullptr);
    rules["in_step"] = status.in_step();
    rules["listening"] = status.listening;
    return rules;
}

// Every family is there on SQLite too, where this instance is all there is:
// in step and reached by every reload.
void add_rules_metrics(MetricsRegistry& metrics, const RulesSync& rules) {
    metrics.add_collector([&rules](std::string& out) {
        const RulesStatus status = rules.status();
        append_metric(out, "backtalk_rules_info", "gauge",
                      "The rules answering here and the version last published to every instance (labels; "
                      "published is empty until one is)",
                      "1", {{"version", status.version}, {"published", status.published.value_or("")}});
        append_metric(out, "backtalk_rules_in_step", "gauge",
                      "0 while this instance runs other rules than were last published", status.in_step() ? "1" : "0");
        append_metric(out, "backtalk_rules_listening", "gauge",
                      "0 while reloads published by other instances cannot reach this one (it catches up when it "
                      "connects again)",
                      !status.shared || status.listening ? "1" : "0");
        append_metric(out, "backtalk_rules_reloads_total", "counter", "Rules reloads that took",
                      std::to_string(rules.reloader().reloads()));
        append_metric(out, "backtalk_rules_reload_refusals_total", "counter",
                      "Rules reloads refused (broken rules; the old ones kept answering)",
                      std::to_string(rules.reloader().failures()));
    });
}

}  // namespace backtalk::server
