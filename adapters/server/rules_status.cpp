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

void add_rules_metrics(MetricsRegistry& metrics, const RulesSync& rules) {
    metrics.add_collector([&rules](std::string& out) {
        const RulesStatus status = rules.status();
        append_metric(out, "backtalk_rules_info", "gauge", "The rules answering here (the version is the label)", "1",
                      {{"version", status.version}});
        append_metric(out, "backtalk_rules_reloads_total", "counter", "Rules reloads that took",
                      std::to_string(rules.reloader().reloads()));
        append_metric(out, "backtalk_rules_reload_refusals_total", "counter",
                      "Rules reloads refused (broken rules; the old ones kept answering)",
                      std::to_string(rules.reloader().failures()));
        if (!status.shared) return;
        if (status.published) {
            append_metric(out, "backtalk_rules_published_info", "gauge",
                          "The rules last published to every instance (the version is the label)", "1",
                          {{"version", *status.published}});
        }
        append_metric(out, "backtalk_rules_in_step", "gauge",
                      "1 when this instance runs the rules last published (or none were)",
                      status.in_step() ? "1" : "0");
        append_metric(out, "backtalk_rules_listening", "gauge",
                      "1 while rules publications reach this instance at once", status.listening ? "1" : "0");
    });
}

}  // namespace backtalk::server
