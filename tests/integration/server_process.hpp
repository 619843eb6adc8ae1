// A `backtalk serve` child process for one test: started on 127.0.0.1 port 0
// with its own database, stopped (SIGTERM, then SIGKILL) when the test ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace backtalk::test {

// A fresh directory under $TMPDIR, removed with its contents.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// argv and envp for execve: `args` as given, and the caller's environment
// without its BACKTALK_* settings, so that only the arguments decide what the
// child does. Not movable: the pointers point into its own strings.
class ExecArguments {
public:
    explicit ExecArguments(std::vector<std::string> args);
    ExecArguments(const ExecArguments&) = delete;
    ExecArguments& operator=(const ExecArguments&) = delete;
    char* const* argv() { return argv_.data(); }
    char* const* envp() { return envp_.data(); }

private:
    std::vector<std::string> args_;
    std::vector<std::string> environment_;
    std::vector<char*> argv_;
    std::vector<char*> envp_;
};

struct ProcessResult {
    int exit_code = -1;     // when it exited
    int signal = 0;         // when a signal ended it
    std::string output;     // stdout and stderr, for failure messages
};

// Runs `backtalk ARGS...` to the end and returns what it printed.
ProcessResult run_backtalk(const std::vector<std::string>& args,
                           std::chrono::seconds timeout = std::chrono::seconds(20));

class ServerProcess {
public:
    // Starts `backtalk serve --listen 127.0.0.1:0 --db DB ARGS...` and waits
    // for its listening line. Throws with its output if it does not start.
    ServerProcess(const std::filesystem::path& db, std::vector<std::string> extra_args = {});
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    std::uint16_t port() const { return port_; }
    std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // Sends `signal` and waits up to `timeout` for the exit. Empty when it
    // did not exit in time (it is then killed).
    std::optional<ProcessResult> stop(int signal, std::chrono::milliseconds timeout);
    // What the server wrote to stderr so far.
    std::string log() const;

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::filesystem::path log_path_;
    std::uint16_t port_ = 0;
};

}  // namespace backtalk::test
