#include "adapters/server/turn_metrics.hpp"

#include <variant>

namespace backtalk::server {

namespace {
// 25 us to 250 ms: the engine takes microseconds; the tail shows contention.
const std::vector<double> latency_buckets{0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                          0.0025,   0.005,   0.01,   0.025,   0.05,   0.25};
}  // namespace

TurnMetrics::TurnMetrics(MetricsRegistry& registry, std::string channel)
    : registry_(registry),
      channel_(std::move(channel)),
      turns_(registry.counter("backtalk_turns_total", "Client objects handled", {{"channel", channel_}})),
      latency_(registry.histogram("backtalk_turn_duration_seconds",
                                  "Time to handle one client object, engine and service included",
                                  latency_buckets, {{"channel", channel_}})) {
    // Listed at 0 from the start, so that the first emergency outcome or
    // internal error is an increase a rule can see.
    for (const Level level : {Level::self_care, Level::gp_soon, Level::urgent, Level::emergency}) outcomes(level);
    errors("internal");
}

Counter& TurnMetrics::outcomes(Level level) {
    return registry_.counter("backtalk_outcomes_total", "Recommendations given, by triage level",
                             {{"channel", channel_}, {"level", std::string(to_string(level))}});
}

Counter& TurnMetrics::errors(std::string_view code) {
    return registry_.counter("backtalk_errors_total", "Error objects sent, by code",
                             {{"channel", channel_}, {"code", std::string(code)}});
}

void TurnMetrics::record_turn(const std::vector<OutObject>& objects, std::chrono::nanoseconds latency,
                              std::optional<Level>& last_outcome) {
    turns_.add();
    latency_.observe(std::chrono::duration<double>(latency).count());
    for (const auto& object : objects) {
        if (const auto* error = std::get_if<protocol::Error>(&object)) {
            count_error(error->code);
        } else if (const auto* reply = std::get_if<Reply>(&object); reply && reply->triage) {
            const Level level = reply->triage->level;
            if (last_outcome != level) {
                last_outcome = level;
                outcomes(level).add();
            }
        }
    }
}

void TurnMetrics::count_error(std::string_view code) {
    errors(code).add();
}

}  // namespace backtalk::server
