// Faults under `backtalk serve`: SIGKILL and SIGTERM while conversations run
// (the database passes integrity_check, what was logged is what was
// acknowledged, less at most the last moments' turns after a kill and
// nothing after a stop, and conversations resume after a restart), and a
// database another process holds locked (people keep chatting, /healthz and
// /metrics say so, and the log catches up once the lock is gone).
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"
#include "tests/support/eventually.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace backtalk::test;

namespace {

using Clock = std::chrono::steady_clock;

// One acknowledged turn: a message or choice the server answered in full.
struct Acknowledged {
    std::string session;
    Clock::time_point at;
};

// Inbound messages and choices in the log, per conversation.
std::map<std::string, long> logged_turns(const std::filesystem::path& db_path) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    SQLite::Statement query(db, "SELECT conversation, COUNT(*) FROM messages "
                                "WHERE direction = 'in' AND kind IN ('message', 'choice') GROUP BY conversation");
    std::map<std::string, long> counts;
    while (query.executeStep()) counts[query.getColumn(0).getString()] = query.getColumn(1).getInt64();
    return counts;
}

// Conversations on `clients` WebSockets until the server goes away, each
// answered turn recorded; then `signal` is sent after `run_for`.
struct LoadThenSignal {
    std::vector<Acknowledged> acknowledged;
    Clock::time_point signalled_at;
    std::optional<ProcessResult> result;

    std::map<std::string, long> per_session() const {
        std::map<std::string, long> counts;
        for (const auto& turn : acknowledged) ++counts[turn.session];
        return counts;
    }
};

bool is_rate_limited(const json& reply) {
    return reply.value("type", "") == "error" && reply.value("code", "") == "rate_limited";
}

// Limits far above what the clients send: the load is not to be refused.
const std::vector<std::string> unlimited_rate{"--rate", "1000000", "--burst", "1000000"};

LoadThenSignal load_then_signal(ServerProcess& server, int signal, std::chrono::milliseconds run_for) {
    constexpr int clients = 8;
    const auto port = server.port();
    const auto origin = server.origin();
    LoadThenSignal run;
    std::mutex mutex;
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int i = 0; i < clients; ++i) {
        workers.emplace_back([&] {
            try {
                ChatClient chat(port, origin);
                while (!stop) {
                    chat.send({{"type", "start"}, {"locale", "en"}});
                    auto turn = chat.receive_turn();
                    const std::string session = turn.front().at("session");
                    for (int answer = 0; answer < 40 && !stop; ++answer) {
                        const json reply = last_reply(turn);
                        if (reply.contains("triage") && reply["triage"].is_object()) break;
                        chat.send(answer_to(reply));
                        turn = chat.receive_turn();
                        // A message the rate limit refused was not taken:
                        // nothing of it is logged, and it is not a turn.
                        if (is_rate_limited(last_reply(turn))) break;
                        std::lock_guard lock(mutex);
                        run.acknowledged.push_back({session, Clock::now()});
                    }
                }
            } catch (const std::exception&) {
                // The stop ends every connection.
            }
        });
    }
    std::this_thread::sleep_for(run_for);
    run.signalled_at = Clock::now();
    run.result = server.stop(signal, std::chrono::seconds(10));
    stop = true;
    for (auto& worker : workers) worker.join();
    return run;
}

// A counter or gauge from /metrics; -1 when absent.
double metric(std::uint16_t port, const std::string& name) {
    const std::string body = http_request(port, "GET", "/metrics").body;
    const std::string line_start = "\n" + name + " ";
    const auto at = body.find(line_start);
    return at == std::string::npos ? -1 : std::stod(body.substr(at + line_start.size()));
}

}  // namespace

