// `backtalk serve` killed with SIGKILL while conversations run: the database
// passes integrity_check, what was logged is what was acknowledged, less at
// most the last moments' turns, and the conversations resume after a restart.
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"

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

}  // namespace

TEST_CASE("kill -9 under load: an intact database, the log short of at most the last moments, conversations resume") {
    TempDir dir;
    const auto db = dir.path() / "crash.db";
    std::optional<ServerProcess> server;
    server.emplace(db, std::vector<std::string>{"--rate", "1000", "--burst", "1000"});
    const auto port = server->port();
    const auto origin = server->origin();

    constexpr int clients = 8;
    std::mutex mutex;
    std::vector<Acknowledged> acknowledged;
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
                        std::lock_guard lock(mutex);
                        acknowledged.push_back({session, Clock::now()});
                    }
                }
            } catch (const std::exception&) {
                // The kill ends every connection.
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const auto killed_at = Clock::now();
    const auto killed = server->stop(SIGKILL, std::chrono::seconds(5));
    stop = true;
    for (auto& worker : workers) worker.join();
    REQUIRE(killed.has_value());
    CHECK(killed->signal == SIGKILL);

    {
        SQLite::Database check(db, SQLite::OPEN_READONLY);
        CHECK(check.execAndGet("PRAGMA integrity_check").getString() == "ok");
    }
    std::map<std::string, long> acked;
    // The log commits every 50 ms at most; allow for a commit in progress.
    const auto window = std::chrono::milliseconds(250);
    long recent = 0;  // acknowledged within `window` of the kill
    for (const auto& turn : acknowledged) {
        ++acked[turn.session];
        if (turn.at > killed_at - window) ++recent;
    }
    const auto logged = logged_turns(db);
    long lost = 0;
    long total = 0;
    for (const auto& [session, count] : acked) {
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
