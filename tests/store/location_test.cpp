#include "store/location.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using backtalk::store::Backend;
using backtalk::store::parse_database_location;

TEST_CASE("a database location is a path or a PostgreSQL URL") {
    CHECK(parse_database_location("data/backtalk.db").backend == Backend::sqlite);
    CHECK(parse_database_location("/var/lib/backtalk/log.db").text == "/var/lib/backtalk/log.db");
    // A colon alone is part of a file name, not a scheme.
    CHECK(parse_database_location("logs:2024.db").backend == Backend::sqlite);
    for (const char* url : {"postgresql://backtalk@/backtalk?host=/run/postgresql", "postgres://h:5432/db",
                            "PostgreSQL://h/db"}) {
        const auto location = parse_database_location(url);
        CHECK(location.backend == Backend::postgresql);
        CHECK(location.text == url);
    }
}

TEST_CASE("any other URL and an empty text are refused with the accepted forms, the password never quoted") {
    for (const char* bad : {"mysql://sam:pw@h/db", "sqlite:///tmp/x.db", "file://x", "postgresq://h/db"}) {
        try {
            parse_database_location(bad);
            FAIL("accepted " << bad);
        } catch (const std::invalid_argument& error) {
            const std::string message = error.what();
            CHECK(message.find("is not a database backtalk can use") != std::string::npos);
            CHECK(message.find("postgresql://") != std::string::npos);
            CHECK(message.find("file path") != std::string::npos);
            CHECK(message.find("pw@") == std::string::npos);
        }
    }
    CHECK_THROWS_AS(parse_database_location(""), std::invalid_argument);
}
