// The one server every hostile case attacks, with a conversation opened
// before the first attack; after each attack, survived() checks the server
// is up and that conversation still gets its replies.
#pragma once

#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace backtalk::test {

// What the server is started with, so the cases can sign and forge.
inline constexpr const char* rest_secret = "hostile-suite-rest-secret";
inline constexpr const char* telegram_secret = "hostile-suite-telegram-secret";
inline constexpr const char* admin_token = "hostile-suite-admin-token-0123456789";
inline constexpr int per_address_cap = 40;

class HostileTarget {
public:
    HostileTarget();
    std::uint16_t port() const { return server_.port(); }
    std::string origin() const { return server_.origin(); }
    // The value of one series in /metrics (exact name and labels), 0 when
    // it is not there yet.
    double metric(const std::string& series) const;
    // metric(series) once it reaches at_least, or its value at the deadline.
    // For counters the server adds to when a socket's read ends, which can
    // come after the client has seen the close frame.
    double metric_reaching(const std::string& series, double at_least,
                           std::chrono::milliseconds within = std::chrono::seconds(10)) const;
    // The server answers /healthz with 200 and the bystander conversation
    // gets a reply to its next answer. Counts one hostile case.
    void survived(const std::string& attack);

private:
    TempDir dir_;
    ServerProcess server_;
    ChatClient bystander_;
    json question_;
};

// Started on first use and stopped when the suite ends.
HostileTarget& hostile_target();
int hostile_cases_survived();

}  // namespace backtalk::test
