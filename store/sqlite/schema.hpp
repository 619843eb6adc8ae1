// The database schema, versioned with PRAGMA user_version. Migration N brings
// a database from version N-1 to N; they run in order inside one transaction
// each, so a crash mid-migration leaves the previous version intact.
#pragma once

#include <SQLiteCpp/Database.h>

#include <stdexcept>

namespace backtalk::store {

int latest_schema_version();

// The schema from which conversations carry their message counts (stats
// read them).
constexpr int message_counts_schema = 6;

// The SET list that computes a conversation row's message counts from its
// messages: schema 6's backfill, and the writer's recount of a conversation
// whose row was missing when its messages were written. Part of a released
// migration: never change it; a new migration gets a new one.
extern const char* const message_counts_from_messages;

// The database's user_version.
int schema_version(SQLite::Database& db);

// Throws SchemaTooNew when the file comes from a newer backtalk.
void check_schema_supported(SQLite::Database& db);

// Runs the migrations from the database's version up to `target` (default:
// the latest), after check_schema_supported().
void migrate(SQLite::Database& db, int target = latest_schema_version());

class SchemaTooNew : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The WAL is copied into the database once it holds this many pages (see
// configure_writer_connection), then written again from its start: its
// file stays at about this size plus one batch.
constexpr int wal_checkpoint_pages = 4000;

// Per-connection settings for the writer: WAL, synchronous=NORMAL,
// secure_delete, and a busy timeout.
void configure_writer_connection(SQLite::Database& db, int busy_timeout_ms);

}  // namespace backtalk::store
