// A small Prometheus registry: counters, gauges and histograms made once at
// startup (or on first use of a label) and updated lock-free on the hot path,
// plus collectors that append lines computed at scrape time (e.g. the store's
// queue depth). Any module may add its own metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace backtalk::server {

// Label name -> value, e.g. {{"code", "too_long"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
public:
    void add(std::uint64_t amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

class Gauge {
public:
    void add(std::int64_t amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
    void set(std::int64_t value) { value_.store(value, std::memory_order_relaxed); }
    std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

// Buckets are upper bounds in the metric's unit (seconds for latencies).
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double value);

    struct Snapshot {
        std::vector<double> upper_bounds;
        std::vector<std::uint64_t> cumulative_counts;  // one per bound, then +Inf
        double sum = 0;
    };
    Snapshot snapshot() const;

private:
    std::vector<double> upper_bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // one per bound, then +Inf
    std::atomic<std::uint64_t> sum_nanos_{0};
};

class MetricsRegistry {
public:
    // Returns the metric with this name and labels, creating it on first
    // use. The reference stays valid for the registry's life. A name keeps
    // the type and help it was first registered with.
    Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
    Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
    Histogram& histogram(const std::string& name, const std::string& help,
                         std::vector<double> upper_bounds, const Labels& labels = {});

    // Appends complete Prometheus text (HELP, TYPE and samples) at scrape
    // time. Called without the registry's lock held.
    void add_collector(std::function<void(std::string& out)> collector);

    // The whole exposition, text format 0.0.4.
    std::string render() const;

private:
    enum class Type { counter, gauge, histogram };
    struct Family {
        Type type;
        std::string help;
        std::map<std::string, std::unique_ptr<Counter>> counters;  // keyed by rendered labels
        std::map<std::string, std::unique_ptr<Gauge>> gauges;
        std::map<std::string, std::pair<Labels, std::unique_ptr<Histogram>>> histograms;
    };
    Family& family(const std::string& name, const std::string& help, Type type);

    mutable std::mutex mutex_;
    std::map<std::string, Family> families_;
    std::vector<std::function<void(std::string&)>> collectors_;
};

// `{name="value",...}` with Prometheus escaping; empty for no labels.
std::string render_labels(const Labels& labels);

// One family of one sample, for collectors: HELP, TYPE and `name{labels} value`.
void append_metric(std::string& out, const std::string& name, const char* type, const char* help,
                   const std::string& value, const Labels& labels = {});

}  // namespace backtalk::server
