// The SQLite backend: one file in WAL mode, written by the store's writer
// thread through one connection, read through connections of their own.
#pragma once

#include "store/backend.hpp"
#include "store/sqlite/batch_writer.hpp"

#include <SQLiteCpp/Database.h>

#include <memory>
#include <mutex>
#include <optional>

namespace backtalk::store::detail {

class SqliteBackend final : public StoreBackend {
public:
    // Keeps a reference to `options`, which must outlive the backend.
    explicit SqliteBackend(const StoreOptions& options);
    ~SqliteBackend() override;

    void ensure_writer() override;
    void reset_writer() override;
    void write_batch(const Batch& batch, const WriteQueue& queue, std::uint64_t& rejected,
                     WrittenSessions& written_sessions) override;
    void after_batch() override;
    std::size_t purge_before(std::int64_t cutoff_ms) override;
    bool delete_conversation(const std::string& id) override;
    bool mark_reviewed(const review::ReviewMark& mark) override;
    bool is_record_error(const std::exception& error) const override;

    std::optional<std::string> session_snapshot(const std::string& id) override;
    std::optional<std::string> binding(const std::string& scope, const std::string& key) override;
    std::vector<std::string> binding_values(const std::string& scope) override;
    std::unique_ptr<review::ReviewReader> review() override;
    void backup_to(const std::filesystem::path& target) override;
    void close_readers() override;

private:
    SQLite::Database open_read_only() const;
    // Runs `read` on the connection readers share, reopened after a failure.
    template <class Read>
    auto with_reader(Read&& read);

    const StoreOptions& options_;
    std::unique_ptr<SqliteBatchWriter> writer_;  // writer thread only
    int batches_since_wal_check_ = 0;
    std::mutex reader_mutex_;
    std::optional<SQLite::Database> reader_;
};

}  // namespace backtalk::store::detail
