#include "store/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace backtalk::store {

bool create_private_file(const std::filesystem::path& path, std::error_code& ec) {
    ec.clear();
    // O_EXCL: never takes over a file (or a link) that is already there.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno != EEXIST) ec.assign(errno, std::generic_category());
        return false;
    }
    // The umask can only take bits away from 0600; a strict one (0277) could
    // leave the owner unable to write, so the mode is set outright.
    if (::fchmod(fd, 0600) != 0) ec.assign(errno, std::generic_category());
    ::close(fd);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
        return false;
    }
    return true;
}

}  // namespace backtalk::store
