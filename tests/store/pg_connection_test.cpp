// The libpq wrapper against a real PostgreSQL 15, started for this run.
#include "postgres_server.hpp"
#include "store/postgresql/pg_connection.hpp"

#include <doctest/doctest.h>

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
