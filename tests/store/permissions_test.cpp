// What the store writes holds what people typed: owner-only whatever the
// umask, which outside systemd (UMask=0077) is usually 022.
#include "store_test_support.hpp"
#include "umask_guard.hpp"

#include <doctest/doctest.h>

using namespace backtalk;

TEST_CASE("under umask 022 the database, its -wal and -shm, the hash key and a backup are 0600") {
    test::TempDir dir;
    const test::UmaskGuard umask(022);
    store::Store log(test::quiet_options(dir));
    log.log_conversation(test::conversation("c1", "terminal", 1000));
    log.log_message(test::inbound("c1", 1000, "my back hurts"));
    REQUIRE(log.flush());
    // The writer's connection is open: the WAL and its index exist now.
    for (const char* name : {"log.db", "log.db-wal", "log.db-shm", "hash.key"}) {
        CHECK_MESSAGE(test::file_mode(dir / name) == 0600, name);
    }
    log.backup_to(dir / "backup.db");
    CHECK(test::file_mode(dir / "backup.db") == 0600);
    log.close();
}

TEST_CASE("a strict umask does not leave the database unwritable by its owner") {
    test::TempDir dir;
    const test::UmaskGuard umask(0277);
    store::Store log(test::quiet_options(dir));
    log.log_message(test::inbound("c1", 1000, "my back hurts"));
    REQUIRE(log.flush());
    CHECK(log.health().ok);
    CHECK(test::file_mode(dir / "log.db") == 0600);
    log.close();
}

TEST_CASE("a database that already exists keeps its mode") {
    test::TempDir dir;
    { store::Store first(test::quiet_options(dir)); }
    REQUIRE(::chmod((dir / "log.db").c_str(), 0640) == 0);
    store::Store again(test::quiet_options(dir));
    again.close();
    CHECK(test::file_mode(dir / "log.db") == 0640);
}
