// The outbound Bot API client against a stub Bot API: the request shape,
// one chat's calls in order, 429 with retry_after, plain-text fallback,
// errors that are not retried, a bounded queue, a stop with grace, and TLS
// that verifies the certificate and the host name.
#include "adapters/server/bot_api_client.hpp"
#include "adapters/server/metrics.hpp"
#include "tests/store/temp_dir.hpp"
#include "tests/telegram/channel_support.hpp"
#include "tests/telegram/bot_api_stub.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

using backtalk::server::BotApiCall;
using backtalk::server::BotApiClient;
using backtalk::server::BotApiOptions;
using backtalk::server::MetricsRegistry;
using backtalk::server::parse_bot_api_base;
using backtalk::test::BotApiStub;
using backtalk::test::StubTls;
using backtalk::test::TempDir;
using backtalk::test::metric_sample;
using json = nlohmann::json;

namespace {

constexpr const char* token = "123456:TEST-token_value";

BotApiOptions options_for(const BotApiStub& stub) {
    BotApiOptions options;
    options.base_url = stub.base_url();
    options.token = token;
    return options;
}

BotApiCall message(std::int64_t chat_id, const std::string& text) {
    return {"sendMessage", {{"chat_id", chat_id}, {"text", text}}, std::nullopt};
}

// A self-signed certificate for `subject_alt_name`, written into `dir`.
StubTls make_certificate(const TempDir& dir, const std::string& name, const std::string& subject_alt_name) {
    const StubTls files{(dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
    const std::string command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
                                " -subj /CN=backtalk-test -addext subjectAltName=" + subject_alt_name +
                                " -keyout " + files.key_file + " -out " + files.certificate_file + " 2>/dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
    return files;
}

// Points OpenSSL's default trust store at one file while it lives.
class TrustOnly {
public:
    explicit TrustOnly(const std::string& certificate_file) { setenv("SSL_CERT_FILE", certificate_file.c_str(), 1); }
    ~TrustOnly() { unsetenv("SSL_CERT_FILE"); }
    TrustOnly(const TrustOnly&) = delete;
    TrustOnly& operator=(const TrustOnly&) = delete;
};

}  // namespace

TEST_CASE("the Bot API base: scheme, host, port and path prefix") {
    const auto telegram = parse_bot_api_base("https://api.telegram.org");
    CHECK(telegram.tls);
    CHECK(telegram.host == "api.telegram.org");
    CHECK(telegram.port == "443");
    CHECK(telegram.path_prefix.empty());

    const auto local = parse_bot_api_base("http://127.0.0.1:8081/botapi/");
    CHECK_FALSE(local.tls);
    CHECK(local.port == "8081");
    CHECK(local.host_header == "127.0.0.1:8081");
    CHECK(local.path_prefix == "/botapi");

    const auto v6 = parse_bot_api_base("http://[::1]:9000");
    CHECK(v6.host == "::1");
    CHECK(v6.host_header == "[::1]:9000");

    CHECK_THROWS_AS(parse_bot_api_base("ftp://api.telegram.org"), std::invalid_argument);
    CHECK_THROWS_AS(parse_bot_api_base("https://user:pw@api.telegram.org"), std::invalid_argument);
    CHECK_THROWS_AS(parse_bot_api_base("https://api.telegram.org/?x=1"), std::invalid_argument);
    CHECK_THROWS_AS(parse_bot_api_base("not a url"), std::invalid_argument);
}

TEST_CASE("a client needs a token") {
    MetricsRegistry metrics;
    BotApiOptions options;
    CHECK_THROWS_AS(BotApiClient(options, metrics), std::invalid_argument);
}

TEST_CASE("calls go to /bot<token>/<method> as JSON, one chat's in the order sent") {
    BotApiStub stub;
    MetricsRegistry metrics;
    BotApiClient client(options_for(stub), metrics);
    for (int i = 0; i < 5; ++i) CHECK(client.send("chat-1", message(-1001234567890123, std::string("m").append(std::to_string(i)))));
    const auto calls = stub.wait_for_calls(5);
    for (int i = 0; i < 5; ++i) {
        const auto& call = calls[static_cast<std::size_t>(i)];
        CHECK(call.token == token);
        CHECK(call.method == "sendMessage");
        CHECK(call.params["chat_id"].get<std::int64_t>() == -1001234567890123);
        CHECK(call.params["text"] == std::string("m").append(std::to_string(i)));
    }
    client.stop(std::chrono::seconds(5));
    CHECK(client.queued("chat-1") == 0);
    CHECK(metric_sample(metrics.render(), R"(backtalk_telegram_api_calls_total{method="sendMessage",result="ok"})") == 5);
}

TEST_CASE("a 429 waits retry_after for that chat only") {
    BotApiStub stub;
    // Long enough for chat b's call to get through meanwhile, even under
    // sanitizers.
    stub.script({BotApiStub::too_many_requests(3)});
    MetricsRegistry metrics;
    BotApiClient client(options_for(stub), metrics);
    client.send("chat-a", message(1, "a"));
    stub.wait_for_calls(1);
    client.send("chat-b", message(2, "b"));
    const auto calls = stub.wait_for_calls(3);
    CHECK(calls[0].params["text"] == "a");
    CHECK(calls[1].params["text"] == "b");  // not stuck behind chat a's wait
    CHECK(calls[2].params["text"] == "a");
    // Telegram asked for three seconds; the retry honours it.
    CHECK(calls[2].received - calls[0].received >= std::chrono::milliseconds(2950));
    client.stop(std::chrono::seconds(5));
    const auto exposition = metrics.render();
    CHECK(metric_sample(exposition, R"(backtalk_telegram_api_retries_total{reason="rate_limited"})") == 1);
    CHECK(metric_sample(exposition, R"(backtalk_telegram_api_calls_total{method="sendMessage",result="ok"})") == 2);
}

TEST_CASE("HTML that Telegram refuses is sent again as the plain-text fallback, once") {
    BotApiStub stub;
    stub.script({BotApiStub::bad_request("can't parse entities: unsupported start tag"),
                 BotApiStub::bad_request("still wrong")});
    MetricsRegistry metrics;
    BotApiClient client(options_for(stub), metrics);
    client.send("chat", {"sendMessage", {{"chat_id", 1}, {"text", "<b>x"}, {"parse_mode", "HTML"}},
                         json{{"chat_id", 1}, {"text", "x"}}});
    client.send("chat", message(1, "after"));
    const auto calls = stub.wait_for_calls(3);
    CHECK(calls[0].params["parse_mode"] == "HTML");
    CHECK(calls[1].params == json{{"chat_id", 1}, {"text", "x"}});
    CHECK(calls[2].params["text"] == "after");  // the failed call did not block the chat
    client.stop(std::chrono::seconds(5));
    CHECK(stub.calls().size() == 3);
    const auto exposition = metrics.render();
    CHECK(metric_sample(exposition, R"(backtalk_telegram_api_calls_total{method="sendMessage",result="failed"})") == 1);
    CHECK(metric_sample(exposition, R"(backtalk_telegram_api_retries_total{reason="fallback"})") == 1);
}

TEST_CASE("an error that retrying cannot fix is not retried") {
    BotApiStub stub;
    stub.script({{403, R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"})"}});
    MetricsRegistry metrics;
    BotApiClient client(options_for(stub), metrics);
    client.send("chat", {"answerCallbackQuery", {{"callback_query_id", "q"}}, std::nullopt});
    stub.wait_for_calls(1);
    client.stop(std::chrono::seconds(5));
    CHECK(stub.calls().size() == 1);
    CHECK(metric_sample(metrics.render(), R"(backtalk_telegram_api_calls_total{method="answerCallbackQuery",result="failed"})") == 1);
}

TEST_CASE("a server error is retried") {
    BotApiStub stub;
    stub.script({BotApiStub::server_error()});
    MetricsRegistry metrics;
    BotApiClient client(options_for(stub), metrics);
    client.send("chat", message(7, "hello"));
    const auto calls = stub.wait_for_calls(2);
    CHECK(calls[1].params["text"] == "hello");
    client.stop(std::chrono::seconds(5));
    CHECK(metric_sample(metrics.render(), R"(backtalk_telegram_api_retries_total{reason="server_error"})") == 1);
}

TEST_CASE("a retry_after beyond the limit fails the call instead of waiting") {
    BotApiStub stub;
    stub.script({BotApiStub::too_many_requests(3600)});
    MetricsRegistry metrics;
    BotApiClient client(options_for(stub), metrics);
    client.send("chat", message(7, "late"));
    stub.wait_for_calls(1);
    client.stop(std::chrono::seconds(5));
    CHECK(stub.calls().size() == 1);
    CHECK(metric_sample(metrics.render(), R"(backtalk_telegram_api_calls_total{method="sendMessage",result="failed"})") == 1);
}

TEST_CASE("when a piece of a turn is given up, the rest of that turn is dropped, and the next turn goes out") {
    BotApiStub stub;
    stub.script({BotApiStub::too_many_requests(3600)});
    MetricsRegistry metrics;
    BotApiClient client(options_for(stub), metrics);
    const auto piece = [](const std::string& text, std::uint64_t turn) {
        BotApiCall call = message(7, text);
        call.turn = turn;
        return call;
    };
    client.send("chat", piece("turn 1, part 1", 1));
    client.send("chat", piece("turn 1, part 2", 1));
    client.send("chat", piece("turn 1, part 3", 1));
    client.send("chat", piece("turn 2", 2));
    const auto calls = stub.wait_for_calls(2);
    client.stop(std::chrono::seconds(5));
    REQUIRE(stub.calls().size() == 2);
    CHECK(calls[0].params["text"] == "turn 1, part 1");
    CHECK(calls[1].params["text"] == "turn 2");
    CHECK(metric_sample(metrics.render(), R"(backtalk_telegram_api_calls_total{method="sendMessage",result="dropped"})") == 2);
}

TEST_CASE("the queue is bounded, and a stop drops what could not be sent") {
    BotApiStub stub;
    stub.script({BotApiStub::too_many_requests(30)});
    MetricsRegistry metrics;
    auto options = options_for(stub);
    options.max_queued = 2;
    BotApiClient client(options, metrics);
    CHECK(client.send("chat", message(1, "first")));
    CHECK(client.send("chat", message(1, "second")));
    CHECK_FALSE(client.send("chat", message(1, "third")));
    stub.wait_for_calls(1);
    CHECK(client.queued("chat") == 2);
    client.stop(std::chrono::milliseconds(50));
    CHECK_FALSE(client.send("chat", message(1, "after the stop")));
    CHECK(stub.calls().size() == 1);
    CHECK(metric_sample(metrics.render(), R"(backtalk_telegram_api_calls_total{method="sendMessage",result="dropped"})") == 4);
}

TEST_CASE("https: the certificate must be trusted and name the host") {
    TempDir dir;
    const auto right_name = make_certificate(dir, "right", "IP:127.0.0.1");
    const auto wrong_name = make_certificate(dir, "wrong", "DNS:example.org");
    const auto other = make_certificate(dir, "other", "IP:127.0.0.1");

    const auto attempt = [](const StubTls& served, const std::string& trusted) {
        TrustOnly trust(trusted);
        BotApiStub stub(served);
        MetricsRegistry metrics;
        auto options = options_for(stub);
        options.max_attempts = 1;
        BotApiClient client(options, metrics);
        client.send("chat", message(1, "over tls"));
        client.stop(std::chrono::seconds(10));
        return stub.calls().size();
    };
    CHECK(attempt(right_name, right_name.certificate_file) == 1);
    CHECK(attempt(wrong_name, wrong_name.certificate_file) == 0);  // trusted, but for another host
    CHECK(attempt(right_name, other.certificate_file) == 0);       // the right host, but not trusted
}
