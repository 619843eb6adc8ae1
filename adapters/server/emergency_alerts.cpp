#include "adapters/server/emergency_alerts.hpp"

#include "adapters/server/bot_api_client.hpp"
#include "adapters/server/channel_secrets.hpp"
#include "adapters/server/http_post.hpp"
#include "adapters/server/log.hpp"
#include "adapters/server/metrics.hpp"
#include "store/user_hash.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <pthread.h>
#include <stdexcept>
#include <thread>

namespace backtalk::server {

namespace net = boost::asio;

namespace {

std::string rfc3339(std::int64_t ms) {
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms % 1000));
    const std::string text = std::string(date) + millis;
    return text;
}

}  // namespace

void validate(const AlertOptions& options) {
    if (options.url.empty()) return;
    const BotApiEndpoint endpoint = parse_bot_api_base(options.url);  // throws on a bad URL
    (void)endpoint;
    if (options.secret.empty()) {
        throw std::invalid_argument("the emergency alert webhook needs a secret to sign with "
                                    "(--alert-secret-file or BACKTALK_ALERT_SECRET)");
    }
    if (options.max_attempts < 1) throw std::invalid_argument("alert attempts must be at least 1");
}

std::string alert_body(const AdviceGiven& advice, const std::string& id, bool include_words) {
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& basis : advice.basis) rules.push_back(basis.rule);
    nlohmann::json body{{"event", "emergency_outcome"},
                        {"id", id},
                        {"conversation", advice.conversation},
                        {"channel", advice.channel},
                        {"level", std::string(to_string(advice.level))},
                        {"rules", rules},
                        {"time", rfc3339(advice.at_ms)},
                        {"time_ms", advice.at_ms}};
    if (include_words) body["words"] = advice.words;
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

AlertMetrics alert_metrics(MetricsRegistry& metrics) {
    return {metrics.counter("backtalk_alerts_sent_total", "Emergency alerts the webhook took (2xx)"),
            metrics.counter("backtalk_alerts_retries_total", "Emergency alert deliveries tried again"),
            metrics.counter("backtalk_alerts_dead_letter_total",
                            "Emergency alerts given up after every attempt, or dropped")};
}

struct EmergencyAlerts::Impl {
    Impl(AlertOptions alert_options, MetricsRegistry& registry)
        : options((validate(alert_options), std::move(alert_options))),
          endpoint(parse_bot_api_base(options.url)),
          target(endpoint.path_prefix.empty() ? "/" : endpoint.path_prefix),
          counters(alert_metrics(registry)),
          sent(counters.sent),
          retries(counters.retries),
          dead_letters(counters.dead_letters),
          work(net::make_work_guard(io)) {
        if (endpoint.tls) {
            tls.set_default_verify_paths();
            tls.set_verify_mode(net::ssl::verify_peer);
        }
        thread = std::thread([this] {
            pthread_setname_np(pthread_self(), "backtalk-alerts");
            io.run();
        });
    }

    std::chrono::milliseconds backoff(int attempt) const {
        auto wait = options.first_retry;
        for (int i = 1; i < attempt && wait < options.max_retry; ++i) wait *= 2;
        return std::min(wait, options.max_retry);
    }

    net::awaitable<void> deliver(std::string conversation, std::string id, std::string body) {
        const HttpPost post{target,
                            {{"X-Backtalk-Signature", "sha256=" + hmac_sha256_hex(options.secret, body)},
                             {"X-Backtalk-Event", "emergency_outcome"},
                             {"X-Backtalk-Delivery", id}},
                            std::move(body)};
        std::string failure;
        for (int attempt = 1;; ++attempt) {
            const HttpExchange exchange = co_await http_post(endpoint, post, options.timeout, tls);
            if (!exchange.error && exchange.status >= 200 && exchange.status < 300) {
                sent.add();
                break;
            }
            failure = exchange.error ? "network: " + exchange.error.message() : "status " + std::to_string(exchange.status);
            if (attempt >= options.max_attempts) {
                dead_letters.add();
                const std::string attempts = std::to_string(attempt);
                log(LogLevel::error, "emergency alert not delivered",
                    {{"conversation", conversation}, {"delivery", id}, {"attempts", attempts}, {"error", failure}});
                break;
            }
            retries.add();
            net::steady_timer pause(co_await net::this_coro::executor, backoff(attempt));
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        }
        std::lock_guard lock(mutex);
        --pending;
        if (pending == 0) drained.notify_all();
    }

    const AlertOptions options;
    const BotApiEndpoint endpoint;
    const std::string target;
    const AlertMetrics counters;
    Counter& sent;
    Counter& retries;
    Counter& dead_letters;
    net::ssl::context tls{net::ssl::context::tls_client};

    std::mutex mutex;
    std::condition_variable drained;
    std::size_t pending = 0;
    bool stopping = false;
    bool stopped = false;

    // Declared last: destroying the io_context destroys the coroutines still
    // waiting in it, which hold references to the members above.
    net::io_context io{1};
    net::executor_work_guard<net::io_context::executor_type> work;
    std::thread thread;
};

EmergencyAlerts::EmergencyAlerts(AlertOptions options, MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

EmergencyAlerts::~EmergencyAlerts() { stop(std::chrono::milliseconds(0)); }

void EmergencyAlerts::notify(const AdviceGiven& advice) {
    if (advice.level != Level::emergency) return;
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping || impl_->pending >= impl_->options.max_queued) {
        impl_->dead_letters.add();
        log(LogLevel::error, "emergency alert dropped: the queue is full or the server is stopping",
            {{"conversation", advice.conversation}});
        return;
    }
    ++impl_->pending;
    std::string id = store::random_hex(16);
    std::string body = alert_body(advice, id, impl_->options.include_words);
    net::co_spawn(impl_->io, impl_->deliver(advice.conversation, std::move(id), std::move(body)), net::detached);
}

void EmergencyAlerts::stop(std::chrono::milliseconds grace) {
    {
        std::unique_lock lock(impl_->mutex);
        if (impl_->stopped) return;
        impl_->stopping = true;
        impl_->drained.wait_for(lock, grace, [this] { return impl_->pending == 0; });
    }
    impl_->work.reset();
    impl_->io.stop();
    impl_->thread.join();
    std::lock_guard lock(impl_->mutex);
    impl_->stopped = true;
    if (impl_->pending > 0) {
        impl_->dead_letters.add(impl_->pending);
        const std::string count = std::to_string(impl_->pending);
        log(LogLevel::error, "emergency alerts not delivered before the stop", {{"count", count}});
        impl_->pending = 0;
    }
}

}  // namespace backtalk::server
