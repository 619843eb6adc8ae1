#include "tests/bench/load/child_process.hpp"

#include <cerrno>
#include <cstdio>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace backtalk::bench {

namespace {

std::runtime_error system_error(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& command) {
    if (command.empty()) throw std::runtime_error("no command to run");
    int fds[2];
    if (pipe(fds) != 0) throw system_error("pipe");
    std::vector<char*> argv;
    for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) {
        close(fds[0]);
        close(fds[1]);
        throw system_error("fork");
    }
    if (pid_ == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv.data());
        std::fprintf(stderr, "bench_load: cannot run %s: %s\n", argv[0], std::strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    stdout_fd_ = fds[0];
}

ChildProcess::~ChildProcess() { stop(); }

std::optional<std::string> ChildProcess::wait_for_listening(std::chrono::steady_clock::time_point deadline) {
    constexpr std::string_view marker = "listening on http://";
    std::string seen;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd readable{stdout_fd_, POLLIN, 0};
        const int ready = poll(&readable, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return std::nullopt;
        char chunk[512];
        const auto got = read(stdout_fd_, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return std::nullopt;
        seen.append(chunk, static_cast<std::size_t>(got));
        const auto at = seen.find(marker);
        if (at == std::string::npos) continue;
        const auto end = seen.find_first_of(" \r\n/", at + marker.size());
        if (end == std::string::npos) continue;  // the rest of the line is still coming
        return seen.substr(at + marker.size(), end - at - marker.size());
    }
}

void ChildProcess::stop() {
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        int status = 0;
        while (waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                kill(pid_, SIGKILL);
                waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        pid_ = -1;
    }
    if (stdout_fd_ >= 0) {
        close(stdout_fd_);
        stdout_fd_ = -1;
    }
}

}  // namespace backtalk::bench
