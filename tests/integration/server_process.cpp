#include "tests/integration/server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace backtalk::test {

ExecArguments::ExecArguments(std::vector<std::string> args) : args_(std::move(args)) {
    for (char** entry = environ; *entry; ++entry) {
        if (std::strncmp(*entry, "BACKTALK_", 9) != 0) environment_.emplace_back(*entry);
    }
    for (auto& arg : args_) argv_.push_back(arg.data());
    argv_.push_back(nullptr);
    for (auto& entry : environment_) envp_.push_back(entry.data());
    envp_.push_back(nullptr);
}

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path temp_file(const char* stem) {
    std::string pattern = (fs::temp_directory_path() / (std::string(stem) + "-XXXXXX")).string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    return pattern;
}

// Starts the binary with `args`, in the source tree (where it finds rules/
// and adapters/web/), without the caller's BACKTALK_* settings. stdout goes
// to `stdout_fd`, stderr to `log_path`, or both to `log_path`.
pid_t spawn(const std::vector<std::string>& args, int stdout_fd, const fs::path& log_path) {
    std::vector<std::string> command{BACKTALK_BINARY};
    command.insert(command.end(), args.begin(), args.end());
    ExecArguments exec(std::move(command));

    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        const int log_fd = open(log_path.c_str(), O_WRONLY | O_TRUNC);
        if (log_fd < 0 || chdir(BACKTALK_SOURCE_DIR) != 0) _exit(127);
        dup2(stdout_fd >= 0 ? stdout_fd : log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        execve(exec.argv()[0], exec.argv(), exec.envp());
        _exit(127);
    }
    return pid;
}

// Waits for `pid` until `deadline`; empty if it is still running.
std::optional<ProcessResult> wait_until(pid_t pid, Clock::time_point deadline) {
    for (;;) {
        int status = 0;
        const pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            ProcessResult result;
            if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
            if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
            return result;
        }
        if (done < 0) throw std::runtime_error("waitpid failed");
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

ProcessResult kill_and_reap(pid_t pid) {
    kill(pid, SIGKILL);
    return wait_until(pid, Clock::now() + std::chrono::seconds(10)).value_or(ProcessResult{});
}

}  // namespace

TempDir::TempDir() {
    std::string pattern = (fs::temp_directory_path() / "backtalk-it-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

ProcessResult run_backtalk(const std::vector<std::string>& args, std::chrono::seconds timeout) {
    const fs::path log_path = temp_file("backtalk-run");
    const pid_t pid = spawn(args, -1, log_path);
    auto result = wait_until(pid, Clock::now() + timeout);
    if (!result) result = kill_and_reap(pid);
    result->output = read_file(log_path);
    fs::remove(log_path);
    return *result;
}

ServerProcess::ServerProcess(const fs::path& db, std::vector<std::string> extra_args) {
    std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0", "--db", db.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
    log_path_ = temp_file("backtalk-serve");
    pid_ = spawn(args, pipe_fds[1], log_path_);
    close(pipe_fds[1]);
    stdout_fd_ = pipe_fds[0];

    // Sanitizer builds start slowly; 20 s is far more than a normal start.
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    std::string line;
    while (line.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd ready{stdout_fd_, POLLIN, 0};
        char chunk[256];
        ssize_t got = 0;
        if (left.count() <= 0 || poll(&ready, 1, static_cast<int>(left.count())) <= 0 ||
            (got = read(stdout_fd_, chunk, sizeof chunk)) <= 0) {
            const auto output = log();
            stop(SIGKILL, std::chrono::seconds(5));
            close(stdout_fd_);
            fs::remove(log_path_);
            throw std::runtime_error("backtalk serve did not start; it said:\n" + output);
        }
        line.append(chunk, static_cast<std::size_t>(got));
    }
    const std::string prefix = "backtalk listening on http://127.0.0.1:";
    if (line.rfind(prefix, 0) != 0) throw std::runtime_error("unexpected first line: " + line);
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(prefix.size())));
}

ServerProcess::~ServerProcess() {
    if (pid_ > 0) stop(SIGTERM, std::chrono::seconds(10));
    if (stdout_fd_ >= 0) close(stdout_fd_);
    std::error_code ignored;
    fs::remove(log_path_, ignored);
}

std::optional<ProcessResult> ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return std::nullopt;
    kill(pid_, signal);
    auto result = wait_until(pid_, Clock::now() + timeout);
    if (!result) kill_and_reap(pid_);
    pid_ = -1;
    if (result) result->output = log();
    return result;
}

std::string ServerProcess::log() const { return read_file(log_path_); }

}  // namespace backtalk::test
