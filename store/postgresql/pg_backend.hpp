// The PostgreSQL backend: several backtalk instances share one database.
// The writer thread commits through a connection of its own
// (pg_batch_writer); reads of sessions and bindings share one connection,
// opened again after a failure; each review reader gets its own.
#pragma once

#include "store/backend.hpp"
#include "store/store.hpp"

#include <memory>
#include <mutex>
#include <string>

namespace backtalk::store::pg {

class PgBatchWriter;
class PgConnection;

class PgBackend final : public detail::StoreBackend {
public:
    // Keeps a reference to `options`, which must outlive the backend.
    explicit PgBackend(const StoreOptions& options);
    ~PgBackend() override;

    void ensure_writer() override;
    void reset_writer() override;
    void write_batch(const detail::Batch& batch, const detail::WriteQueue& queue, std::uint64_t& rejected,
                     detail::WrittenSessions& written_sessions) override;
    void after_batch() override;
    std::size_t purge_before(std::int64_t cutoff_ms) override;
    bool delete_conversation(const std::string& id) override;
    bool mark_reviewed(const review::ReviewMark& mark) override;
    bool is_record_error(const std::exception& error) const override;

    PublishedRules publish_rules(const std::string& version, const std::string& origin, std::int64_t now_ms) override;
    std::unique_ptr<RulesWatch> watch_rules(RulesWatchOptions options) override;

    bool shared() const override { return true; }
    std::optional<std::pair<std::string, std::uint64_t>> versioned_snapshot(const std::string& id) override;
    std::optional<std::uint64_t> commit_snapshot(const std::string& id, const std::string& snapshot,
                                                 std::int64_t now_ms, std::uint64_t expected_version) override;
    std::optional<std::string> claim_binding(const std::string& scope, const std::string& key,
                                             const std::string& value, std::int64_t now_ms) override;
    std::size_t forget_claims_before(const std::string& scope, std::int64_t cutoff_ms) override;
    std::optional<std::string> session_snapshot(const std::string& id) override;
    std::optional<std::string> binding(const std::string& scope, const std::string& key) override;
    std::vector<std::string> binding_values(const std::string& scope) override;
    std::unique_ptr<review::ReviewReader> review() override;
    // Refuses: a PostgreSQL database is backed up with its own tools.
    void backup_to(const std::filesystem::path& target) override;
    void close_readers() override;

private:
    template <class Read>
    auto with_reader(Read&& read);

    const StoreOptions& options_;
    std::unique_ptr<PgBatchWriter> writer_;  // writer thread only
    std::mutex reader_mutex_;
    std::unique_ptr<PgConnection> reader_;
};

}  // namespace backtalk::store::pg
