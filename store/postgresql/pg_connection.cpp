#include "store/postgresql/pg_connection.hpp"

#include <libpq-fe.h>

#include <cstdlib>

namespace backtalk::store::pg {

namespace {

std::string trimmed(const char* message) {
    std::string text = message ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

// Throws unless `result` says the command worked.
PgResult checked(pg_result* raw, pg_conn* connection) {
    PgResult result(raw);
    const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN) return result;
    const char* sqlstate = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    throw PgError(trimmed(raw ? PQresultErrorMessage(raw) : PQerrorMessage(connection)), sqlstate ? sqlstate : "");
}

}  // namespace

PgError::PgError(const std::string& message, std::string sqlstate)
    : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}

void PgResult::Free::operator()(pg_result* result) const { PQclear(result); }

PgResult::PgResult(pg_result* result) : result_(result) {}

int PgResult::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

int PgResult::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

bool PgResult::is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }

std::string PgResult::text(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

long PgResult::affected() const {
    const char* count = result_ ? PQcmdTuples(result_.get()) : "";
    return *count ? std::strtol(count, nullptr, 10) : 0;
}

void PgConnection::Finish::operator()(pg_conn* connection) const { PQfinish(connection); }

namespace {

pg_conn* connect(const std::string& url, std::chrono::seconds connect_timeout) {
    const std::string timeout = std::to_string(connect_timeout.count());
    // dbname expands the URL; what it sets overrides the keywords before it.
    const char* keywords[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {timeout.c_str(), url.c_str(), nullptr};
    return PQconnectdbParams(keywords, values, 1);
}

}  // namespace

PgConnection::PgConnection(const std::string& url, std::chrono::seconds connect_timeout)
    : connection_(connect(url, connect_timeout)) {
    if (!connection_) throw PgError("cannot connect to PostgreSQL: out of memory", "");
    if (PQstatus(connection_.get()) != CONNECTION_OK) {
        // libpq's message never repeats the password.
        throw PgError("cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(connection_.get())), "");
    }
    // Notices ("relation already exists, skipping") are the server talking
    // to itself; libpq would print each on stderr.
    PQsetNoticeProcessor(connection_.get(), [](void*, const char*) {}, nullptr);
}

PgResult PgConnection::exec(std::string_view sql, const std::vector<Param>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Param& param : params) values.push_back(param ? param->c_str() : nullptr);
    const std::string statement(sql);
    return checked(PQexecParams(connection_.get(), statement.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, 0),
                   connection_.get());
}

void PgConnection::exec_script(std::string_view sql) {
    checked(PQexec(connection_.get(), std::string(sql).c_str()), connection_.get());
}

std::size_t PgConnection::copy_in(std::string_view copy_sql, const std::vector<std::vector<Param>>& rows) {
    checked(PQexec(connection_.get(), std::string(copy_sql).c_str()), connection_.get());
    std::string buffer;
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i > 0) buffer += '\t';
            buffer += copy_text(row[i]);
        }
        buffer += '\n';
    }
    if (PQputCopyData(connection_.get(), buffer.data(), static_cast<int>(buffer.size())) != 1 ||
        PQputCopyEnd(connection_.get(), nullptr) != 1) {
        throw PgError("COPY failed: " + trimmed(PQerrorMessage(connection_.get())), "");
    }
    // The COPY's own result, then the end of the command.
    checked(PQgetResult(connection_.get()), connection_.get());
    while (pg_result* rest = PQgetResult(connection_.get())) PQclear(rest);
    return rows.size();
}

int PgConnection::socket() const { return PQsocket(connection_.get()); }

bool PgConnection::consume_notifications() {
    if (PQconsumeInput(connection_.get()) != 1 || PQstatus(connection_.get()) != CONNECTION_OK) {
        throw PgError("lost the connection to PostgreSQL: " + trimmed(PQerrorMessage(connection_.get())), "");
    }
    bool notified = false;
    while (PGnotify* notice = PQnotifies(connection_.get())) {
        PQfreemem(notice);
        notified = true;
    }
    return notified;
}

PgTransaction::PgTransaction(PgConnection& connection, std::string_view begin) : connection_(connection) {
    connection_.exec(begin);
}

PgTransaction::~PgTransaction() {
    if (!open_) return;
    try {
        connection_.exec("ROLLBACK");
    } catch (const PgError&) {
        // The connection is gone; so is the transaction.
    }
}

void PgTransaction::commit() {
    open_ = false;
    connection_.exec("COMMIT");
}

bool is_data_error(const PgError& error) {
    const std::string& state = error.sqlstate();
    return state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0;
}

std::string copy_text(const Param& value) {
    if (!value) return "\\N";
    std::string text;
    text.reserve(value->size());
    for (char c : *value) {
        switch (c) {
            case '\\': text += "\\\\"; break;
            case '\t': text += "\\t"; break;
            case '\n': text += "\\n"; break;
            case '\r': text += "\\r"; break;
            default: text += c;
        }
    }
    return text;
}

}  // namespace backtalk::store::pg
