// The PostgreSQL schema, created and migrated by backtalk. The version lives
// in the one-row table backtalk_schema; migrations run under an advisory
// lock, so instances starting together migrate once.
//
// The log keeps one row per turn (as SQLite's schema 8): `turns` holds the
// person's object and the bot's replies as JSON (json, not jsonb: COPY
// stores the text as written, without reparsing it into a tree). Rows are
// ordered by (version, time, id), version being the session's after the
// turn: instances append a conversation's turns in batches of their own,
// without agreeing on sequence numbers, which the review queries number on
// reading.
// Sessions carry a version, raised by every write.
#pragma once

#include "store/postgresql/pg_connection.hpp"

namespace backtalk::store::pg {

int latest_schema_version();

// The database's schema version; 0 for a database backtalk never used.
int schema_version(PgConnection& connection);

// Migrates to the latest version. Throws SchemaTooNew (store/sqlite's
// twin is for files) when the database comes from a newer backtalk.
void migrate(PgConnection& connection);

class PgSchemaTooNew : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace backtalk::store::pg
