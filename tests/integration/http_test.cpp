// The HTTP side of `backtalk serve`: the widget files, /healthz, /metrics,
// limits and error statuses, and paths that try to leave the web folder.
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

using backtalk::test::ChatClient;
using backtalk::test::HttpReply;
using backtalk::test::json;
using backtalk::test::ServerProcess;
using backtalk::test::TempDir;

namespace {

std::string source_file(const std::string& relative) {
    std::ifstream in(std::string(BACKTALK_SOURCE_DIR) + "/" + relative, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void check_security_headers(const HttpReply& reply) {
    const auto csp = reply.header("Content-Security-Policy");
    CHECK(csp.find("script-src 'self'") != std::string::npos);
    CHECK(csp.find("frame-ancestors") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(reply.header("X-Content-Type-Options") == "nosniff");
    CHECK_FALSE(reply.header("Referrer-Policy").empty());
}

// A line of the Prometheus text that starts with `prefix`; its value.
double metric(const std::string& text, const std::string& prefix) {
    std::size_t at = 0;
    while ((at = text.find(prefix, at)) != std::string::npos) {
        if (at == 0 || text[at - 1] == '\n') {
            const auto space = text.find(' ', at + prefix.size());
            return std::stod(text.substr(space + 1));
        }
        at += prefix.size();
    }
    FAIL("no metric " << prefix);
    return 0;
}

}  // namespace

TEST_CASE("the demo page and the widget files, with security headers") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    // The widget is served with the markdown renderer it shares with /admin in front.
    const std::string widget = source_file("adapters/web/markdown.js") + source_file("adapters/web/widget.js");
    const struct {
        const char* target;
        std::string body;
        const char* type;
    } files[] = {{"/", source_file("adapters/web/index.html"), "text/html"},
                 {"/widget.js", widget, "text/javascript"},
                 {"/widget.css", source_file("adapters/web/widget.css"), "text/css"},
                 {"/?utm_source=test", source_file("adapters/web/index.html"), "text/html"}};
    for (const auto& file : files) {
        CAPTURE(file.target);
        const auto reply = backtalk::test::http_request(server.port(), "GET", file.target);
        CHECK(reply.status == 200);
        CHECK(reply.header("Content-Type").rfind(file.type, 0) == 0);
        CHECK(reply.body == file.body);
        check_security_headers(reply);

        const auto again = backtalk::test::http_request(server.port(), "GET", file.target,
                                                        {{"If-None-Match", reply.header("ETag")}});
        CHECK(again.status == 304);
        CHECK(again.body.empty());
    }
    const auto head = backtalk::test::http_request(server.port(), "HEAD", "/widget.js");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.header("Content-Length") == std::to_string(widget.size()));
}

TEST_CASE("frame-ancestors is configurable so other sites can embed the page") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db", {"--frame-ancestors", "'self' https://clinic.example"});
    const auto reply = backtalk::test::http_request(server.port(), "GET", "/");
    CHECK(reply.header("Content-Security-Policy").find("frame-ancestors 'self' https://clinic.example") !=
          std::string::npos);
}

TEST_CASE("paths that try to leave the web folder get 400 or 404, never a file") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    const char* attempts[] = {
        "/../../../../etc/passwd",     "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd",
        "/%2e%2e%5c%2e%2e%5cetc%5cpasswd", "/widget.js%00.txt",            "/widget.js/../../CMakeLists.txt",
        "/./CMakeLists.txt",           "/CMakeLists.txt",                  "//etc/passwd",
        "/adapters/web/widget.js",     "/%",                               "/rules/en/meta.json"};
    const auto root_cmake = source_file("CMakeLists.txt");
    for (const char* target : attempts) {
        CAPTURE(target);
        const auto reply = backtalk::test::http_raw(
            server.port(), std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CHECK((reply.status == 400 || reply.status == 404));
        CHECK(reply.body.find("root:") == std::string::npos);
        CHECK(reply.body.find("cmake_minimum_required") == std::string::npos);
        CHECK(reply.body.find("locale") == std::string::npos);
        check_security_headers(reply);
    }
    // An encoded name of a file we do serve is still that file.
    CHECK(backtalk::test::http_request(server.port(), "GET", "/widget%2ejs").status == 200);
}

