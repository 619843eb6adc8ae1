#include "tests/hostile/process_probe.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

namespace backtalk::test {

namespace fs = std::filesystem;

pid_t find_server_pid(const fs::path& db) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream file(entry.path() / "cmdline", std::ios::binary);
        const std::string command_line{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
        // Arguments are separated by NULs: look for the db path as a whole one.
        if (command_line.find(std::string(1, '\0').append(db.string()).append(1, '\0')) != std::string::npos) {
            return static_cast<pid_t>(std::stol(name));
        }
    }
    throw std::runtime_error("no process has " + db.string() + " on its command line");
}

long resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    throw std::runtime_error("no VmRSS for process " + std::to_string(pid));
}

std::size_t open_descriptors(pid_t pid) {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++count;
    return count;
}

std::uintmax_t wal_bytes(const fs::path& db) {
    std::error_code error;
    const auto size = fs::file_size(db.string() + "-wal", error);
    return error ? 0 : size;
}

}  // namespace backtalk::test
