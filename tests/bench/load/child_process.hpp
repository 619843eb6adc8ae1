// A server started by the benchmark (bench_load --mode startup): runs a
// command with its stdout on a pipe, finds the line that says where it
// listens, and stops it with SIGTERM (SIGKILL if it will not go).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace backtalk::bench {

class ChildProcess {
public:
    // Starts `command` (argv; the program is looked up in PATH). Throws
    // std::runtime_error when it cannot be started.
    explicit ChildProcess(const std::vector<std::string>& command);
    ~ChildProcess();  // stop()
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Reads the child's stdout until a line holds "listening on http://";
    // returns the HOST:PORT after it, or nothing if the child exited, closed
    // its stdout or the deadline passed.
    std::optional<std::string> wait_for_listening(std::chrono::steady_clock::time_point deadline);

    // SIGTERM, up to 5 s to exit, then SIGKILL. Idempotent.
    void stop();

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
};

}  // namespace backtalk::bench
