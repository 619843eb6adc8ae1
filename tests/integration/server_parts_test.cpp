// The server library's parts on their own: option parsing, the route table,
// request targets, metrics, the rate limit and the connection caps.
#include "adapters/server/connection_limits.hpp"
#include "adapters/server/http_types.hpp"
#include "adapters/server/log_throttle.hpp"
#include "adapters/server/metrics.hpp"
#include "adapters/server/router.hpp"
#include "adapters/server/server_options.hpp"
#include "adapters/server/token_bucket.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>

using namespace backtalk::server;

TEST_CASE("--listen accepts IPv4, IPv6 and localhost, and names what is wrong") {
    CHECK(parse_listen_address("127.0.0.1:8080").host == "127.0.0.1");
    CHECK(parse_listen_address("127.0.0.1:8080").port == 8080);
    CHECK(parse_listen_address("0.0.0.0:0").port == 0);
    CHECK(parse_listen_address("[::1]:9000").host == "::1");
    CHECK(parse_listen_address("localhost:80").host == "127.0.0.1");
    CHECK_THROWS_WITH_AS(parse_listen_address("8080"), doctest::Contains("expected HOST:PORT"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_listen_address("127.0.0.1:x"), doctest::Contains("not a whole number"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_listen_address("127.0.0.1:65536"), doctest::Contains("0 to 65535"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_listen_address("host.example:80"), doctest::Contains("not an IP address"),
                         std::invalid_argument);
    CHECK_THROWS_AS(parse_listen_address("[::1]9000"), std::invalid_argument);
    CHECK_THROWS_AS(parse_listen_address("::1:9000"), std::invalid_argument);
}

TEST_CASE("durations") {
    CHECK(parse_duration("90") == std::chrono::seconds(90));
    CHECK(parse_duration("90s") == std::chrono::seconds(90));
    CHECK(parse_duration("30m") == std::chrono::minutes(30));
    CHECK(parse_duration("24h") == std::chrono::hours(24));
    CHECK(parse_duration("7d") == std::chrono::hours(24 * 7));
    for (const char* bad : {"", "0", "0h", "h", "-5m", "5 m", "5w", "99999999999999d"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_duration(bad), std::invalid_argument);
    }
}

TEST_CASE("origins compare normalised and the default is the server's own") {
    CHECK(normalise_origin("HTTPS://Clinic.Example/") == "https://clinic.example");
    CHECK(normalise_origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080");
    CHECK(normalise_origin("*") == "*");
    for (const char* bad : {"clinic.example", "https://", "https://a.example/path", "null", "http://a b"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(normalise_origin(bad), std::invalid_argument);
    }
    const auto loopback = own_origins({"127.0.0.1", 8080});
    CHECK(loopback.front() == "http://127.0.0.1:8080");
    CHECK(std::find(loopback.begin(), loopback.end(), "http://localhost:8080") != loopback.end());
    const auto public_address = own_origins({"192.0.2.7", 80});
    CHECK(public_address == std::vector<std::string>{"http://192.0.2.7:80"});
    CHECK(own_origins({"::1", 81}).front() == "http://[::1]:81");
}

TEST_CASE("option checks") {
    ServerOptions options;
    CHECK_NOTHROW(validate(options));
    options.threads = 0;
    CHECK_THROWS_WITH(validate(options), doctest::Contains("--threads"));
    options = {};
    options.frame_ancestors = "'self'; script-src *";
    CHECK_THROWS_WITH(validate(options), doctest::Contains("--frame-ancestors"));
    options = {};
    options.allowed_origins = {"https://ok.example", "bad"};
    CHECK_THROWS_WITH(validate(options), doctest::Contains("'bad'"));
}

TEST_CASE("a log throttle lets one line a minute through and counts the ones it held back") {
    LogThrottle throttle(std::chrono::minutes(1));
    const auto start = LogThrottle::Clock::time_point{} + std::chrono::hours(1);
    CHECK(throttle.admit(start) == std::optional<std::uint64_t>(0));
    CHECK_FALSE(throttle.admit(start + std::chrono::seconds(1)));
    CHECK_FALSE(throttle.admit(start + std::chrono::seconds(59)));
    CHECK(throttle.admit(start + std::chrono::seconds(60)) == std::optional<std::uint64_t>(2));
    CHECK_FALSE(throttle.admit(start + std::chrono::seconds(61)));
    CHECK(throttle.admit(start + std::chrono::minutes(5)) == std::optional<std::uint64_t>(1));
}

TEST_CASE("request targets are decoded, and escapes are refused") {
    const auto plain = parse_target("/widget%2ejs?x=1&y=%20");
    REQUIRE(plain);
    CHECK(plain->path == "/widget.js");
    CHECK(plain->query == "x=1&y= ");
    CHECK(parse_target("/")->path == "/");
    for (const char* bad : {"/../etc/passwd", "/%2e%2e/etc/passwd", "/a/%2E%2E/b", "/a/./b", "/a%00b", "/a%5cb",
                            "/%", "relative", "http://example.org/"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_target(bad));
    }
}

TEST_CASE("the route table: exact, prefix, HEAD from GET, 405 with Allow") {
    Router router;
    const auto answer = [](std::string body) {
        return [body](const Request& request, const RequestContext&) {
            return make_response(request, http::status::ok, body, "text/plain");
        };
    };
    router.add(http::verb::get, "/healthz", answer("health"));
    router.add(http::verb::post, "/api/v1/chat", answer("chat"));
    router.add(http::verb::get, "/api/v1/conversations/*", answer("one"));
    router.add(http::verb::get, "/api/v1/*", answer("api"));

    const auto run = [&](http::verb method, const char* path) -> std::string {
        const auto match = router.find(method, path);
        if (!match.handler) return "none";
        std::string body;
        Request request{method, path, 11};
        (*match.handler)(request, RequestContext{path, "", "127.0.0.1"},
                         [&](Response response) { body = response.body(); });
        return body;
    };
    CHECK(run(http::verb::get, "/healthz") == "health");
    CHECK(run(http::verb::post, "/api/v1/chat") == "chat");
    CHECK(run(http::verb::get, "/api/v1/conversations/abc") == "one");
    CHECK(run(http::verb::get, "/api/v1/stats") == "api");
    CHECK(run(http::verb::get, "/nothing") == "none");
    CHECK(router.find(http::verb::head, "/healthz").strip_body);
    CHECK(router.find(http::verb::get, "/api/v1/chat").allow == "POST");
    CHECK(router.find(http::verb::post, "/healthz").allow == "GET, HEAD");
    CHECK(router.find(http::verb::get, "/nothing").allow.empty());
    CHECK_THROWS_AS(router.add(http::verb::get, "/healthz", answer("again")), std::logic_error);
    CHECK_THROWS_AS(router.add(http::verb::get, "relative", answer("x")), std::logic_error);
}

TEST_CASE("metrics render as Prometheus text") {
    MetricsRegistry metrics;
    metrics.counter("t_errors_total", "Errors", {{"code", "too_long"}}).add(2);
    metrics.counter("t_errors_total", "Errors", {{"code", "quote\"d"}}).add();
    metrics.gauge("t_open", "Open").set(3);
    auto& latency = metrics.histogram("t_seconds", "Latency", {0.001, 0.01});
    latency.observe(0.0005);
    latency.observe(0.005);
    latency.observe(5);
    metrics.add_collector([](std::string& out) { out += "t_collected 7\n"; });
    const auto text = metrics.render();
    CHECK(text.find("# TYPE t_errors_total counter\n") != std::string::npos);
    CHECK(text.find("t_errors_total{code=\"too_long\"} 2\n") != std::string::npos);
    CHECK(text.find("t_errors_total{code=\"quote\\\"d\"} 1\n") != std::string::npos);
    CHECK(text.find("t_open 3\n") != std::string::npos);
    CHECK(text.find("t_seconds_bucket{le=\"0.001\"} 1\n") != std::string::npos);
    CHECK(text.find("t_seconds_bucket{le=\"0.01\"} 2\n") != std::string::npos);
    CHECK(text.find("t_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("t_seconds_count 3\n") != std::string::npos);
    CHECK(text.find("t_seconds_sum 5.0055") != std::string::npos);
    CHECK(text.find("t_collected 7\n") != std::string::npos);
    CHECK_THROWS_AS(metrics.gauge("t_errors_total", "Errors"), std::logic_error);
}

TEST_CASE("the token bucket allows a burst, then the rate") {
    const auto t0 = TokenBucket::Clock::time_point{};
    TokenBucket bucket(5.0, 10.0, t0);
    for (int i = 0; i < 10; ++i) CHECK(bucket.try_take(t0));
    CHECK_FALSE(bucket.try_take(t0));
    CHECK(bucket.try_take(t0 + std::chrono::milliseconds(200)));
    CHECK_FALSE(bucket.try_take(t0 + std::chrono::milliseconds(200)));
    // A long pause refills to the burst, no more.
    const auto later = t0 + std::chrono::hours(1);
    for (int i = 0; i < 10; ++i) CHECK(bucket.try_take(later));
    CHECK_FALSE(bucket.try_take(later));
}

TEST_CASE("connection caps in total and per address and leases give back") {
    auto limits = std::make_shared<ConnectionLimits>(3, 2);
    auto a1 = limits->try_acquire("10.0.0.1");
    auto a2 = limits->try_acquire("10.0.0.1");
    CHECK(static_cast<bool>(a1));
    CHECK(static_cast<bool>(a2));
    CHECK_FALSE(static_cast<bool>(limits->try_acquire("10.0.0.1")));
    auto b1 = limits->try_acquire("10.0.0.2");
    CHECK(static_cast<bool>(b1));
    CHECK_FALSE(static_cast<bool>(limits->try_acquire("10.0.0.3")));
    CHECK(limits->open() == 3);
    {
        ConnectionLease moved = std::move(a1);
        CHECK_FALSE(static_cast<bool>(a1));
        CHECK(limits->open() == 3);
    }
    CHECK(limits->open() == 2);
    CHECK(static_cast<bool>(limits->try_acquire("10.0.0.1")));  // released again at once
    CHECK(limits->open() == 2);
}
