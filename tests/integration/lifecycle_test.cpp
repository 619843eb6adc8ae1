// Starting and stopping `backtalk serve`: bad options, restarts that resume
// conversations, and the graceful stop.
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

using backtalk::test::ChatClient;
using backtalk::test::json;
using backtalk::test::ProcessResult;
using backtalk::test::ServerProcess;
using backtalk::test::TempDir;

namespace {

std::vector<json> start(ChatClient& chat, const std::string& session = {}) {
    json object{{"type", "start"}};
    if (!session.empty()) object["session"] = session;
    chat.send(object);
    return chat.receive_turn();
}

// `backtalk serve ARGS` must refuse to start and say `expected` about it.
void refuses(const std::vector<std::string>& args, const std::string& expected) {
    TempDir dir;
    std::vector<std::string> all{"serve", "--db", (dir.path() / "x.db").string()};
    all.insert(all.end(), args.begin(), args.end());
    const ProcessResult result = backtalk::test::run_backtalk(all);
    INFO(result.output);
    CHECK(result.exit_code != 0);
    CHECK(result.signal == 0);
    CHECK(result.output.find(expected) != std::string::npos);
    CHECK(result.output.find("backtalk listening on") == std::string::npos);
}

}  // namespace

TEST_CASE("invalid options fail at start with a clear message") {
    refuses({"--listen", "nonsense"}, "--listen 'nonsense': expected HOST:PORT");
    refuses({"--listen", "127.0.0.1:70000"}, "port must be 0 to 65535");
    refuses({"--listen", "example.org:80"}, "is not an IP address");
    refuses({"--threads", "0"}, "--threads must be 1 to 256");
    refuses({"--allowed-origin", "clinic.example"}, "expected scheme://host[:port]");
    refuses({"--idle-expiry", "soon"}, "duration 'soon'");
    refuses({"--frame-ancestors", "'self'; script-src *"}, "--frame-ancestors");
    refuses({"--rate", "0"}, "--rate must be more than 0");
    refuses({"--retention-days", "40000"}, "--retention-days must be at most 36500");
    refuses({"--memory-idle", "0s"}, "must be more than zero");
    refuses({"--emergency-number", "hello world; rm"}, "is not a number people can dial");
    refuses({"--no-such-option"}, "--no-such-option");
}

TEST_CASE("a port in use fails at start with a clear message") {
    TempDir dir;
    ServerProcess first(dir.path() / "a.db");
    refuses({"--listen", "127.0.0.1:" + std::to_string(first.port())}, "cannot listen on 127.0.0.1:");
}

