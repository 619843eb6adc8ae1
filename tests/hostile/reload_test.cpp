// A rules reload (SIGHUP) with a broken rules file keeps the old rules,
// logs why as a JSON line, and conversations go on.
#include "tests/hostile/process_probe.hpp"
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace backtalk::test;
namespace fs = std::filesystem;

namespace {

// The first JSON log line that mentions `message`; empty when none yet.
json log_line_with(const std::string& log, const std::string& message) {
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.find(message) == std::string::npos) continue;
        return json::parse(line);
    }
    return {};
}

}  // namespace

TEST_CASE("SIGHUP with a broken rules file keeps the old rules and says why") {
    TempDir dir;
    const fs::path rules = dir.path() / "rules";
    fs::copy(fs::path(BACKTALK_SOURCE_DIR) / "rules", rules, fs::copy_options::recursive);
    const fs::path db = dir.path() / "reload.db";
    ServerProcess server(db, {"--rules", rules.string(), "--rate", "1000", "--burst", "1000"});

    ChatClient chat(server.port(), server.origin());
    chat.send({{"type", "start"}, {"locale", "en"}});
    chat.receive_turn();
    chat.send({{"type", "message"}, {"text", "my lower back hurts"}});
    const json question = last_reply(chat.receive_turn());

    {
        std::ofstream broken(rules / "en" / "flow.json", std::ios::trunc);
        broken << "{ \"this is\": not json";
    }
    REQUIRE(::kill(find_server_pid(db), SIGHUP) == 0);
    json refusal;
    for (int attempt = 0; attempt < 200 && refusal.is_null(); ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        refusal = log_line_with(server.log(), "rules reload refused");
    }
    INFO(server.log());
    REQUIRE_FALSE(refusal.is_null());
    const std::string line = refusal.dump();
    CHECK(line.find("flow.json") != std::string::npos);

    // The old rules still answer, on the open socket and on a new one.
    chat.send(answer_to(question));
    const auto turn = chat.receive_turn();
    CHECK(last_reply(turn)["type"] == "reply");
    ChatClient newcomer(server.port(), server.origin());
    newcomer.send({{"type", "message"}, {"text", "my lower back hurts"}});
    CHECK(last_reply(newcomer.receive_turn())["type"] == "reply");
    CHECK(http_request(server.port(), "GET", "/healthz").status == 200);
}
