// The libpq wrapper against a real PostgreSQL 15, started for this run.
#include "postgres_server.hpp"
#include "store/postgresql/pg_connection.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

using namespace backtalk::store::pg;

namespace {

const backtalk::test::PostgresServer& server() { return backtalk::test::shared_postgres_server(); }

}  // namespace

TEST_CASE("statements take their values as parameters, never spliced into the SQL") {
    PgConnection db(server().url());
    db.exec("CREATE TABLE IF NOT EXISTS notes (id BIGINT PRIMARY KEY, text TEXT, note TEXT)");
    db.exec("TRUNCATE notes");
    const std::string hostile = "x'); DROP TABLE notes; --";
    CHECK(db.exec("INSERT INTO notes (id, text, note) VALUES ($1, $2, $3)", {"1", hostile, std::nullopt}).affected() ==
          1);
    const PgResult rows = db.exec("SELECT text, note FROM notes WHERE id = $1", {"1"});
    REQUIRE(rows.rows() == 1);
    CHECK(rows.text(0, 0) == hostile);
    CHECK(rows.is_null(0, 1));
}

TEST_CASE("COPY sends a batch in one go, with tabs, newlines, backslashes and NULLs intact") {
    PgConnection db(server().url());
    db.exec("CREATE TABLE IF NOT EXISTS copied (id BIGINT, text TEXT)");
    db.exec("TRUNCATE copied");
    std::vector<std::vector<Param>> rows;
    for (int i = 0; i < 1000; ++i) rows.push_back({std::to_string(i), "row " + std::to_string(i)});
    rows.push_back({"1000", std::string("a\ttab, a\nnewline, a \\ backslash and \r")});
    rows.push_back({"1001", std::nullopt});
    CHECK(db.copy_in("COPY copied (id, text) FROM STDIN", rows) == rows.size());
    CHECK(db.exec("SELECT COUNT(*) FROM copied").text(0, 0) == "1002");
    CHECK(db.exec("SELECT text FROM copied WHERE id = 1000").text(0, 0) ==
          "a\ttab, a\nnewline, a \\ backslash and \r");
    CHECK(db.exec("SELECT text FROM copied WHERE id = 1001").is_null(0, 0));
}

TEST_CASE("errors carry PostgreSQL's message and SQLSTATE, and the connection goes on") {
    PgConnection db(server().url());
    try {
        db.exec("SELECT * FROM no_such_table");
        FAIL("no error");
    } catch (const PgError& error) {
        CHECK(error.sqlstate() == "42P01");
        CHECK(std::string(error.what()).find("no_such_table") != std::string::npos);
    }
    CHECK(db.exec("SELECT 1 + $1::int", {"1"}).text(0, 0) == "2");
    try {
        db.copy_in("COPY no_such_table FROM STDIN", {{"1"}});
        FAIL("no error");
    } catch (const PgError& error) {
        CHECK(error.sqlstate() == "42P01");
    }
    CHECK(db.exec("SELECT 2").text(0, 0) == "2");
}

TEST_CASE("a server that is not there is a clear error") {
    CHECK_THROWS_WITH_AS(PgConnection("postgresql://postgres@/postgres?host=/nonexistent&port=1"),
                         doctest::Contains("cannot connect to PostgreSQL"), PgError);
}

TEST_CASE("a host that takes the connection and never answers is given up after the connect timeout") {
    // A listening socket nobody accepts from: the TCP handshake completes
    // (the kernel's backlog), PostgreSQL's startup reply never comes.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    const std::string url = "postgresql://postgres@127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/postgres";

    const auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH_AS(PgConnection{url}, doctest::Contains("timeout expired"), PgError);
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(waited >= default_connect_timeout - std::chrono::seconds(1));
    CHECK(waited < default_connect_timeout + std::chrono::seconds(3));

    // The URL's own connect_timeout wins (libpq's least is 2 s).
    const auto again = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(PgConnection{url + "?connect_timeout=2"}, PgError);
    CHECK(std::chrono::steady_clock::now() - again < default_connect_timeout - std::chrono::seconds(1));
    ::close(listener);
}
