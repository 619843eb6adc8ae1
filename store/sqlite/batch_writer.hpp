// Commits the writer thread's batches to SQLite: one transaction per batch,
// prepared statements, each busy conversation's records folded into one row
// update and its session written once, in its newest state.
#pragma once

#include "store/write_queue.hpp"

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace backtalk::store::detail {

struct WriterStatements;

class SqliteBatchWriter {
public:
    // `db`: open, configured and migrated. `report`: a line for the operator.
    SqliteBatchWriter(SQLite::Database db, std::function<void(std::string_view)> report);
    ~SqliteBatchWriter();

    // One attempt; see StoreBackend::write_batch.
    void write_batch(const Batch& batch, const WriteQueue& queue, std::uint64_t& rejected,
                     WrittenSessions& written_sessions);

    SQLite::Database& db();
    // After rows were deleted behind the writer's back: the next message
    // of those conversations reads its sequence number from the table.
    void forget_sequences();
    void forget_sequence(const std::string& conversation);

private:
    std::int64_t next_seq(const std::string& conversation, std::unordered_map<std::string, std::int64_t>& batch_seqs);

    SQLite::Database db_;
    std::unique_ptr<WriterStatements> statements_;
    std::function<void(std::string_view)> report_;
    std::unordered_map<std::string, std::int64_t> last_seq_cache_;
    // Conversations whose messages were written while their row was missing.
    std::unordered_set<std::string> uncounted_;
};

// Errors that belong to one record (it can never be written) rather than to
// the database; the record is dropped and the rest of the batch goes on.
bool is_sqlite_record_error(const SQLite::Exception& error);

}  // namespace backtalk::store::detail
