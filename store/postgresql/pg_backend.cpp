#include "store/postgresql/pg_backend.hpp"

#include "store/postgresql/pg_batch_writer.hpp"
#include "store/postgresql/pg_connection.hpp"
#include "store/postgresql/pg_review_reader.hpp"
#include "store/postgresql/pg_rules_publications.hpp"
#include "store/postgresql/pg_schema.hpp"

namespace backtalk::store::pg {

PgBackend::PgBackend(const StoreOptions& options) : options_(options) {}

PgBackend::~PgBackend() = default;

void PgBackend::ensure_writer() {
    if (writer_) return;
    auto connection = std::make_unique<PgConnection>(options_.postgresql_url);
    try {
        migrate(*connection);
    } catch (const PgSchemaTooNew& error) {
        throw detail::FatalOpenError(error.what());
    }
    writer_ = std::make_unique<PgBatchWriter>(std::move(connection), options_.report);
}

void PgBackend::reset_writer() { writer_.reset(); }

void PgBackend::write_batch(const detail::Batch& batch, const detail::WriteQueue& queue, std::uint64_t& rejected,
                            detail::WrittenSessions& written_sessions) {
    ensure_writer();
    writer_->write_batch(batch, queue, rejected, written_sessions);
}

// PostgreSQL's autovacuum keeps the tables in shape; nothing to do per batch.
void PgBackend::after_batch() {}

std::size_t PgBackend::purge_before(std::int64_t cutoff_ms) {
    ensure_writer();
    PgConnection& connection = writer_->connection();
    const std::vector<Param> cutoff{std::to_string(cutoff_ms)};
    PgTransaction transaction(connection);
    const char* old_conversations = "SELECT id FROM conversations WHERE last_activity < $1::bigint";
    connection.exec(std::string("DELETE FROM turns WHERE conversation IN (") + old_conversations +
                        ") OR (time < $1::bigint AND conversation NOT IN (SELECT id FROM conversations))",
                    cutoff);
    connection.exec(std::string("DELETE FROM sessions WHERE updated < $1::bigint OR id IN (") + old_conversations + ")",
                    cutoff);
    connection.exec(std::string("DELETE FROM reviews WHERE conversation IN (") + old_conversations + ")", cutoff);
    connection.exec("DELETE FROM bindings WHERE updated < $1::bigint", cutoff);
    const PgResult removed = connection.exec("DELETE FROM conversations WHERE last_activity < $1::bigint", cutoff);
    transaction.commit();
    return static_cast<std::size_t>(removed.affected());
}

bool PgBackend::delete_conversation(const std::string& id) {
    ensure_writer();
    PgConnection& connection = writer_->connection();
    PgTransaction transaction(connection);
    long changed = 0;
    // As in SQLite: a binding names the conversation as its value or inside
    // it (a stored REST answer); ids are 32 random hex digits.
    for (const char* sql : {"DELETE FROM turns WHERE conversation = $1", "DELETE FROM sessions WHERE id = $1",
                            "DELETE FROM reviews WHERE conversation = $1",
                            "DELETE FROM bindings WHERE strpos(value, $1) > 0",
                            "DELETE FROM conversations WHERE id = $1"}) {
        changed += connection.exec(sql, {id}).affected();
    }
    transaction.commit();
    return changed > 0;
}

bool PgBackend::mark_reviewed(const review::ReviewMark& mark) {
    ensure_writer();
    const PgResult marked = writer_->connection().exec(
        "INSERT INTO reviews (conversation, time, reviewer, note, tags) "
        "SELECT id, $2::bigint, $3, $4, $5::jsonb FROM conversations WHERE id = $1 "
        "ON CONFLICT (conversation) DO UPDATE SET time = excluded.time, reviewer = excluded.reviewer, "
        "note = excluded.note, tags = excluded.tags",
        {mark.conversation, std::to_string(mark.time_ms), mark.reviewer, mark.note, nlohmann::json(mark.tags).dump()});
    return marked.affected() > 0;
}

PublishedRules PgBackend::publish_rules(const std::string& version, const std::string& origin, std::int64_t now_ms) {
    ensure_writer();
    return pg::publish_rules(writer_->connection(), version, origin, now_ms);
}

std::unique_ptr<RulesWatch> PgBackend::watch_rules(RulesWatchOptions options) {
    return pg::watch_rules(options_.postgresql_url, std::move(options));
}

bool PgBackend::is_record_error(const std::exception& error) const {
    const auto* pg_error = dynamic_cast<const PgError*>(&error);
    return pg_error && is_data_error(*pg_error);
}

template <class Read>
auto PgBackend::with_reader(Read&& read) {
    std::lock_guard lock(reader_mutex_);
    try {
        if (!reader_) reader_ = std::make_unique<PgConnection>(options_.postgresql_url);
        return read(*reader_);
    } catch (const PgError&) {
        reader_.reset();  // the next read connects again
        throw;
    }
}

std::optional<std::string> PgBackend::session_snapshot(const std::string& id) {
    return with_reader([&](PgConnection& connection) -> std::optional<std::string> {
        const PgResult result = connection.exec("SELECT snapshot FROM sessions WHERE id = $1", {id});
        if (result.rows() == 0) return std::nullopt;
        return result.text(0, 0);
    });
}

std::optional<std::pair<std::string, std::uint64_t>> PgBackend::versioned_snapshot(const std::string& id) {
    return with_reader([&](PgConnection& connection) -> std::optional<std::pair<std::string, std::uint64_t>> {
        const PgResult result = connection.exec("SELECT snapshot, version FROM sessions WHERE id = $1", {id});
        if (result.rows() == 0) return std::nullopt;
        return std::pair{result.text(0, 0), std::stoull(result.text(0, 1))};
    });
}

// No lock: the write says which version it read, and loses to any write
// since (about 23,000 updates/s here against 3,200 for SELECT ... FOR
// UPDATE, issue 18). It commits before the reply is sent.
std::optional<std::uint64_t> PgBackend::commit_snapshot(const std::string& id, const std::string& snapshot,
                                                        std::int64_t now_ms, std::uint64_t expected_version) {
    return with_reader([&](PgConnection& connection) -> std::optional<std::uint64_t> {
        const PgResult result =
            expected_version == 0
                ? connection.exec("INSERT INTO sessions (id, snapshot, updated, version) VALUES ($1, $2, $3, 1) "
                                  "ON CONFLICT (id) DO NOTHING RETURNING version",
                                  {id, snapshot, std::to_string(now_ms)})
                : connection.exec("UPDATE sessions SET snapshot = $2, updated = $3, version = version + 1 "
                                  "WHERE id = $1 AND version = $4 RETURNING version",
                                  {id, snapshot, std::to_string(now_ms), std::to_string(expected_version)});
        if (result.rows() == 0) return std::nullopt;
        return std::stoull(result.text(0, 0));
    });
}

std::optional<std::string> PgBackend::binding(const std::string& scope, const std::string& key) {
    return with_reader([&](PgConnection& connection) -> std::optional<std::string> {
        const PgResult result = connection.exec("SELECT value FROM bindings WHERE scope = $1 AND key = $2", {scope, key});
        if (result.rows() == 0) return std::nullopt;
        return result.text(0, 0);
    });
}

// The primary key decides: of two instances inserting one key at once, one
// waits for the other's commit and inserts nothing. The value is read in a
// statement of its own, whose snapshot sees that commit.
std::optional<std::string> PgBackend::claim_binding(const std::string& scope, const std::string& key,
                                                    const std::string& value, std::int64_t now_ms) {
    return with_reader([&](PgConnection& connection) -> std::optional<std::string> {
        const PgResult inserted = connection.exec(
            "INSERT INTO bindings (scope, key, value, updated) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            {scope, key, value, std::to_string(now_ms)});
        if (inserted.affected() == 1) return std::nullopt;
        const PgResult taken = connection.exec("SELECT value FROM bindings WHERE scope = $1 AND key = $2", {scope, key});
        // Purged in between: it was taken all the same.
        return taken.rows() == 0 ? std::string() : taken.text(0, 0);
    });
}

std::size_t PgBackend::forget_claims_before(const std::string& scope, std::int64_t cutoff_ms) {
    return with_reader([&](PgConnection& connection) {
        return static_cast<std::size_t>(
            connection.exec("DELETE FROM bindings WHERE scope = $1 AND updated < $2", {scope, std::to_string(cutoff_ms)})
                .affected());
    });
}

std::vector<std::string> PgBackend::binding_values(const std::string& scope) {
    return with_reader([&](PgConnection& connection) {
        const PgResult result = connection.exec("SELECT value FROM bindings WHERE scope = $1", {scope});
        std::vector<std::string> values;
        for (int row = 0; row < result.rows(); ++row) values.push_back(result.text(row, 0));
        return values;
    });
}

std::unique_ptr<review::ReviewReader> PgBackend::review() {
    return std::make_unique<PgReviewReader>(std::make_unique<PgConnection>(options_.postgresql_url));
}

void PgBackend::backup_to(const std::filesystem::path&) {
    throw std::runtime_error("a PostgreSQL store is backed up with PostgreSQL's own tools (pg_dump, or the "
                             "server's backups), not `backtalk logs backup`");
}

void PgBackend::close_readers() {
    std::lock_guard lock(reader_mutex_);
    reader_.reset();
}

}  // namespace backtalk::store::pg
