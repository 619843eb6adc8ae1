// The conversation store's figures on /metrics, and its health for /healthz.
#pragma once

#include "adapters/server/gateway.hpp"

namespace backtalk::store {
class Store;
}

namespace backtalk::server {

class MetricsRegistry;

// Adds a collector that reads the store's counters at each scrape.
void add_store_metrics(MetricsRegistry& metrics, const store::Store& store);
HealthReport store_health(const store::Store& store);

}  // namespace backtalk::server
