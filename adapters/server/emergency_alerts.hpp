// Emergency alerts: for each turn that gives emergency advice, a signed JSON
// POST to a webhook the clinic runs (docs/operations.md "Emergency alerts").
// Off unless a URL is set. The body names the conversation, the level, the
// triage rules behind it and the time; the person's words only with
// include_words. X-Backtalk-Signature is "sha256=" and the hex HMAC-SHA256
// of the body under the secret. A failed delivery (a network error or any
// status but 2xx) is tried again after 1 s, 2 s, 4 s ... up to max_attempts;
// one given up, or dropped because the queue is full or the server stops,
// counts in backtalk_alerts_dead_letter_total. Deliveries run on a thread and
// io_context of their own: a turn only queues one.
#pragma once

#include "adapters/core/conversations.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace backtalk::server {

class Counter;
class MetricsRegistry;

struct AlertOptions {
    std::string url;             // http(s)://host[:port]/path; empty: alerts off
    std::string secret;          // signs each body; required with a URL
    bool include_words = false;  // add what the person sent in the turn
    int max_attempts = 8;
    std::chrono::milliseconds first_retry{1000};  // doubled after each failure
    std::chrono::milliseconds max_retry{std::chrono::minutes(5)};
    std::chrono::seconds timeout{10};  // one attempt
    std::size_t max_queued = 1000;     // alerts waiting or in flight
};

// Throws std::invalid_argument naming the problem: a bad URL, no secret.
void validate(const AlertOptions& options);

// The JSON body for `advice`: {"event": "emergency_outcome", "id",
// "conversation", "channel", "level", "rules": [...], "time" (RFC 3339 UTC),
// "time_ms"}, plus "words" with include_words.
std::string alert_body(const AdviceGiven& advice, const std::string& id, bool include_words);

// The alert counters, at 0 whether alerts are on or not, so that the first
// dead letter is an increase an alert can see. EmergencyAlerts counts there.
struct AlertMetrics {
    Counter& sent;
    Counter& retries;
    Counter& dead_letters;
};
AlertMetrics alert_metrics(MetricsRegistry& metrics);

class EmergencyAlerts {
public:
    // Starts the delivery thread. Throws as validate() does.
    EmergencyAlerts(AlertOptions options, MetricsRegistry& metrics);
    ~EmergencyAlerts();  // stop() without grace
    EmergencyAlerts(const EmergencyAlerts&) = delete;
    EmergencyAlerts& operator=(const EmergencyAlerts&) = delete;

    // Queues an alert if `advice` is at the emergency level; never blocks.
    void notify(const AdviceGiven& advice);

    // Takes no more alerts, lets those queued finish for up to `grace`, then
    // counts the rest as dead letters and joins the thread. Idempotent.
    void stop(std::chrono::milliseconds grace);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace backtalk::server
