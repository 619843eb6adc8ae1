// The one place that picks a review backend for a database location.
#include "store/postgresql/pg_connection.hpp"
#include "store/postgresql/pg_review_reader.hpp"
#include "store/review.hpp"
#include "store/sqlite/review_reader.hpp"

#include <stdexcept>

namespace backtalk::store::review {

std::unique_ptr<ReviewReader> open_review_reader(const DatabaseLocation& location) {
    if (location.backend == Backend::postgresql) {
        return std::make_unique<pg::PgReviewReader>(std::make_unique<pg::PgConnection>(location.text));
    }
    return std::make_unique<SqliteReviewReader>(open_existing_log_read_only(location.text));
}

}  // namespace backtalk::store::review
