// /metrics lists every metric family the server's code names, at 0, before
// anything has happened: a rule that alerts on any increase must see the
// first accept error, refused origin or wrong admin token, which it cannot
// when the series only appears with its first event.
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>

using backtalk::test::ServerProcess;
using backtalk::test::TempDir;

namespace {

// Every metric name in adapters/server/*.cpp: a "backtalk_..." string
// literal, or the name in a collector's "# HELP" line.
std::set<std::string> families_in_source() {
    const std::regex name_pattern(R"re((?:"|# HELP )(backtalk_[a-z0-9_]+))re");
    std::set<std::string> names;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(BACKTALK_SOURCE_DIR) / "adapters" / "server")) {
        if (entry.path().extension() != ".cpp") continue;
        std::ifstream in(entry.path());
        const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        for (std::sregex_iterator it(text.begin(), text.end(), name_pattern), end; it != end; ++it) {
            names.insert((*it)[1]);
        }
    }
    return names;
}

// The sample lines of the exposition: name (with labels) -> value.
std::map<std::string, std::string> samples(const std::string& text) {
    std::map<std::string, std::string> result;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        result[line.substr(0, space)] = line.substr(space + 1);
    }
    return result;
}

bool has_sample_of(const std::map<std::string, std::string>& all, const std::string& family) {
    for (const auto& [name, value] : all) {
        const std::string rest = name.substr(0, family.size()) == family ? name.substr(family.size()) : "-";
        if (rest.empty() || rest[0] == '{' || rest.rfind("_bucket", 0) == 0 || rest.rfind("_count", 0) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("/metrics lists every family the code names, at 0, before the first event") {
    TempDir dir;
    // Every channel on, so that their families are there too; the Bot API is
    // never called.
    std::ofstream(dir.path() / "admin.token") << "admin-token-for-tests-0123456789\n";
    std::ofstream(dir.path() / "telegram.secret") << "webhook-secret\n";
    std::ofstream(dir.path() / "telegram.token") << "123:bot-token\n";
    ServerProcess server(dir.path() / "chat.db",
                         {"--admin-token-file", (dir.path() / "admin.token").string(), "--telegram-secret-file",
                          (dir.path() / "telegram.secret").string(), "--telegram-token-file",
                          (dir.path() / "telegram.token").string(), "--telegram-api-base", "http://127.0.0.1:9"});
    const std::string text = backtalk::test::http_request(server.port(), "GET", "/metrics").body;
    INFO(text);
    const auto all = samples(text);

    const auto families = families_in_source();
    // A pattern that no longer matches the code must not pass by finding nothing.
    REQUIRE(families.size() >= 30);
    for (const auto& family : families) {
        CHECK_MESSAGE(has_sample_of(all, family), family);
    }

    // The ones operations.md says to alert on, by their exact series.
    for (const char* series : {"backtalk_accept_errors_total",
                               "backtalk_admin_rejected_total",
                               "backtalk_connections_refused_total",
                               "backtalk_http_timeouts_total",
                               "backtalk_websocket_refused_total{reason=\"origin\"}",
                               "backtalk_websocket_protocol_errors_total",
                               "backtalk_websocket_log_pauses_total",
                               "backtalk_http_responses_total{code=\"500\"}",
                               "backtalk_http_responses_total{code=\"503\"}",
                               "backtalk_errors_total{channel=\"websocket\",code=\"internal\"}",
                               "backtalk_outcomes_total{channel=\"websocket\",level=\"emergency\"}",
                               "backtalk_outcomes_total{channel=\"telegram\",level=\"self_care\"}",
                               "backtalk_rest_rejected_total{reason=\"signature\"}",
                               "backtalk_telegram_rejected_total{reason=\"secret\"}",
                               "backtalk_telegram_api_calls_total{method=\"sendMessage\",result=\"failed\"}",
                               "backtalk_telegram_api_retries_total{reason=\"rate_limited\"}",
                               "backtalk_store_dropped_total"}) {
        const auto found = all.find(series);
        REQUIRE_MESSAGE(found != all.end(), series);
        CHECK_MESSAGE(found->second == "0", series);
    }
}
