#include "store/sqlite/schema.hpp"

#include "store/sqlite/turn_rows.hpp"

#include <SQLiteCpp/Transaction.h>

#include <functional>
#include <string>
#include <vector>

namespace backtalk::store {

const char* const message_counts_from_messages = R"sql(
        messages_in = (SELECT COUNT(*) FROM messages m WHERE m.conversation = conversations.id AND m.direction = 'in'),
        messages_out = (SELECT COUNT(*) FROM messages m WHERE m.conversation = conversations.id AND m.direction = 'out'),
        answers = (SELECT COUNT(*) FROM messages m WHERE m.conversation = conversations.id AND m.direction = 'in'
                   AND m.kind IN ('message', 'choice')),
        typed = (SELECT COUNT(*) FROM messages m WHERE m.conversation = conversations.id AND m.direction = 'in'
                 AND m.kind = 'message'),
        not_understood = (SELECT COUNT(*) FROM messages m WHERE m.conversation = conversations.id
                          AND m.direction = 'in' AND m.kind = 'message' AND m.understood = 0),
        turns_to_outcome = CASE WHEN EXISTS (
            SELECT 1 FROM messages o WHERE o.conversation = conversations.id AND o.direction = 'out'
            AND o.triage_level IS NOT NULL) THEN (
            SELECT COUNT(*) FROM messages i WHERE i.conversation = conversations.id AND i.direction = 'in'
            AND i.kind IN ('message', 'choice')
            AND i.seq < (SELECT MIN(o.seq) FROM messages o WHERE o.conversation = conversations.id
                         AND o.direction = 'out' AND o.triage_level IS NOT NULL)) END
)sql";

