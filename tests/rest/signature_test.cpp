// The channels' secrets in-process: where they are read from, HMAC-SHA256
// against a published test vector, the REST signature check, and the
// options that must stop `backtalk serve` before it starts.
#include "adapters/server/channel_routes.hpp"
#include "adapters/server/channel_secrets.hpp"
#include "adapters/server/rest_chat.hpp"
#include "tests/store/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

using namespace backtalk::server;
using backtalk::test::TempDir;

namespace {

constexpr std::int64_t now = 1767225600;

Request signed_request(const std::string& body, const std::string& timestamp, const std::string& signature) {
    Request request{http::verb::post, "/api/v1/chat", 11};
    request.set("X-Backtalk-Timestamp", timestamp);
    request.set("X-Backtalk-Signature", signature);
    request.body() = body;
    return request;
}

std::string sign(const std::string& secret, std::int64_t timestamp, const std::string& body) {
    return "sha256=" + hmac_sha256_hex(secret, std::to_string(timestamp) + "." + body);
}

// Sets an environment variable while it lives.
class Environment {
public:
    Environment(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
    ~Environment() { unsetenv(name_); }
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

private:
    const char* name_;
};

}  // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2") {
    CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("secrets compare equal only when they are equal") {
    CHECK(secrets_equal("s3cret", "s3cret"));
    CHECK_FALSE(secrets_equal("s3cret", "s3creT"));
    CHECK_FALSE(secrets_equal("s3cret", "s3cret "));
    CHECK_FALSE(secrets_equal("", "s3cret"));
}

TEST_CASE("the REST signature: timestamp and body under the secret, within the allowed skew") {
    const std::string body = R"({"text":"hello"})";
    const auto skew = std::chrono::seconds(300);
    CHECK(signature_problem(signed_request(body, std::to_string(now), sign("k", now, body)), "k", now, skew).empty());
    CHECK(signature_problem(signed_request(body, std::to_string(now - 300), sign("k", now - 300, body)), "k", now, skew)
              .empty());
    CHECK(signature_problem(signed_request(body, std::to_string(now - 301), sign("k", now - 301, body)), "k", now, skew)
              .find("seconds away") != std::string::npos);
    CHECK(signature_problem(signed_request(body, std::to_string(now + 301), sign("k", now + 301, body)), "k", now, skew)
              .find("seconds away") != std::string::npos);
    CHECK(signature_problem(signed_request(body + " ", std::to_string(now), sign("k", now, body)), "k", now, skew) ==
          "the signature does not match");
    CHECK(signature_problem(signed_request(body, std::to_string(now), sign("other", now, body)), "k", now, skew) ==
          "the signature does not match");
    CHECK(signature_problem(signed_request(body, "-5", sign("k", now, body)), "k", now, skew) ==
          "X-Backtalk-Timestamp must be unix time in seconds");
    CHECK(signature_problem(signed_request(body, "99999999999999999999", "sha256=00"), "k", now, skew) ==
          "X-Backtalk-Timestamp must be unix time in seconds");
    CHECK(signature_problem(signed_request(body, std::to_string(now), "md5=00"), "k", now, skew) ==
          "X-Backtalk-Signature must be sha256=<hex>");
    CHECK(signature_problem(signed_request(body, "", "x"), "k", now, skew) == "missing X-Backtalk-Timestamp");
    CHECK(signature_problem(signed_request(body, "1", ""), "k", now, skew) == "missing X-Backtalk-Signature");
}

TEST_CASE("a secret comes from its file, else from the environment") {
    TempDir dir;
    const auto file = dir / "secret";
    std::ofstream(file) << "  from-the-file \n";
    Environment environment("BACKTALK_TEST_SECRET", "from-the-environment\n");
    CHECK(load_secret("BACKTALK_TEST_SECRET", file.string()) == "from-the-file");
    CHECK(load_secret("BACKTALK_TEST_SECRET", "") == "from-the-environment");
    CHECK(load_secret("BACKTALK_TEST_UNSET_SECRET", "").empty());
    CHECK_THROWS_WITH_AS(load_secret("X", (dir / "missing").string()),
                         doctest::Contains("cannot read the secret file"), std::runtime_error);
    std::ofstream(dir / "empty") << "\n";
    CHECK_THROWS_WITH_AS(load_secret("X", (dir / "empty").string()), doctest::Contains("is empty"), std::runtime_error);
}

TEST_CASE("Telegram's rules for a webhook secret_token") {
    CHECK(is_valid_telegram_secret("abc_DEF-123"));
    CHECK(is_valid_telegram_secret(std::string(256, 'a')));
    CHECK_FALSE(is_valid_telegram_secret(std::string(257, 'a')));
    CHECK_FALSE(is_valid_telegram_secret(""));
    CHECK_FALSE(is_valid_telegram_secret("has space"));
    CHECK_FALSE(is_valid_telegram_secret("semi;colon"));
}

TEST_CASE("options that stop backtalk serve before it starts") {
    TempDir dir;
    std::ofstream(dir / "secret") << "good_secret-1\n";
    std::ofstream(dir / "bad-secret") << "not allowed!\n";
    std::ofstream(dir / "token") << "123:abc\n";

    ChannelOptions options;
    options.telegram_secret_file = (dir / "secret").string();
    CHECK_THROWS_WITH_AS(load_channel_config(options), doctest::Contains("needs the bot token"), std::invalid_argument);

    options.telegram_token_file = (dir / "token").string();
    const auto config = load_channel_config(options);
    CHECK(config.telegram.secret == "good_secret-1");
    CHECK(config.telegram.api.token == "123:abc");
    CHECK(config.telegram.api.base_url == "https://api.telegram.org");

    options.telegram_api_base = "ftp://example.org";
    CHECK_THROWS_WITH_AS(load_channel_config(options), doctest::Contains("http:// or https://"), std::invalid_argument);

    options.telegram_api_base = "https://api.telegram.org";
    options.telegram_secret_file = (dir / "bad-secret").string();
    CHECK_THROWS_WITH_AS(load_channel_config(options), doctest::Contains("A-Z, a-z, 0-9"), std::invalid_argument);

    // Without a webhook secret the token is not needed and Telegram stays off.
    const auto off = load_channel_config(ChannelOptions{});
    CHECK(off.telegram.secret.empty());
    CHECK(off.rest.secret.empty());
}
