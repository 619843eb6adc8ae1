#include "adapters/server/bot_api_client.hpp"

#include "adapters/server/http_post.hpp"
#include "adapters/server/log.hpp"
#include "adapters/server/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <pthread.h>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace backtalk::server {

namespace net = boost::asio;

BotApiEndpoint parse_bot_api_base(std::string_view base_url) {
    const auto parsed = boost::urls::parse_uri(base_url);
    if (!parsed) throw std::invalid_argument("the Bot API base is not a URL: " + std::string(base_url));
    const auto& url = *parsed;
    BotApiEndpoint endpoint;
    if (url.scheme() == "https") {
        endpoint.tls = true;
    } else if (url.scheme() == "http") {
        endpoint.tls = false;
    } else {
        throw std::invalid_argument("the Bot API base must be an http:// or https:// URL: " + std::string(base_url));
    }
    if (url.has_userinfo() || url.has_query() || url.has_fragment()) {
        throw std::invalid_argument("the Bot API base takes no user, query or fragment: " + std::string(base_url));
    }
    endpoint.host = url.host_address();
    if (endpoint.host.empty()) throw std::invalid_argument("the Bot API base has no host: " + std::string(base_url));
    endpoint.port = url.has_port() ? std::string(url.port()) : (endpoint.tls ? "443" : "80");
    endpoint.host_header = url.encoded_host_and_port();
    endpoint.path_prefix = url.encoded_path();
    while (!endpoint.path_prefix.empty() && endpoint.path_prefix.back() == '/') endpoint.path_prefix.pop_back();
    return endpoint;
}

namespace {

constexpr std::chrono::seconds max_backoff{30};

using Exchange = HttpExchange;

// What Telegram's JSON answer says.
struct Verdict {
    bool ok = false;
    int error_code = 0;
    std::string description;
    std::optional<int> retry_after;
};

Verdict read_verdict(const Exchange& exchange) {
    Verdict verdict;
    verdict.error_code = static_cast<int>(exchange.status);
    const auto body = nlohmann::json::parse(exchange.body, nullptr, false);
    if (body.is_object()) {
        if (const auto ok = body.find("ok"); ok != body.end() && ok->is_boolean()) verdict.ok = ok->get<bool>();
        if (const auto code = body.find("error_code"); code != body.end() && code->is_number_integer()) {
            verdict.error_code = code->get<int>();
        }
        if (const auto text = body.find("description"); text != body.end() && text->is_string()) {
            verdict.description = text->get<std::string>();
        }
        if (const auto parameters = body.find("parameters"); parameters != body.end() && parameters->is_object()) {
            if (const auto wait = parameters->find("retry_after"); wait != parameters->end() && wait->is_number_integer()) {
                verdict.retry_after = wait->get<int>();
            }
        }
    }
    if (!verdict.retry_after && !exchange.retry_after_header.empty()) {
        try {
            verdict.retry_after = std::stoi(exchange.retry_after_header);
        } catch (const std::exception&) {
            // An HTTP date or garbage: the default wait applies.
        }
    }
    verdict.ok = verdict.ok && exchange.status == 200;
    return verdict;
}

}  // namespace

struct BotApiClient::Impl {
    Impl(BotApiOptions client_options, MetricsRegistry& registry)
        : options(std::move(client_options)),
          endpoint(parse_bot_api_base(options.base_url)),
          metrics(registry),
          queue_gauge(registry.gauge("backtalk_telegram_api_queue", "Bot API calls queued or in flight")),
          work(net::make_work_guard(io)) {
        if (options.token.empty()) throw std::invalid_argument("the Telegram bot token is empty");
        for (const char* reason : {"network", "rate_limited", "server_error", "fallback"}) retries(reason);
        if (endpoint.tls) {
            tls.set_default_verify_paths();
            tls.set_verify_mode(net::ssl::verify_peer);
        }
        thread = std::thread([this] {
            pthread_setname_np(pthread_self(), "backtalk-botapi");
            io.run();
        });
    }

    Counter& calls(const std::string& method, const char* result) {
        return metrics.counter("backtalk_telegram_api_calls_total", "Bot API calls made, by method and result",
                               {{"method", method}, {"result", result}});
    }
    Counter& retries(const char* reason) {
        return metrics.counter("backtalk_telegram_api_retries_total", "Bot API calls tried again, by reason",
                               {{"reason", reason}});
    }

    std::string target(const std::string& method) const {
        return endpoint.path_prefix + "/bot" + options.token + "/" + method;
    }

    // One attempt on a fresh connection.
    net::awaitable<Exchange> post(const std::string& method, const std::string& body) {
        // Named, not a temporary in the co_await (see http_post.hpp).
        const HttpPost post{target(method), {}, body};
        co_return co_await http_post(endpoint, post, options.timeout, tls);
    }

