#include "adapters/server/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace backtalk::server {

namespace {

std::string format_number(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", value);
    return text;
}

std::string escape_label_value(const std::string& value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace

std::string render_labels(const Labels& labels) {
    if (labels.empty()) return {};
    std::string out = "{";
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out += ',';
        out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + '"';
    }
    out += '}';
    return out;
}

void append_metric(std::string& out, const std::string& name, const char* type, const char* help,
                   const std::string& value, const Labels& labels) {
    out += "# HELP " + name + ' ' + help + '\n';
    out += "# TYPE " + name + ' ' + type + '\n';
    out += name + render_labels(labels) + ' ' + value + '\n';
}

namespace {

// Labels plus one more (the histogram's "le"), rendered.
std::string with_label(const Labels& labels, const std::string& name, const std::string& value) {
    Labels all = labels;
    all.emplace_back(name, value);
    return render_labels(all);
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<std::uint64_t>[upper_bounds_.size() + 1]) {
    if (!std::is_sorted(upper_bounds_.begin(), upper_bounds_.end())) {
        throw std::invalid_argument("histogram bounds must be sorted");
    }
    for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double value) {
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    const double nanos = std::max(0.0, value * 1e9);
    sum_nanos_.fetch_add(static_cast<std::uint64_t>(nanos), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot snapshot;
    snapshot.upper_bounds = upper_bounds_;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        snapshot.cumulative_counts.push_back(running);
    }
    snapshot.sum = static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
    return snapshot;
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help,
                                                 Type type) {
    auto [it, inserted] = families_.try_emplace(name, Family{type, help, {}, {}, {}});
    if (!inserted && it->second.type != type) {
        throw std::logic_error("metric " + name + " registered twice with different types");
    }
    return it->second;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const Labels& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = family(name, help, Type::counter).counters[render_labels(labels)];
    if (!slot) slot = std::make_unique<Counter>();
    return *slot;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = family(name, help, Type::gauge).gauges[render_labels(labels)];
    if (!slot) slot = std::make_unique<Gauge>();
    return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> upper_bounds, const Labels& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = family(name, help, Type::histogram).histograms[render_labels(labels)];
    if (!slot.second) slot = {labels, std::make_unique<Histogram>(std::move(upper_bounds))};
    return *slot.second;
}

void MetricsRegistry::add_collector(std::function<void(std::string&)> collector) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::render() const {
    std::string out;
    std::vector<std::function<void(std::string&)>> collectors;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [name, family] : families_) {
            static constexpr const char* type_names[] = {"counter", "gauge", "histogram"};
            out += "# HELP " + name + ' ' + family.help + '\n';
            out += "# TYPE " + name + ' ' + type_names[static_cast<int>(family.type)] + '\n';
            for (const auto& [labels, metric] : family.counters) {
                out += name + labels + ' ' + std::to_string(metric->value()) + '\n';
            }
            for (const auto& [labels, metric] : family.gauges) {
                out += name + labels + ' ' + std::to_string(metric->value()) + '\n';
            }
            for (const auto& [labels, labelled] : family.histograms) {
                const auto snapshot = labelled.second->snapshot();
                const auto& pairs = labelled.first;
                for (std::size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
                    const double bound = i < snapshot.upper_bounds.size()
                                             ? snapshot.upper_bounds[i]
                                             : INFINITY;
                    out += name + "_bucket" + with_label(pairs, "le", format_number(bound)) + ' ' +
                           std::to_string(snapshot.cumulative_counts[i]) + '\n';
                }
                out += name + "_sum" + labels + ' ' + format_number(snapshot.sum) + '\n';
                out += name + "_count" + labels + ' ' +
                       std::to_string(snapshot.cumulative_counts.back()) + '\n';
            }
        }
        collectors = collectors_;
    }
    for (const auto& collector : collectors) collector(out);
    return out;
}

}  // namespace backtalk::server
