#include "store/postgresql/pg_schema.hpp"

#include <array>
#include <string>

namespace backtalk::store::pg {

namespace {

// Any fixed number, the same in every backtalk: the lock migrations take.
constexpr const char* migration_lock = "SELECT pg_advisory_xact_lock(7410518)";

// Never edit a released migration; add a new one.
const std::array<const char*, 4> migrations = {
    // 1: conversations, the log as one row per turn, sessions with versions,
    // audit, bindings.
    R"sql(
    CREATE TABLE conversations (
        id              text PRIMARY KEY,
        channel         text NOT NULL,
        user_hash       text,
        started         bigint NOT NULL,    -- ms since the epoch
        last_activity   bigint NOT NULL,
        locale          text,
        outcome_level   text,
        outcome_reasons text,               -- JSON array of cause ids
        turns           integer NOT NULL DEFAULT 0,
        state           text,
        asking          text
    );
    CREATE INDEX conversations_started ON conversations (started);
    CREATE INDEX conversations_last_activity ON conversations (last_activity);

    CREATE TABLE turns (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        conversation  text NOT NULL,
        version       bigint NOT NULL,      -- the session's after the turn: orders the rows
        time          bigint NOT NULL,
        objects       integer NOT NULL,
        person        json,                 -- what the person sent, or null
        replies       json NOT NULL,        -- the bot's objects, with triage and basis
        rules_version text,
        channel       text,
        processing_us bigint
    );
    CREATE INDEX turns_conversation ON turns (conversation, version, time, id);

    CREATE TABLE sessions (
        id       text PRIMARY KEY,
        snapshot text NOT NULL,             -- JSON of backtalk::Session
        updated  bigint NOT NULL,
        version  bigint NOT NULL            -- 1 on insert, raised by every update
    );
    CREATE INDEX sessions_updated ON sessions (updated);

    CREATE TABLE audit (
        id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        time   bigint NOT NULL,
        actor  text NOT NULL,
        action text NOT NULL,
        detail text
    );
    CREATE INDEX audit_time ON audit (time);

    CREATE TABLE bindings (
        scope   text NOT NULL,
        key     text NOT NULL,
        value   text NOT NULL,
        updated bigint NOT NULL,
        PRIMARY KEY (scope, key)
    );
    CREATE INDEX bindings_updated ON bindings (updated);
    )sql",
    // 2: a reviewer's mark on a conversation (as SQLite's schema 9).
    R"sql(
    CREATE TABLE reviews (
        conversation text PRIMARY KEY,
        time         bigint NOT NULL,       -- ms since the epoch
        reviewer     text NOT NULL,
        note         text NOT NULL,
        tags         jsonb NOT NULL         -- array of strings
    );
    )sql",
    // 3: the rules versions published to every instance (a reload on any of
    // them); the newest is the one to run. Instances LISTEN on
    // backtalk_rules and catch up from here when they connect again.
    R"sql(
    CREATE TABLE rules_publications (
        generation bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        version    text NOT NULL,
        time       bigint NOT NULL,         -- ms since the epoch
        origin     text NOT NULL            -- who asked, e.g. "SIGHUP on host"
    );
    )sql",
    // 4: an index for the review's full-text search (as SQLite's turns_text):
    // a turn's words, the person's text and the bot's, in the 'simple'
    // configuration (words as written, lower-cased, no stemming). Searching
    // computed them for every turn on each search before.
    R"sql(
    CREATE FUNCTION backtalk_turn_words(person json, replies json) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT to_tsvector('simple'::regconfig, coalesce(person->>'text', '') || ' ' ||
            coalesce(CASE WHEN json_typeof(replies) = 'array' THEN
                (SELECT string_agg(e->>'text', ' ') FROM json_array_elements(replies) e) END, ''))
    $$;
    CREATE INDEX turns_words ON turns USING gin (backtalk_turn_words(person, replies));
    )sql",
};

}  // namespace

int latest_schema_version() { return static_cast<int>(migrations.size()); }

int schema_version(PgConnection& connection) {
    const PgResult exists = connection.exec("SELECT to_regclass('backtalk_schema') IS NOT NULL");
    if (exists.text(0, 0) != "t") return 0;
    const PgResult version = connection.exec("SELECT version FROM backtalk_schema");
    return version.rows() == 0 ? 0 : std::stoi(version.text(0, 0));
}

void migrate(PgConnection& connection) {
    PgTransaction transaction(connection);
    connection.exec(migration_lock);
    connection.exec("CREATE TABLE IF NOT EXISTS backtalk_schema (version integer NOT NULL)");
    const int current = schema_version(connection);
    if (current > latest_schema_version()) {
        throw PgSchemaTooNew("database schema version " + std::to_string(current) +
                             " is newer than this backtalk supports (" +
                             std::to_string(latest_schema_version()) + ")");
    }
    for (int version = current + 1; version <= latest_schema_version(); ++version) {
        connection.exec_script(migrations[static_cast<std::size_t>(version - 1)]);
    }
    if (current == 0) {
        connection.exec("INSERT INTO backtalk_schema (version) VALUES ($1)",
                        {std::to_string(latest_schema_version())});
    } else if (current < latest_schema_version()) {
        connection.exec("UPDATE backtalk_schema SET version = $1", {std::to_string(latest_schema_version())});
    }
    transaction.commit();
}

}  // namespace backtalk::store::pg
