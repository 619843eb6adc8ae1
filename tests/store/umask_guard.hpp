// Sets the process's umask for one test and puts the old one back.
#pragma once

#include <sys/stat.h>

#include <filesystem>

namespace backtalk::test {

class UmaskGuard {
public:
    explicit UmaskGuard(mode_t mask) : previous_(::umask(mask)) {}
    ~UmaskGuard() { ::umask(previous_); }
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;

private:
    mode_t previous_;
};

// The permission bits of a file (not following a link); -1 if it is missing.
inline int file_mode(const std::filesystem::path& path) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) return -1;
    return static_cast<int>(info.st_mode & 07777);
}

}  // namespace backtalk::test
