// What the Telegram and REST end-to-end tests share: a `backtalk chat
// --json` child process to hold the same conversation over the command line,
// reading the conversation log, and searching files for bytes that must not
// be there.
#pragma once

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace backtalk::test {

using json = nlohmann::json;

// `backtalk chat --json --db DB` with pipes on stdin and stdout.
class ChatProcess {
public:
    explicit ChatProcess(const std::filesystem::path& db);
    ~ChatProcess();  // closes stdin (EOF ends the chat) and reaps it
    ChatProcess(const ChatProcess&) = delete;
    ChatProcess& operator=(const ChatProcess&) = delete;

    // Sends one client object and returns the objects of its turn, up to the
    // one with end_of_turn. Throws on a timeout or an early exit.
    std::vector<json> turn(const json& client_object);

private:
    pid_t pid_ = -1;
    int to_child_ = -1;
    int from_child_ = -1;
    std::string pending_;  // read but not yet returned
};

// The reply objects of a turn, in order.
std::vector<json> replies_of(const std::vector<json>& turn);

// One conversation as the log has it.
struct LoggedConversation {
    std::string id;
    std::string channel;
    std::string user_hash;
    std::string outcome_level;  // empty without an outcome
    json outcome_reasons;       // an array, or null
    int turns = 0;
    int inbound_messages = 0;   // rows with direction 'in'
};
// Every conversation in the database file, oldest first (read-only).
std::vector<LoggedConversation> logged_conversations(const std::filesystem::path& db);

// True when `needle` occurs in any file under `dir`.
bool any_file_contains(const std::filesystem::path& dir, const std::string& needle);

// The value of the sample `series` (name with labels) in a Prometheus
// exposition; 0 when absent.
double metric_sample(const std::string& exposition, const std::string& series);

}  // namespace backtalk::test
