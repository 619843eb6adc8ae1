// What /proc says about a server the tests started: found by its database
// path (unique to the test), since the process helper keeps its pid private.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace backtalk::test {

// The pid of the `backtalk` process whose command line names `db`; throws
// when there is none.
pid_t find_server_pid(const std::filesystem::path& db);
// Resident memory in KiB (VmRSS).
long resident_kib(pid_t pid);
// Entries in /proc/PID/fd.
std::size_t open_descriptors(pid_t pid);
// The size of DB-wal, 0 when it does not exist.
std::uintmax_t wal_bytes(const std::filesystem::path& db);

}  // namespace backtalk::test
