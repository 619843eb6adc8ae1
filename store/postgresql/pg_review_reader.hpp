// The review queries over PostgreSQL, each in one read-only repeatable-read
// transaction (one consistent view per call), on a connection of the
// reader's own. Messages are numbered on reading: a conversation's turn rows
// in (session version, time, id) order, their objects in order within each.
#pragma once

#include "store/postgresql/pg_connection.hpp"
#include "store/review.hpp"

#include <memory>

namespace backtalk::store::pg {

class PgReviewReader final : public review::ReviewReader {
public:
    // Throws std::runtime_error when the database is not a backtalk log or
    // comes from a newer backtalk; never creates or migrates anything.
    explicit PgReviewReader(std::unique_ptr<PgConnection> connection);

    nlohmann::json list_conversations(const review::Filter& filter) override;
    std::optional<nlohmann::json> transcript(const std::string& id) override;
    std::size_t write_export(const review::Filter& filter, review::ExportFormat format, std::ostream& out) override;
    nlohmann::json stats(const review::Filter& filter) override;
    nlohmann::json unmatched(const review::Filter& filter) override;
    int schema_version() override;
    int latest_schema_version() const override;

private:
    std::unique_ptr<PgConnection> connection_;
};

}  // namespace backtalk::store::pg
