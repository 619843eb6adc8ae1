// Commits the writer thread's batches to PostgreSQL in one transaction each:
// the log's turn rows and the audit in COPY batches, conversations, sessions
// and bindings COPYed into temporary tables and upserted from there, each
// once per batch in its newest state. A session's version rises with every
// write.
//
// COPY takes a batch whole or not at all: when PostgreSQL refuses a value,
// the batch is written again record by record, each under a savepoint, and
// only the records it refuses are dropped (and counted).
#pragma once

#include "store/postgresql/pg_connection.hpp"
#include "store/write_queue.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace backtalk::store::pg {

class PgBatchWriter {
public:
    // `connection`: open and migrated.
    PgBatchWriter(std::unique_ptr<PgConnection> connection, std::function<void(std::string_view)> report);

    // One attempt; see StoreBackend::write_batch.
    void write_batch(const detail::Batch& batch, const detail::WriteQueue& queue, std::uint64_t& rejected,
                     detail::WrittenSessions& written_sessions);

    PgConnection& connection() { return *connection_; }

private:
    std::unique_ptr<PgConnection> connection_;
    std::function<void(std::string_view)> report_;
};

}  // namespace backtalk::store::pg
