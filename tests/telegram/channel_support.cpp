#include "tests/telegram/channel_support.hpp"

#include "tests/integration/server_process.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace backtalk::test {

namespace fs = std::filesystem;

namespace {

constexpr auto turn_timeout = std::chrono::seconds(20);

std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

ChatProcess::ChatProcess(const fs::path& db) {
    int input[2];
    int output[2];
    if (pipe(input) != 0 || pipe(output) != 0) throw std::runtime_error("pipe failed");
    ExecArguments exec({BACKTALK_BINARY, "chat", "--json", "--db", db.string()});

    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        if (chdir(BACKTALK_SOURCE_DIR) != 0) _exit(127);
        dup2(input[0], STDIN_FILENO);
        dup2(output[1], STDOUT_FILENO);
        const int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) dup2(null_fd, STDERR_FILENO);
        close(input[1]);
        close(output[0]);
        execve(exec.argv()[0], exec.argv(), exec.envp());
        _exit(127);
    }
    close(input[0]);
    close(output[1]);
    to_child_ = input[1];
    from_child_ = output[0];
}

ChatProcess::~ChatProcess() {
    if (to_child_ >= 0) close(to_child_);
    if (from_child_ >= 0) close(from_child_);
    if (pid_ <= 0) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            return;
        }
        usleep(5000);
    }
}

std::vector<json> ChatProcess::turn(const json& client_object) {
    const std::string line = client_object.dump() + "\n";
    if (write(to_child_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        throw std::runtime_error("backtalk chat stopped reading");
    }
    std::vector<json> objects;
    const auto deadline = std::chrono::steady_clock::now() + turn_timeout;
    for (;;) {
        for (auto newline = pending_.find('\n'); newline != std::string::npos; newline = pending_.find('\n')) {
            objects.push_back(json::parse(pending_.substr(0, newline)));
            pending_.erase(0, newline + 1);
            if (objects.back().value("end_of_turn", false)) return objects;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd ready{from_child_, POLLIN, 0};
        char chunk[4096];
        ssize_t got = 0;
        if (left.count() <= 0 || poll(&ready, 1, static_cast<int>(left.count())) <= 0 ||
            (got = read(from_child_, chunk, sizeof chunk)) <= 0) {
            throw std::runtime_error("backtalk chat did not finish the turn for " + client_object.dump());
        }
        pending_.append(chunk, static_cast<std::size_t>(got));
    }
}

std::vector<json> replies_of(const std::vector<json>& turn) {
    std::vector<json> replies;
    for (const auto& object : turn) {
        if (object.value("type", "") == "reply") replies.push_back(object);
    }
    return replies;
}

std::vector<LoggedConversation> logged_conversations(const fs::path& db) {
    SQLite::Database database(db.string(), SQLite::OPEN_READONLY);
    SQLite::Statement query(database, R"sql(
        SELECT c.id, c.channel, COALESCE(c.user_hash, ''), COALESCE(c.outcome_level, ''),
               COALESCE(c.outcome_reasons, 'null'), c.turns,
               (SELECT COUNT(*) FROM messages m WHERE m.conversation = c.id AND m.direction = 'in')
        FROM conversations c ORDER BY c.started, c.id)sql");
    std::vector<LoggedConversation> conversations;
    while (query.executeStep()) {
        LoggedConversation conversation;
        conversation.id = query.getColumn(0).getString();
        conversation.channel = query.getColumn(1).getString();
        conversation.user_hash = query.getColumn(2).getString();
        conversation.outcome_level = query.getColumn(3).getString();
        conversation.outcome_reasons = json::parse(query.getColumn(4).getString());
        conversation.turns = query.getColumn(5).getInt();
        conversation.inbound_messages = query.getColumn(6).getInt();
        conversations.push_back(std::move(conversation));
    }
    return conversations;
}

bool any_file_contains(const fs::path& dir, const std::string& needle) {
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file() && read_all(entry.path()).find(needle) != std::string::npos) return true;
    }
    return false;
}

double metric_sample(const std::string& exposition, const std::string& series) {
    const auto at = exposition.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stod(exposition.substr(at + series.size() + 2));
}

}  // namespace backtalk::test
