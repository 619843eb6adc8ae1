#include "tests/hostile/hostile_target.hpp"

#include "tests/support/eventually.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <vector>

namespace backtalk::test {

namespace {

int survived_count = 0;

// The channels' secrets as files (the process helper keeps BACKTALK_*
// variables from the server); the Telegram token is never used, since no
// update gets past the secret check to reach the Bot API.
std::vector<std::string> server_arguments(const TempDir& dir) {
    const auto write = [&dir](const char* name, const std::string& content) {
        const auto path = dir.path() / name;
        std::ofstream(path) << content;
        return path.string();
    };
    return {"--rate", "1000", "--burst", "1000",
            "--max-connections-per-address", std::to_string(per_address_cap),
            "--rest-secret-file", write("rest.secret", rest_secret),
            "--telegram-secret-file", write("telegram.secret", telegram_secret),
            "--telegram-token-file", write("telegram.token", "123456:hostile-suite-token"),
            "--admin-token-file", write("admin.token", admin_token)};
}

}  // namespace

HostileTarget::HostileTarget()
    : server_(dir_.path() / "hostile.db", server_arguments(dir_)),
      bystander_(server_.port(), server_.origin()) {
    bystander_.send({{"type", "start"}, {"locale", "en"}});
    bystander_.receive_turn();
    bystander_.send({{"type", "message"}, {"text", "my lower back hurts"}});
    question_ = last_reply(bystander_.receive_turn());
}

double HostileTarget::metric(const std::string& series) const {
    const std::string text = http_request(port(), "GET", "/metrics").body;
    const std::string line_start = series + " ";
    std::size_t at = 0;
    while ((at = text.find(line_start, at)) != std::string::npos) {
        if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + line_start.size()));
        at += line_start.size();
    }
    return 0;
}

double HostileTarget::metric_reaching(const std::string& series, double at_least,
                                     std::chrono::milliseconds within) const {
    double value = 0;
    eventually([&] { return (value = metric(series)) >= at_least; }, within);
    return value;
}

void HostileTarget::survived(const std::string& attack) {
    INFO("after: ", attack);
    REQUIRE(http_request(port(), "GET", "/healthz").status == 200);
    bystander_.send(answer_to(question_));
    const auto turn = bystander_.receive_turn();
    REQUIRE_FALSE(turn.empty());
    CHECK(turn.back()["end_of_turn"] == true);
    question_ = last_reply(turn);
    CHECK(question_["type"] == "reply");
    ++survived_count;
}

HostileTarget& hostile_target() {
    static const auto target = std::make_unique<HostileTarget>();
    return *target;
}

int hostile_cases_survived() { return survived_count; }

}  // namespace backtalk::test
