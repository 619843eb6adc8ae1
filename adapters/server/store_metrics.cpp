#include "adapters/server/store_metrics.hpp"

#include "adapters/server/metrics.hpp"
#include "store/store.hpp"

#include <string>

namespace backtalk::server {

void add_store_metrics(MetricsRegistry& metrics, const store::Store& store) {
    metrics.add_collector([&store](std::string& out) {
        const auto counters = store.counters();
        append_metric(out, "backtalk_store_rows_written_total", "counter",
                      "Rows committed to the conversation log", std::to_string(counters.rows_written));
        append_metric(out, "backtalk_store_batches_total", "counter", "Transactions committed by the log writer",
                      std::to_string(counters.batches));
        append_metric(out, "backtalk_store_dropped_total", "counter", "Records that will never be written",
                      std::to_string(counters.dropped));
        append_metric(out, "backtalk_store_write_failures_total", "counter",
                      "Failed batch commits, each retried or dropped", std::to_string(counters.write_failures));
        append_metric(out, "backtalk_store_queue_depth", "gauge", "Records waiting for the log writer",
                      std::to_string(counters.queue_depth));
        append_metric(out, "backtalk_store_batch_median_seconds", "gauge", "Median commit time of recent batches",
                      std::to_string(static_cast<double>(counters.median_batch_us) / 1e6));
        append_metric(out, "backtalk_store_healthy", "gauge", "1 when the database can be written",
                      store.health().ok ? "1" : "0");
    });
}

HealthReport store_health(const store::Store& store) {
    const auto health = store.health();
    return {health.ok, health.reason};
}

}  // namespace backtalk::server
