// A throwaway PostgreSQL 15 server for one test run: initdb and pg_ctl as the
// postgres user in a temporary folder, listening only on a unix socket there,
// stopped (immediate) and removed at the end. A machine without the server
// fails the test that needs it, naming the package; nothing is skipped.
#pragma once

#include "store/postgresql/pg_connection.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace backtalk::test {

class PostgresServer {
public:
    static constexpr const char* bin_dir = "/usr/lib/postgresql/15/bin";

    PostgresServer() {
        if (!std::filesystem::exists(std::string(bin_dir) + "/initdb")) {
            throw std::runtime_error(std::string("no PostgreSQL server in ") + bin_dir +
                                     ": install postgresql-15 (deploy/install-deps.sh test)");
        }
        std::string pattern = (std::filesystem::temp_directory_path() / "backtalk-pg-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        // initdb refuses root: the server runs as postgres, which must own
        // the folder its socket lives in.
        const passwd* postgres = getpwnam("postgres");
        if (geteuid() == 0) {
            if (!postgres) throw std::runtime_error("no postgres user: install postgresql-15");
            if (chown(dir_.c_str(), postgres->pw_uid, postgres->pw_gid) != 0) {
                throw std::runtime_error("cannot hand " + dir_.string() + " to the postgres user");
            }
        }
        // The port only names the socket file; one per process keeps runs apart.
        port_ = 20000 + static_cast<int>(getpid() % 20000);
        run("initdb -D '" + (dir_ / "data").string() + "' -U postgres -A trust --no-sync > '" +
            (dir_ / "initdb.log").string() + "' 2>&1");
        run("pg_ctl -D '" + (dir_ / "data").string() + "' -w -l '" + (dir_ / "server.log").string() +
            "' -o \"-c listen_addresses='' -c fsync=off -k '" + dir_.string() + "' -p " + std::to_string(port_) +
            "\" start > /dev/null");
        started_ = true;
    }

    ~PostgresServer() {
        if (started_) {
            try {
                run("pg_ctl -D '" + (dir_ / "data").string() + "' -m immediate stop > /dev/null 2>&1");
            } catch (...) {
                // Already gone; the folder goes anyway.
            }
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    // A URL for `database` (created by initdb: postgres).
    std::string url(const std::string& database = "postgres") const {
        return "postgresql://postgres@/" + database + "?host=" + dir_.string() + "&port=" + std::to_string(port_);
    }

private:
    void run(const std::string& command) const {
        const std::string full = std::string(bin_dir) + "/" + command;
        const std::string as_postgres =
            geteuid() == 0 ? "su postgres -s /bin/sh -c \"" + escape_double_quotes(full) + "\"" : full;
        if (std::system(as_postgres.c_str()) != 0) {
            throw std::runtime_error("PostgreSQL test server: failed: " + full + " (see " + dir_.string() + ")");
        }
    }

    static std::string escape_double_quotes(const std::string& text) {
        std::string escaped;
        for (char c : text) {
            if (c == '"' || c == '\\' || c == '$' || c == '`') escaped += '\\';
            escaped += c;
        }
        return escaped;
    }

    std::filesystem::path dir_;
    int port_ = 0;
    bool started_ = false;
};

// The one server of this test process (its socket is named after the pid),
// started on first use and stopped at exit.
inline const PostgresServer& shared_postgres_server() {
    static const PostgresServer instance;
    return instance;
}

// A new, empty database `name` on the shared server (an old one of that name
// is dropped first); its URL.
inline std::string fresh_postgres_database(const std::string& name) {
    store::pg::PgConnection admin(shared_postgres_server().url());
    admin.exec("DROP DATABASE IF EXISTS " + name);
    admin.exec("CREATE DATABASE " + name);
    return shared_postgres_server().url(name);
}

}  // namespace backtalk::test