    // True when Telegram took the call.
    net::awaitable<bool> deliver(BotApiCall call) {
        bool fallback_used = false;
        for (int attempt = 1;; ++attempt) {
            const Exchange exchange = co_await post(call.method, call.params.dump());
            std::optional<std::chrono::seconds> wait;  // empty: trying again will not help
            const char* retry_reason = "network";
            std::string failure;
            if (exchange.error) {
                failure = "network: " + exchange.error.message();
                wait = backoff(attempt);
            } else {
                const Verdict verdict = read_verdict(exchange);
                if (verdict.ok) {
                    calls(call.method, "ok").add();
                    co_return true;
                }
                failure = std::to_string(verdict.error_code) + " " + verdict.description;
                if (verdict.error_code == 429) {
                    const std::chrono::seconds asked{std::max(1, verdict.retry_after.value_or(1))};
                    if (asked <= options.max_retry_after) wait = asked;
                    retry_reason = "rate_limited";
                } else if (exchange.status >= 500) {
                    wait = backoff(attempt);
                    retry_reason = "server_error";
                } else if (exchange.status == 400 && call.fallback && !fallback_used) {
                    call.params = std::move(*call.fallback);
                    call.fallback.reset();
                    fallback_used = true;
                    retries("fallback").add();
                    continue;
                }
            }
            if (!wait || attempt >= options.max_attempts) {
                calls(call.method, "failed").add();
                const std::string attempts = std::to_string(attempt);
                log(LogLevel::warn, "telegram api call failed",
                    {{"method", call.method}, {"attempts", attempts}, {"error", failure}});
                co_return false;
            }
            retries(retry_reason).add();
            net::steady_timer pause(co_await net::this_coro::executor, *wait);
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        }
    }

    static std::chrono::seconds backoff(int attempt) {
        return std::min(max_backoff, std::chrono::seconds(1 << std::min(attempt - 1, 5)));
    }

    // Sends the calls queued under `key` one after the other, then ends.
    net::awaitable<void> drain(std::string key) {
        for (;;) {
            BotApiCall call;
            {
                std::lock_guard lock(mutex);
                call = queues.at(key).front();
            }
            const std::uint64_t turn = call.turn;
            const bool delivered = co_await deliver(std::move(call));
            std::lock_guard lock(mutex);
            auto queue = queues.find(key);
            queue->second.pop_front();
            --total;
            queue_gauge.add(-1);
            while (!delivered && turn != 0 && !queue->second.empty() && queue->second.front().turn == turn) {
                calls(queue->second.front().method, "dropped").add();
                queue->second.pop_front();
                --total;
                queue_gauge.add(-1);
            }
            if (queue->second.empty()) {
                queues.erase(queue);
                if (total == 0) drained.notify_all();
                co_return;
            }
        }
    }

    const BotApiOptions options;
    const BotApiEndpoint endpoint;
    MetricsRegistry& metrics;
    Gauge& queue_gauge;
    net::ssl::context tls{net::ssl::context::tls_client};

    mutable std::mutex mutex;
    std::condition_variable drained;
    std::unordered_map<std::string, std::deque<BotApiCall>> queues;  // front: in flight
    std::size_t total = 0;
    bool stopping = false;
    bool stopped = false;

    // Declared last: destroying the io_context destroys the coroutines still
    // waiting in it, which hold references to the members above.
    net::io_context io{1};
    net::executor_work_guard<net::io_context::executor_type> work;
    std::thread thread;
};

BotApiClient::BotApiClient(BotApiOptions options, MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

BotApiClient::~BotApiClient() { stop(std::chrono::milliseconds(0)); }

bool BotApiClient::send(const std::string& queue_key, BotApiCall call) {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping || impl_->total >= impl_->options.max_queued) {
        impl_->calls(call.method, "dropped").add();
        return false;
    }
    auto [queue, idle] = impl_->queues.try_emplace(queue_key);
    queue->second.push_back(std::move(call));
    ++impl_->total;
    impl_->queue_gauge.add(1);
    if (idle) net::co_spawn(impl_->io, impl_->drain(queue_key), net::detached);
    return true;
}

void BotApiClient::list_calls_of(const std::string& method) {
    for (const char* result : {"ok", "failed", "dropped"}) impl_->calls(method, result);
}

std::size_t BotApiClient::queued(const std::string& queue_key) const {
    std::lock_guard lock(impl_->mutex);
    const auto queue = impl_->queues.find(queue_key);
    return queue == impl_->queues.end() ? 0 : queue->second.size();
}

void BotApiClient::stop(std::chrono::milliseconds grace) {
    {
        std::unique_lock lock(impl_->mutex);
        if (impl_->stopped) return;
        impl_->stopping = true;
        impl_->drained.wait_for(lock, grace, [this] { return impl_->total == 0; });
    }
    impl_->work.reset();
    impl_->io.stop();
    impl_->thread.join();
    std::lock_guard lock(impl_->mutex);
    impl_->stopped = true;
    for (const auto& [key, queue] : impl_->queues) {
        for (const auto& call : queue) impl_->calls(call.method, "dropped").add();
    }
    if (impl_->total > 0) {
        const std::string count = std::to_string(impl_->total);
        log(LogLevel::warn, "telegram api calls not sent before the stop", {{"count", count}});
    }
    impl_->queue_gauge.add(-static_cast<std::int64_t>(impl_->total));
    impl_->total = 0;
    impl_->queues.clear();
}

}  // namespace backtalk::server
