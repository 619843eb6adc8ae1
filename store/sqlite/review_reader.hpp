// ReviewReader over one read-only SQLite connection.
#pragma once

#include "store/review.hpp"

#include <SQLiteCpp/Database.h>

#include <filesystem>
#include <memory>

namespace backtalk::store {

class SqliteReviewReader final : public review::ReviewReader {
public:
    explicit SqliteReviewReader(SQLite::Database db);

    nlohmann::json list_conversations(const review::Filter& filter) override;
    std::optional<std::string> resolve_id(const std::string& id_or_prefix) override;
    std::optional<nlohmann::json> transcript(const std::string& id) override;
    std::size_t write_export(const review::Filter& filter, review::ExportFormat format, std::ostream& out) override;
    nlohmann::json stats(const review::Filter& filter) override;
    nlohmann::json unmatched(const review::Filter& filter) override;
    int schema_version() override;
    int latest_schema_version() const override;

private:
    SQLite::Database db_;
};

// A read-only connection to an existing backtalk log at `path`; never creates
// or changes one. Throws std::runtime_error in words a reviewer understands.
SQLite::Database open_existing_log_read_only(const std::filesystem::path& path);

}  // namespace backtalk::store
