// Emergency alerts against a webhook stub on 127.0.0.1: what is sent and
// how it is signed, retries with growing waits, dead letters, and nothing
// for advice below the emergency level.
#include "adapters/server/channel_secrets.hpp"
#include "adapters/server/emergency_alerts.hpp"
#include "adapters/server/metrics.hpp"
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"
#include "webhook_stub.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fstream>
#include <stdexcept>
#include <thread>

using namespace backtalk;
using namespace backtalk::server;
using nlohmann::json;

namespace {

const std::string secret = "alert-secret-for-tests";

AdviceGiven emergency() {
    AdviceGiven advice;
    advice.conversation = "0190f0c1a2b3c4d5e6f708192a3b4c5d";
    advice.channel = "websocket";
    advice.level = Level::emergency;
    advice.basis = {{"EM-1", Level::emergency, {{"saddle_numbness", "yes", 3}, {"bladder_new", "yes", 3}}}};
    advice.at_ms = 1714521600123;  // 2024-05-01T00:00:00.123Z
    advice.words = "numb down there and I can't pee";
    return advice;
}

AlertOptions options_for(const test::WebhookStub& stub) {
    AlertOptions options;
    options.url = stub.url();
    options.secret = secret;
    options.first_retry = std::chrono::milliseconds(100);
    options.timeout = std::chrono::seconds(5);
    return options;
}

std::uint64_t counter(MetricsRegistry& metrics, const char* name) { return metrics.counter(name, "").value(); }

// Waits for a counter that is bumped after the stub has answered.
void wait_for(MetricsRegistry& metrics, const char* name, std::uint64_t value) {
    for (int i = 0; i < 200 && counter(metrics, name) < value; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    REQUIRE(counter(metrics, name) == value);
}

// A port nothing listens on: bound, then closed.
std::uint16_t closed_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

}  // namespace

TEST_CASE("an emergency outcome is posted once, signed, with the rule ids and no words") {
    test::WebhookStub stub;
    MetricsRegistry metrics;
    EmergencyAlerts alerts(options_for(stub), metrics);
    // Listed from the start, so the first dead letter is an increase.
    CHECK(metrics.render().find("backtalk_alerts_dead_letter_total 0") != std::string::npos);

    alerts.notify(emergency());
    const auto calls = stub.wait_for_calls(1);
    wait_for(metrics, "backtalk_alerts_sent_total", 1);
    const auto& call = calls.front();
    CHECK(call.target == "/alerts");
    CHECK(call.headers.at("content-type") == "application/json");
    CHECK(call.headers.at("x-backtalk-event") == "emergency_outcome");
    CHECK(call.headers.at("x-backtalk-signature") == "sha256=" + hmac_sha256_hex(secret, call.body));
    const json body = json::parse(call.body);
    CHECK(body["event"] == "emergency_outcome");
    CHECK(body["conversation"] == "0190f0c1a2b3c4d5e6f708192a3b4c5d");
    CHECK(body["level"] == "emergency");
    CHECK(body["rules"] == json::array({"EM-1"}));
    CHECK(body["time"] == "2024-05-01T00:00:00.123Z");
    CHECK(body["time_ms"] == 1714521600123);
    CHECK(body["id"] == call.headers.at("x-backtalk-delivery"));
    CHECK_FALSE(body.contains("words"));
    CHECK(call.body.find("numb") == std::string::npos);
    CHECK(counter(metrics, "backtalk_alerts_retries_total") == 0);
    CHECK(counter(metrics, "backtalk_alerts_dead_letter_total") == 0);
}

TEST_CASE("the person's words go only when configured") {
    test::WebhookStub stub;
    MetricsRegistry metrics;
    auto options = options_for(stub);
    options.include_words = true;
    EmergencyAlerts alerts(options, metrics);
    alerts.notify(emergency());
    const json body = json::parse(stub.wait_for_calls(1).front().body);
    CHECK(body["words"] == "numb down there and I can't pee");
}

TEST_CASE("advice below the emergency level sends nothing") {
    test::WebhookStub stub;
    MetricsRegistry metrics;
    EmergencyAlerts alerts(options_for(stub), metrics);
    for (const Level level : {Level::self_care, Level::gp_soon, Level::urgent}) {
        AdviceGiven advice = emergency();
        advice.level = level;
        alerts.notify(advice);
    }
    alerts.notify(emergency());
    stub.wait_for_calls(1);
    alerts.stop(std::chrono::seconds(5));
    CHECK(stub.calls().size() == 1);
}

TEST_CASE("a failed delivery is tried again after waits that double, with the same id and signature") {
    test::WebhookStub stub;
    stub.script({500, 503});
    MetricsRegistry metrics;
    EmergencyAlerts alerts(options_for(stub), metrics);
    alerts.notify(emergency());
    const auto calls = stub.wait_for_calls(3);
    wait_for(metrics, "backtalk_alerts_sent_total", 1);
    CHECK(counter(metrics, "backtalk_alerts_retries_total") == 2);
    CHECK(counter(metrics, "backtalk_alerts_dead_letter_total") == 0);
    CHECK(calls[1].received - calls[0].received >= std::chrono::milliseconds(100));
    CHECK(calls[2].received - calls[1].received >= std::chrono::milliseconds(200));
    CHECK(calls[0].body == calls[2].body);
    CHECK(calls[0].headers.at("x-backtalk-delivery") == calls[2].headers.at("x-backtalk-delivery"));
    CHECK(calls[0].headers.at("x-backtalk-signature") == calls[2].headers.at("x-backtalk-signature"));
}

TEST_CASE("an alert refused at every attempt is a dead letter") {
    test::WebhookStub stub;
    stub.script({500, 400, 502});
    MetricsRegistry metrics;
    auto options = options_for(stub);
    options.max_attempts = 3;
    EmergencyAlerts alerts(options, metrics);
    alerts.notify(emergency());
    stub.wait_for_calls(3);
    wait_for(metrics, "backtalk_alerts_dead_letter_total", 1);
    CHECK(counter(metrics, "backtalk_alerts_sent_total") == 0);
    CHECK(counter(metrics, "backtalk_alerts_retries_total") == 2);
    alerts.stop(std::chrono::seconds(1));
    CHECK(stub.calls().size() == 3);
}

TEST_CASE("an unreachable webhook ends in a dead letter, and so does an alert still queued at the stop") {
    MetricsRegistry metrics;
    AlertOptions options;
    options.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/alerts";
    options.secret = secret;
    options.max_attempts = 2;
    options.first_retry = std::chrono::milliseconds(50);
    {
        EmergencyAlerts alerts(options, metrics);
        alerts.notify(emergency());
        wait_for(metrics, "backtalk_alerts_dead_letter_total", 1);
    }
    options.max_attempts = 100;
    options.first_retry = std::chrono::seconds(60);
    EmergencyAlerts alerts(options, metrics);
    alerts.notify(emergency());
    alerts.stop(std::chrono::milliseconds(100));
    CHECK(counter(metrics, "backtalk_alerts_dead_letter_total") == 2);
    alerts.notify(emergency());  // after the stop: dropped, counted
    CHECK(counter(metrics, "backtalk_alerts_dead_letter_total") == 3);
}

TEST_CASE("alerts need a secret and an http(s) URL") {
    AlertOptions options;
    CHECK_NOTHROW(validate(options));  // off
    options.url = "http://127.0.0.1:9/alerts";
    CHECK_THROWS_AS(validate(options), std::invalid_argument);
    options.secret = secret;
    CHECK_NOTHROW(validate(options));
    options.url = "ftp://example.org/alerts";
    CHECK_THROWS_AS(validate(options), std::invalid_argument);
}

TEST_CASE("backtalk serve alerts the webhook when a conversation ends in an emergency, naming EM-1") {
    test::WebhookStub stub;
    test::TempDir dir;
    const auto secret_file = dir.path() / "alert-secret";
    std::ofstream(secret_file) << secret << '\n';
    test::ServerProcess server(dir.path() / "chat.db",
                               {"--alert-webhook-url", stub.url("/hooks/backtalk"), "--alert-secret-file",
                                secret_file.string()});
    const auto post = [&](const json& body) {
        const auto reply = test::http_request(server.port(), "POST", "/api/v1/chat",
                                              {{"Content-Type", "application/json"}}, body.dump());
        REQUIRE(reply.status == 200);
        return json::parse(reply.body);
    };
    const std::string session = post({{"text", "my lower back hurts since I lifted boxes yesterday"}})["session"];
    const json advice = post({{"session", session},
                              {"text", "since last night I'm numb around my bottom and I can't pee properly"}});
    REQUIRE(advice["replies"].back()["triage"]["level"] == "emergency");

    const auto call = stub.wait_for_calls(1).front();
    CHECK(call.target == "/hooks/backtalk");
    CHECK(call.headers.at("x-backtalk-signature") == "sha256=" + hmac_sha256_hex(secret, call.body));
    const json body = json::parse(call.body);
    CHECK(body["conversation"] == session);
    CHECK(body["channel"] == "rest");
    CHECK(body["level"] == "emergency");
    CHECK(body["rules"][0] == "EM-1");
    CHECK(call.body.find("numb") == std::string::npos);  // no words unless configured
    // Counted once the stub's answer is read, a moment after it arrived.
    test::HttpReply metrics;
    for (int i = 0; i < 100; ++i) {
        metrics = test::http_request(server.port(), "GET", "/metrics");
        if (metrics.body.find("backtalk_alerts_sent_total 1") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(metrics.body.find("backtalk_alerts_sent_total 1") != std::string::npos);
    CHECK(metrics.body.find("backtalk_alerts_dead_letter_total 0") != std::string::npos);
}