namespace {

using Migration = std::function<void(SQLite::Database&)>;

Migration sql(std::string statements) {
    return [statements = std::move(statements)](SQLite::Database& db) { db.exec(statements); };
}

// Never edit a released migration; add a new one.
const std::vector<Migration> migrations = {
    // 1: the conversation log.
    sql(R"sql(
    CREATE TABLE conversations (
        id              TEXT PRIMARY KEY,
        channel         TEXT NOT NULL,
        user_hash       TEXT,
        started         INTEGER NOT NULL,   -- ms since the epoch
        last_activity   INTEGER NOT NULL,
        locale          TEXT,
        outcome_level   TEXT,               -- null until a recommendation
        outcome_reasons TEXT,               -- JSON array of cause ids
        turns           INTEGER NOT NULL DEFAULT 0,
        state           TEXT,               -- where the conversation stands
        asking          TEXT
    );
    CREATE INDEX conversations_started ON conversations(started);
    CREATE INDEX conversations_last_activity ON conversations(last_activity);

    CREATE TABLE messages (
        conversation    TEXT NOT NULL,
        seq             INTEGER NOT NULL,   -- 1, 2, ... per conversation
        time            INTEGER NOT NULL,
        direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        kind            TEXT NOT NULL,      -- in: start message choice invalid; out: session reply error
        text            TEXT NOT NULL,      -- after redaction
        code            TEXT,               -- error code of an error object
        intents         TEXT,               -- JSON array
        confidence      REAL,
        understood      INTEGER,
        state           TEXT,
        asking          TEXT,
        triage_level    TEXT,
        triage_reasons  TEXT,               -- JSON array
        rules_version   TEXT,
        channel         TEXT,
        processing_us   INTEGER,
        PRIMARY KEY (conversation, seq)
    ) WITHOUT ROWID;
    CREATE INDEX messages_time ON messages(time);
    )sql"),
    // 2: session snapshots, so conversations resume after a restart.
    sql(R"sql(
    CREATE TABLE sessions (
        id       TEXT PRIMARY KEY,
        snapshot TEXT NOT NULL,             -- JSON of backtalk::Session
        updated  INTEGER NOT NULL
    );
    CREATE INDEX sessions_updated ON sessions(updated);
    )sql"),
    // 3: who looked at what, and channel bindings (e.g. a chat to a session).
    sql(R"sql(
    CREATE TABLE audit (
        id     INTEGER PRIMARY KEY,
        time   INTEGER NOT NULL,
        actor  TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX audit_time ON audit(time);

    CREATE TABLE bindings (
        scope   TEXT NOT NULL,              -- e.g. "telegram"
        key     TEXT NOT NULL,              -- a keyed hash of the external id
        value   TEXT NOT NULL,              -- e.g. a session id
        updated INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
    ) WITHOUT ROWID;
    CREATE INDEX bindings_updated ON bindings(updated);
    )sql"),
    // 4: messages become a rowid table with a unique (conversation, seq)
    // index. Rows are appended in time order rather than placed by
    // conversation in a B-tree of whole rows (replies are too big for a
    // WITHOUT ROWID table); a row costs the writer about half as much.
    sql(R"sql(
    CREATE TABLE messages_appended (
        conversation    TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        time            INTEGER NOT NULL,
        direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        kind            TEXT NOT NULL,
        text            TEXT NOT NULL,
        code            TEXT,
        intents         TEXT,
        confidence      REAL,
        understood      INTEGER,
        state           TEXT,
        asking          TEXT,
        triage_level    TEXT,
        triage_reasons  TEXT,
        rules_version   TEXT,
        channel         TEXT,
        processing_us   INTEGER,
        UNIQUE (conversation, seq)
    );
    INSERT INTO messages_appended SELECT * FROM messages ORDER BY time, conversation, seq;
    DROP TABLE messages;
    ALTER TABLE messages_appended RENAME TO messages;
    CREATE INDEX messages_time ON messages(time);
    )sql"),
    // 5: no index on messages(time). Every query reaches messages through a
    // conversation, so the index only cost each appended row a B-tree insert.
    sql(R"sql(
    DROP INDEX messages_time;
    )sql"),
    // 6: message counts kept on each conversation, so stats read one row per
    // conversation instead of every message (the writer adds each batch's
    // counts). answers: the person's messages and choices; typed: messages;
    // turns_to_outcome: answers before the first reply with a triage.
    sql(R"sql(
    ALTER TABLE conversations ADD COLUMN messages_in INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversations ADD COLUMN messages_out INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversations ADD COLUMN answers INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversations ADD COLUMN typed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversations ADD COLUMN not_understood INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversations ADD COLUMN turns_to_outcome INTEGER;
    UPDATE conversations SET )sql" + std::string(message_counts_from_messages) + ";"),
    // 7: why each advice is what it is, on the reply that gives it: JSON
    // [{rule, level, facts: [{slot, value, turn}]}].
    sql(R"sql(
    ALTER TABLE messages ADD COLUMN basis TEXT;
    )sql"),
    // 8: one row per turn (store/sqlite/turn_rows.hpp): the person's object,
    // the bot's replies and the basis of the advice in one row of `turns`
    // instead of about five rows of `messages`, which becomes a view of them.
    detail::convert_messages_to_turn_rows,
    // 9: a reviewer's mark on a conversation: who, when, a note and tags
    // (JSON array of strings). One row per conversation; marking again
    // replaces it.
    sql(R"sql(
    CREATE TABLE reviews (
        conversation TEXT PRIMARY KEY,
        time         INTEGER NOT NULL,      -- ms since the epoch
        reviewer     TEXT NOT NULL,
        note         TEXT NOT NULL,
        tags         TEXT NOT NULL          -- JSON array
    ) WITHOUT ROWID;
    )sql"),
    // 10: full-text search (FTS5) over what the person and the bot wrote,
    // one document per turn row (its rowid), kept by triggers on `turns`
    // (rows are only ever inserted and deleted, so a deletion can give the
    // index the words it gave on insertion). Contentless and without
    // positions: the index holds words, not a second copy of the text (the
    // file grew 75% with the copy, 5% without, in a 100,000-turn trial), and
    // searches are for words, never phrases. JSON that is not valid (a
    // damaged row) is indexed as nothing rather than failing the write.
    sql(R"sql(
    CREATE VIRTUAL TABLE turns_text USING fts5(person, bot, content = '', detail = none, columnsize = 0,
                                               tokenize = 'unicode61 remove_diacritics 2');
    INSERT INTO turns_text (rowid, person, bot)
        SELECT t.rowid,
               CASE WHEN json_valid(t.person) THEN json_extract(t.person, '$.text') END,
               CASE WHEN json_valid(t.replies) THEN
                   (SELECT group_concat(json_extract(r.value, '$.text'), char(10)) FROM json_each(t.replies) r) END
        FROM turns t;
    CREATE TRIGGER turns_text_insert AFTER INSERT ON turns BEGIN
        INSERT INTO turns_text (rowid, person, bot) VALUES (new.rowid,
            CASE WHEN json_valid(new.person) THEN json_extract(new.person, '$.text') END,
            CASE WHEN json_valid(new.replies) THEN
                (SELECT group_concat(json_extract(r.value, '$.text'), char(10)) FROM json_each(new.replies) r) END);
    END;
    CREATE TRIGGER turns_text_delete AFTER DELETE ON turns BEGIN
        INSERT INTO turns_text (turns_text, rowid, person, bot) VALUES ('delete', old.rowid,
            CASE WHEN json_valid(old.person) THEN json_extract(old.person, '$.text') END,
            CASE WHEN json_valid(old.replies) THEN
                (SELECT group_concat(json_extract(r.value, '$.text'), char(10)) FROM json_each(old.replies) r) END);
    END;
    )sql"),
    // 11: the log writer indexes each turn's text itself (index_turn_text in
    // store/sqlite/turn_rows.hpp): it holds the texts, where the insert
    // trigger parsed them back out of the row's JSON, which took four fifths
    // of the writer's time (docs/performance.md). Deletions still give the
    // index their words through turns_text_delete.
    sql("DROP TRIGGER turns_text_insert;"),
};

}  // namespace

int latest_schema_version() { return static_cast<int>(migrations.size()); }

int schema_version(SQLite::Database& db) { return db.execAndGet("PRAGMA user_version").getInt(); }

void check_schema_supported(SQLite::Database& db) {
    const int current = schema_version(db);
    if (current > latest_schema_version()) {
        throw SchemaTooNew("database schema version " + std::to_string(current) +
                           " is newer than this backtalk supports (" +
                           std::to_string(latest_schema_version()) + ")");
    }
}

void migrate(SQLite::Database& db, int target) {
    check_schema_supported(db);
    const int current = schema_version(db);
    for (int version = current + 1; version <= target; ++version) {
        SQLite::Transaction transaction(db);
        migrations[static_cast<std::size_t>(version - 1)](db);
        db.exec("PRAGMA user_version = " + std::to_string(version));
        transaction.commit();
    }
}

void configure_writer_connection(SQLite::Database& db, int busy_timeout_ms) {
    db.setBusyTimeout(busy_timeout_ms);
    // journal_mode answers with the mode in force; anything but "wal" means
    // the file could not be switched (e.g. it is read-only).
    const std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal") {
        throw std::runtime_error("cannot switch the database to WAL (journal mode is " + mode + ")");
    }
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA secure_delete = ON");
    // Checkpoints every 4000 pages (16 MB of WAL) instead of SQLite's 1000:
    // the pages a busy log keeps changing (index tails, live conversations)
    // are copied into the database once per checkpoint, not four times.
    db.exec("PRAGMA wal_autocheckpoint = " + std::to_string(wal_checkpoint_pages));
    // 8 MiB of page cache instead of 2: the conversation and session rows a
    // busy log updates in every batch stay in memory rather than being read
    // back from the OS.
    db.exec("PRAGMA cache_size = -8192");
}

}  // namespace backtalk::store
