// A writer under steady load, stopped hard (SIGKILL) or gracefully (SIGTERM).
#include "store_test_support.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr int batch_rows = 100;
// 1,000 rows/s fills a 50 ms batch window with about 50 rows: the writer is
// never behind, so what a kill can lose is the batch in flight.
constexpr int rows_per_second = 1000;
constexpr std::uint64_t rows_before_stop = 1500;

struct Child {
    pid_t pid = -1;
    std::filesystem::path counter_file;

    std::uint64_t queued() const {
        const std::string bytes = backtalk::test::file_bytes(counter_file);
        std::uint64_t count = 0;
        if (bytes.size() == sizeof count) std::memcpy(&count, bytes.data(), sizeof count);
        return count;
    }
};

Child start_writer(const backtalk::test::TempDir& dir) {
    Child child;
    child.counter_file = dir / "queued";
    const std::vector<std::string> args{STORE_LOAD_WRITER, (dir / "log.db").string(), child.counter_file.string(),
                                        std::to_string(rows_per_second), std::to_string(batch_rows)};
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&child.pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
    return child;
}

// Waits until the child has queued `rows`; false if it died first.
bool wait_for_rows(const Child& child, std::uint64_t rows) {
    return backtalk::test::eventually([&] {
        int status = 0;
        if (waitpid(child.pid, &status, WNOHANG) == child.pid) return true;
        return child.queued() >= rows;
    }) && child.queued() >= rows;
}

}  // namespace

TEST_CASE("kill -9 under load leaves an intact database that lost at most one batch") {
    backtalk::test::TempDir dir;
    Child child = start_writer(dir);
    const bool loaded = wait_for_rows(child, rows_before_stop);
    kill(child.pid, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(child.pid, &status, 0) == child.pid);
    REQUIRE(loaded);
    CHECK(WIFSIGNALED(status));

    const auto db = dir / "log.db";
    CHECK(backtalk::test::query_text(db, "PRAGMA integrity_check") == "ok");
    const auto committed = backtalk::test::query_int(db, "SELECT COUNT(*) FROM messages");
    // The counter is written just after each row is queued, so one more row
    // may have been queued than it says.
    const auto queued = static_cast<std::int64_t>(child.queued()) + 1;
    MESSAGE("queued about " << queued << ", committed " << committed);
    CHECK(committed > 0);
    CHECK(queued - committed <= batch_rows);
    // What survived is a prefix: no holes in the sequence.
    CHECK(backtalk::test::query_int(db, "SELECT MAX(seq) FROM messages") == committed);
    CHECK(backtalk::test::query_int(db, "SELECT COUNT(*) FROM messages WHERE text = 'row ' || seq") == committed);
}

TEST_CASE("SIGTERM under load loses nothing") {
    backtalk::test::TempDir dir;
    Child child = start_writer(dir);
    const bool loaded = wait_for_rows(child, rows_before_stop);
    kill(child.pid, SIGTERM);
    int status = 0;
    REQUIRE(waitpid(child.pid, &status, 0) == child.pid);
    REQUIRE(loaded);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    const auto db = dir / "log.db";
    CHECK(backtalk::test::query_text(db, "PRAGMA integrity_check") == "ok");
    const auto queued = static_cast<std::int64_t>(child.queued());
    CHECK(queued >= static_cast<std::int64_t>(rows_before_stop));
    CHECK(backtalk::test::query_int(db, "SELECT COUNT(*) FROM messages") == queued);
    CHECK(backtalk::test::query_int(db, "SELECT MAX(seq) FROM messages") == queued);
}