TEST_CASE("--retention-days purges at start and says so in the log") {
    TempDir dir;
    ServerProcess server(dir.path() / "r.db", {"--retention-days", "30"});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (server.log().find("\"event\":\"retention purge\"") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    INFO(server.log());
    CHECK(server.log().find("\"conversations_removed\":\"0\"") != std::string::npos);
}

TEST_CASE("the start-up log states the settings in effect and never a secret") {
    TempDir dir;
    const std::string admin_token = "admin-token-never-logged-0123456789";
    const std::string telegram_secret = "webhook-secret-never-logged";
    const std::string telegram_token = "123:bot-token-never-logged";
    const std::string rest_secret = "rest-secret-never-logged";
    std::ofstream(dir.path() / "admin.token") << admin_token << "\n";
    std::ofstream(dir.path() / "telegram.secret") << telegram_secret << "\n";
    std::ofstream(dir.path() / "telegram.token") << telegram_token << "\n";
    std::ofstream(dir.path() / "rest.secret") << rest_secret << "\n";
    ServerProcess server(dir.path() / "s.db",
                         {"--threads", "2", "--rate", "7.5", "--retention-days", "30", "--idle-expiry", "2h",
                          "--allowed-origin", "https://clinic.example", "--emergency-number", "999",
                          "--admin-token-file", (dir.path() / "admin.token").string(), "--telegram-secret-file",
                          (dir.path() / "telegram.secret").string(), "--telegram-token-file",
                          (dir.path() / "telegram.token").string(), "--telegram-api-base", "http://127.0.0.1:9",
                          "--rest-secret-file", (dir.path() / "rest.secret").string()});
    const std::string log = server.log();
    INFO(log);
    json settings;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        const json parsed = json::parse(line, nullptr, false);
        if (parsed.is_object() && parsed.value("event", "") == "settings") settings = parsed;
    }
    REQUIRE(settings.is_object());
    CHECK(settings["level"] == "info");
    CHECK(settings["listen"] == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(settings["db"] == (dir.path() / "s.db").string());
    CHECK(settings["threads"] == "2");
    CHECK(settings["rate"] == "7.5");
    CHECK(settings["burst"] == "60");
    CHECK(settings["retention-days"] == "30");
    CHECK(settings["idle-expiry"] == "2h");
    CHECK(settings["memory-idle"] == "10m");
    CHECK(settings["emergency-number"] == "999");
    CHECK(settings["locale"] == "en");
    CHECK(settings["no-log"] == "false");
    CHECK(settings["redact"] == "emails,phones,ids");
    CHECK(settings["allowed-origin"].get<std::string>().find("https://clinic.example") != std::string::npos);
    CHECK_FALSE(settings["rules-version"].get<std::string>().empty());
    CHECK(settings["telegram-webhook"] == "on");
    CHECK(settings["rest-signed"] == "true");
    CHECK(settings["admin"] == "on");
    for (const auto& secret : {admin_token, telegram_secret, telegram_token, rest_secret}) {
        CHECK_MESSAGE(log.find(secret) == std::string::npos, secret);
    }
}

TEST_CASE("without a setting, the start-up log states its default, and the locale's emergency number") {
    TempDir dir;
    ServerProcess server(dir.path() / "d.db");
    const std::string log = server.log();
    INFO(log);
    CHECK(log.find("\"event\":\"settings\"") != std::string::npos);
    CHECK(log.find("\"emergency-number\":\"112\"") != std::string::npos);
    CHECK(log.find("\"admin\":\"off\"") != std::string::npos);
    CHECK(log.find("\"telegram-webhook\":\"off\"") != std::string::npos);
    CHECK(log.find("\"rest-signed\":\"false\"") != std::string::npos);
}

TEST_CASE("a web file that leads outside the web directory stops the start") {
    TempDir dir;
    const auto web = dir.path() / "web";
    std::filesystem::create_directory(web);
    std::ofstream(web / "index.html") << "<!doctype html><title>t</title>";
    std::ofstream(web / "widget.js") << "console.log(1);";
    std::ofstream(web / "markdown.js") << "console.log(2);";
    std::filesystem::create_symlink("/etc/passwd", web / "widget.css");
    refuses({"--web-dir", web.string()}, "leads outside");
}

TEST_CASE("a conversation resumes after a server restart") {
    TempDir dir;
    const auto db = dir.path() / "chat.db";
    std::string session;
    json asked;
    {
        ServerProcess server(db);
        ChatClient chat(server.port());
        const auto opening = start(chat);
        session = opening.front()["session"];
        chat.send(backtalk::test::answer_to(backtalk::test::last_reply(opening)));
        const auto reply = backtalk::test::last_reply(chat.receive_turn());
        chat.send(backtalk::test::answer_to(reply));
        asked = backtalk::test::last_reply(chat.receive_turn())["asking"];
        chat.close();
    }
    ServerProcess restarted(db);
    ChatClient chat(restarted.port());
    const auto resumed = start(chat, session);
    REQUIRE(resumed.front()["type"] == "session");
    CHECK(resumed.front()["session"] == session);
    CHECK(resumed.front()["resumed"] == true);
    CHECK(backtalk::test::last_reply(resumed)["asking"] == asked);
}

TEST_CASE("SIGTERM with a conversation open: close 1001, exit 0 within 5 s, nothing lost") {
    TempDir dir;
    const auto db = dir.path() / "chat.db";
    std::string session;
    json asked;
    {
        ServerProcess server(db);
        ChatClient chat(server.port());
        const auto opening = start(chat);
        session = opening.front()["session"];
        chat.send(backtalk::test::answer_to(backtalk::test::last_reply(opening)));
        asked = backtalk::test::last_reply(chat.receive_turn())["asking"];

        std::optional<ProcessResult> stopped;
        const auto began = std::chrono::steady_clock::now();
        std::thread stopper([&] { stopped = server.stop(SIGTERM, std::chrono::seconds(5)); });
        std::vector<json> received;
        const unsigned code = chat.wait_for_close(&received);
        stopper.join();
        const auto took = std::chrono::steady_clock::now() - began;

        CHECK(code == 1001);
        CHECK(received.empty());
        REQUIRE(stopped.has_value());
        INFO(stopped->output);
        CHECK(stopped->exit_code == 0);
        CHECK(took < std::chrono::seconds(5));
    }
    ServerProcess restarted(db);
    ChatClient chat(restarted.port());
    const auto resumed = start(chat, session);
    CHECK(resumed.front()["resumed"] == true);
    CHECK(backtalk::test::last_reply(resumed)["asking"] == asked);
}

TEST_CASE("a client that ignores the close does not hold up the stop") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    // Connected, never reading: the close handshake cannot complete.
    ChatClient silent(server.port());
    const auto began = std::chrono::steady_clock::now();
    const auto stopped = server.stop(SIGINT, std::chrono::seconds(5));
    REQUIRE(stopped.has_value());
    INFO(stopped->output);
    CHECK(stopped->exit_code == 0);
    CHECK(std::chrono::steady_clock::now() - began < std::chrono::seconds(5));
}

TEST_CASE("four network threads: connections on every thread chat, and all close 1001 at the stop") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db", {"--threads", "4"});
    // Connections go to the threads in turn: nine land on every thread, and
    // threads with fewer connections must still stop.
    std::vector<std::unique_ptr<ChatClient>> chats;
    for (int i = 0; i < 9; ++i) {
        chats.push_back(std::make_unique<ChatClient>(server.port()));
        const auto opening = start(*chats.back());
        REQUIRE(opening.front()["type"] == "session");
        chats.back()->send(backtalk::test::answer_to(backtalk::test::last_reply(opening)));
        CHECK(backtalk::test::last_reply(chats.back()->receive_turn())["type"] == "reply");
    }

    std::optional<ProcessResult> stopped;
    std::thread stopper([&] { stopped = server.stop(SIGTERM, std::chrono::seconds(5)); });
    for (auto& chat : chats) CHECK(chat->wait_for_close() == 1001);
    stopper.join();
    REQUIRE(stopped.has_value());
    INFO(stopped->output);
    CHECK(stopped->exit_code == 0);
    CHECK(stopped->output.find("started with 4 threads") != std::string::npos);
}
