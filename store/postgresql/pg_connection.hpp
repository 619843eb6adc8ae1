// A small RAII wrapper over libpq for the PostgreSQL backend: one connection,
// results freed with their owner, parameters sent as text (never spliced into
// SQL), COPY ... FROM STDIN for batches. Errors throw PgError with
// PostgreSQL's own message and, where there is one, its SQLSTATE.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace backtalk::store::pg {

class PgError : public std::runtime_error {
public:
    PgError(const std::string& message, std::string sqlstate);
    // Five characters, e.g. "40001"; empty for a connection failure.
    const std::string& sqlstate() const { return sqlstate_; }

private:
    std::string sqlstate_;
};

// A query parameter: text, or SQL NULL.
using Param = std::optional<std::string>;

class PgResult {
public:
    explicit PgResult(pg_result* result);
    int rows() const;
    int columns() const;
    bool is_null(int row, int column) const;
    std::string text(int row, int column) const;
    // Rows an INSERT, UPDATE or DELETE touched.
    long affected() const;

private:
    struct Free {
        void operator()(pg_result* result) const;
    };
    std::unique_ptr<pg_result, Free> result_;
};

// How long a connection attempt may take when the URL does not say (libpq's
// connect_timeout; it has no limit of its own). A host that does not answer
// would otherwise hold the store's thread for as long as TCP retries
// (minutes), and with it a server's start, its health probe and its stop.
inline constexpr std::chrono::seconds default_connect_timeout{5};

class PgConnection {
public:
    // `url`: postgresql://user@host/dbname?host=/socket/dir&port=5432, or
    // any libpq connection string. Throws PgError when it cannot connect.
    // A connect_timeout in the URL wins over `connect_timeout`.
    explicit PgConnection(const std::string& url, std::chrono::seconds connect_timeout = default_connect_timeout);

    // Runs one statement with $1, $2, ... bound to `params`; throws PgError.
    PgResult exec(std::string_view sql, const std::vector<Param>& params = {});
    // Runs several statements without parameters (a migration).
    void exec_script(std::string_view sql);
    // Runs `copy_sql` (COPY table (columns) FROM STDIN) and sends `rows`,
    // each a list of columns, in COPY's text format. Returns the rows sent.
    std::size_t copy_in(std::string_view copy_sql, const std::vector<std::vector<Param>>& rows);

    // For LISTEN: the socket the server's messages arrive on (wait for it to
    // be readable, then consume_notifications).
    int socket() const;
    // Reads what the server has sent, without blocking; true when
    // notifications (NOTIFY) arrived since the last call. Throws PgError
    // when the connection is broken.
    bool consume_notifications();

private:
    struct Finish {
        void operator()(pg_conn* connection) const;
    };
    std::unique_ptr<pg_conn, Finish> connection_;
};

// A transaction on `connection`, rolled back unless committed. The rollback
// of a broken connection fails quietly: the error that matters is the one
// that got there first.
class PgTransaction {
public:
    explicit PgTransaction(PgConnection& connection, std::string_view begin = "BEGIN");
    ~PgTransaction();
    PgTransaction(const PgTransaction&) = delete;
    PgTransaction& operator=(const PgTransaction&) = delete;
    void commit();

private:
    PgConnection& connection_;
    bool open_ = true;
};

// True for an error that belongs to the data sent (SQLSTATE classes 22, data
// exception, and 23, integrity constraint) rather than to the database.
bool is_data_error(const PgError& error);

// A value in COPY's text format: backslash, tab, newline and carriage return
// escaped; NULL as \N.
std::string copy_text(const Param& value);

}  // namespace backtalk::store::pg
