// Rules reloads across the instances that share a database (issue 18). A
// reload asked for on one instance (SIGHUP, the admin API) that takes is
// published with its version (store::Store::publish_rules); every instance
// hears it, or catches up when its connection comes back, and reloads its
// own rules directory unless it already runs that version. Only a version
// that validated somewhere is published: the rules are files on each
// machine, and an instance whose own files are broken refuses, keeps its
// rules and says why, and reports its version beside the published one.
// With a store of one instance (SQLite), or none, reloads stay local.
#pragma once

#include "adapters/core/rules_reloader.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace backtalk {

struct RulesStatus {
    std::string version;                   // the rules answering here
    bool shared = false;                   // instances share the database
    std::optional<std::string> published;  // the newest published version; none yet
    bool listening = false;                // publications reach this instance now
    // False when this instance runs other rules than were last published.
    bool in_step() const { return !published || *published == version; }
};

struct SyncedReload {
    ReloadResult local;          // this instance's reload
    bool shared = false;         // other instances share the database
    bool published = false;      // told every instance (shared, reload taken)
    std::string publish_error;   // why it could not be published
};

struct RulesSyncOptions {
    // After a reload a publication caused: its result and the version
    // published (on the store's watch thread).
    std::function<void(const ReloadResult&, const std::string& published)> followed;
    // The watch lost its connection to the database, or has it back.
    std::function<void(std::string_view)> report;
    std::function<std::int64_t()> now_ms;  // wall clock, for the publication
};

// This machine's name, for a publication's origin.
std::string host_name();

class RulesSync {
public:
    // `store` may be null (no database) or of one instance: reloads stay
    // local. Both must outlive this; on a shared store it starts watching
    // the publications.
    RulesSync(RulesReloader& reloader, store::Store* store, RulesSyncOptions options);
    RulesSync(const RulesSync&) = delete;
    RulesSync& operator=(const RulesSync&) = delete;

    // Reloads this instance's rules and, when they took and the store is
    // shared, publishes their version as asked by `origin`. Reads files and
    // writes the database: never call it on a network thread.
    SyncedReload reload(const std::string& origin);

    // Any thread, without waiting for a reload or the database (/healthz
    // asks on a network thread).
    RulesStatus status() const;
    const RulesReloader& reloader() const { return reloader_; }

private:
    void on_published(const store::PublishedRules& rules);
    // Publishes `version` as asked by `origin`; why not, or empty.
    std::string publish(const std::string& version, const std::string& origin);
    // Keeps the newest of what was published here and what was heard.
    void note_published(const store::PublishedRules& rules);

    RulesReloader& reloader_;
    store::Store* store_;  // null unless shared
    RulesSyncOptions options_;
    mutable std::mutex mutex_;
    std::optional<store::PublishedRules> published_;
    std::int64_t started_ms_ = 0;
    bool start_settled_ = false;  // by the first publication heard; the watch's thread only
    std::unique_ptr<store::RulesWatch> watch_;  // last: its thread stops before the rest goes
};

}  // namespace backtalk
