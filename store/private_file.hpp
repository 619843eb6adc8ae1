// Files that hold what people wrote are readable by their owner only.
#pragma once

#include <filesystem>
#include <system_error>

namespace backtalk::store {

// Creates `path` as an empty file with mode 0600 whatever the umask (SQLite
// would create a database 0644 less the umask, and its -wal, -shm and
// -journal files take the database's mode, so creating the database this way
// covers them too). Returns true when it created the file; false with `ec`
// clear when something already is at `path`, which is left as it is; false
// with `ec` set when it could not be created.
bool create_private_file(const std::filesystem::path& path, std::error_code& ec);

}  // namespace backtalk::store