TEST_CASE("kill -9 under load: an intact database, the log short of at most the last moments, conversations resume") {
    TempDir dir;
    const auto db = dir.path() / "crash.db";
    std::optional<ServerProcess> server;
    server.emplace(db, unlimited_rate);
    const auto run = load_then_signal(*server, SIGKILL, std::chrono::seconds(2));
    REQUIRE(run.result.has_value());
    CHECK(run.result->signal == SIGKILL);

    {
        SQLite::Database check(db, SQLite::OPEN_READONLY);
        CHECK(check.execAndGet("PRAGMA integrity_check").getString() == "ok");
    }
    // The log commits every 50 ms at most; allow for a commit in progress.
    const auto window = std::chrono::milliseconds(250);
    long recent = 0;  // acknowledged within `window` of the kill
    for (const auto& turn : run.acknowledged) {
        if (turn.at > run.signalled_at - window) ++recent;
    }
    const auto logged = logged_turns(db);
    long lost = 0;
    long total = 0;
    for (const auto& [session, count] : run.per_session()) {
        total += count;
        const auto found = logged.find(session);
        const long in_log = found == logged.end() ? 0 : found->second;
        // Nothing is logged that was not sent: at most the one in flight.
        CHECK(in_log <= count + 1);
        lost += std::max(0L, count - in_log);
    }
    MESSAGE("acknowledged " << total << " turns, " << recent << " in the last 250 ms; lost " << lost);
    REQUIRE(total > 0);
    CHECK(lost <= recent);

    // A restart on the same file: a conversation that was logged resumes.
    server.emplace(db);
    std::string resumable;
    for (const auto& [session, count] : logged) {
        if (count > 0) resumable = session;
    }
    REQUIRE_FALSE(resumable.empty());
    ChatClient chat(server->port(), server->origin());
    chat.send({{"type", "start"}, {"session", resumable}, {"locale", "en"}});
    const auto turn = chat.receive_turn();
    REQUIRE_FALSE(turn.empty());
    CHECK(turn.front().at("session") == resumable);
    CHECK(turn.front().at("resumed") == true);
}

TEST_CASE("SIGTERM under load: exit 0 within 5 s, and every acknowledged turn is in the log") {
    TempDir dir;
    const auto db = dir.path() / "term.db";
    ServerProcess server(db, unlimited_rate);
    const auto run = load_then_signal(server, SIGTERM, std::chrono::seconds(2));
    const auto stopped_after = Clock::now() - run.signalled_at;
    REQUIRE(run.result.has_value());
    CHECK(run.result->exit_code == 0);
    CHECK(stopped_after < std::chrono::seconds(5));

    const auto logged = logged_turns(db);
    long total = 0;
    for (const auto& [session, count] : run.per_session()) {
        total += count;
        const auto found = logged.find(session);
        INFO(session);
        REQUIRE(found != logged.end());
        CHECK(found->second >= count);
        CHECK(found->second <= count + 1);
    }
    MESSAGE("acknowledged " << total << " turns; stopped in "
                            << std::chrono::duration_cast<std::chrono::milliseconds>(stopped_after).count()
                            << " ms");
    REQUIRE(total > 0);
}

TEST_CASE("a database locked by another process: chats go on, health says degraded, the log catches up after") {
    TempDir dir;
    const auto db = dir.path() / "locked.db";
    ServerProcess server(db);
    ChatClient chat(server.port(), server.origin());
    chat.send({{"type", "start"}, {"locale", "en"}});
    auto turn = chat.receive_turn();
    const std::string session = turn.front().at("session");
    // The start is committed: the tables exist before the lock is taken.
    REQUIRE(eventually(
                   [&] { return metric(server.port(), "backtalk_store_rows_written_total") > 0; }));

    int answered_while_locked = 0;
    {
        SQLite::Database other(db, SQLite::OPEN_READWRITE);
        other.exec("BEGIN EXCLUSIVE");
        for (int i = 0; i < 3; ++i) {
            chat.send(answer_to(last_reply(turn)));
            turn = chat.receive_turn();
            CHECK(last_reply(turn).value("type", "") == "reply");
            ++answered_while_locked;
        }
        CHECK(eventually([&] {
            return http_request(server.port(), "GET", "/healthz").body.find("\"degraded\"") != std::string::npos;
        }));
        CHECK(http_request(server.port(), "GET", "/healthz").status == 200);
        CHECK(metric(server.port(), "backtalk_store_healthy") == 0);
        CHECK(metric(server.port(), "backtalk_store_write_failures_total") > 0);
        other.exec("ROLLBACK");
    }

    CHECK(eventually([&] {
        return http_request(server.port(), "GET", "/healthz").body.find("\"degraded\"") == std::string::npos;
    }));
    CHECK(metric(server.port(), "backtalk_store_healthy") == 1);
    CHECK(eventually([&] {
        const auto logged = logged_turns(db);
        const auto found = logged.find(session);
        return found != logged.end() && found->second == answered_while_locked;
    }));
    CHECK(metric(server.port(), "backtalk_store_dropped_total") == 0);
}