TEST_CASE("/healthz says the server and the database are ok") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    const auto reply = backtalk::test::http_request(server.port(), "GET", "/healthz");
    CHECK(reply.status == 200);
    CHECK(reply.header("Content-Type") == "application/json");
    const auto health = json::parse(reply.body);
    CHECK(health["status"] == "ok");
    CHECK(health["server"] == "ok");
    CHECK(health["database"] == "ok");
    // The rules answering; a SQLite file has no other instances to be in
    // step with.
    const std::string version = health["rules"]["version"];
    CHECK(version.rfind("en-", 0) == 0);
    CHECK(health["rules"].size() == 1);
}

TEST_CASE("/metrics counts connections, turns, latency, errors, outcomes and the store") {
    TempDir dir;
    // A test answers far faster than a person types: lift the rate limit.
    ServerProcess server(dir.path() / "chat.db", {"--rate", "1000", "--burst", "1000"});
    {
        ChatClient chat(server.port());
        chat.send({{"type", "start"}});
        const auto opening = chat.receive_turn();
        chat.send_text("{oops");
        chat.receive_turn();
        backtalk::test::chat_to_outcome(chat, opening);

        const auto text = backtalk::test::http_request(server.port(), "GET", "/metrics").body;
        INFO(text);
        CHECK(metric(text, "backtalk_open_connections{kind=\"websocket\"}") == 1);
        CHECK(metric(text, "backtalk_turns_total{channel=\"websocket\"}") >= 3);
        CHECK(metric(text, "backtalk_turn_duration_seconds_count{channel=\"websocket\"}") >= 3);
        CHECK(metric(text, "backtalk_turn_duration_seconds_bucket{channel=\"websocket\",le=\"+Inf\"}") >= 3);
        CHECK(metric(text, "backtalk_errors_total{channel=\"websocket\",code=\"bad_json\"}") == 1);
        double outcomes = 0;
        for (const char* level : {"emergency", "urgent", "gp_soon", "self_care"}) {
            outcomes += metric(text, "backtalk_outcomes_total{channel=\"websocket\",level=\"" + std::string(level) + "\"}");
        }
        CHECK(outcomes == 1);
        CHECK(text.find("# TYPE backtalk_turn_duration_seconds histogram") != std::string::npos);
        CHECK(metric(text, "backtalk_store_queue_depth") >= 0);
        CHECK(metric(text, "backtalk_store_healthy") == 1);
        CHECK(metric(text, "backtalk_live_conversations") == 1);
        chat.close();
    }
    const auto reply = backtalk::test::http_request(server.port(), "GET", "/metrics");
    CHECK(reply.header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
    CHECK(metric(reply.body, "backtalk_store_rows_written_total") >= 0);
    CHECK(reply.body.find("\nbacktalk_rules_info{version=\"en-") != std::string::npos);
    CHECK(reply.body.find("published=\"\"} 1\n") != std::string::npos);  // SQLite: nothing is published
    CHECK(metric(reply.body, "backtalk_rules_in_step") == 1);
    CHECK(metric(reply.body, "backtalk_rules_listening") == 1);
    CHECK(metric(reply.body, "backtalk_rules_reloads_total") == 0);
    CHECK(metric(reply.body, "backtalk_rules_reload_refusals_total") == 0);
}

TEST_CASE("clear errors: 404, 405, 426, 413, 431") {
    TempDir dir;
    ServerProcess server(dir.path() / "chat.db");
    const auto missing = backtalk::test::http_request(server.port(), "GET", "/nothing-here");
    CHECK(missing.status == 404);
    CHECK(missing.body.find("404 Not Found") == 0);
    check_security_headers(missing);

    const auto wrong_method = backtalk::test::http_request(server.port(), "POST", "/healthz", {}, "{}");
    CHECK(wrong_method.status == 405);
    CHECK(wrong_method.header("Allow") == "GET, HEAD");

    const auto not_upgraded = backtalk::test::http_request(server.port(), "GET", "/ws");
    CHECK(not_upgraded.status == 426);

    const auto big_body =
        backtalk::test::http_request(server.port(), "POST", "/healthz", {}, std::string(100 * 1024, 'x'));
    CHECK(big_body.status == 413);

    const auto big_headers = backtalk::test::http_request(server.port(), "GET", "/healthz",
                                                          {{"X-Padding", std::string(16 * 1024, 'p')}});
    CHECK(big_headers.status == 431);

    const auto garbage = backtalk::test::http_raw(server.port(), "NOT HTTP AT ALL\r\n\r\n");
    CHECK(garbage.status == 400);
}
