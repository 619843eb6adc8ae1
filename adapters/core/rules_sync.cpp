#include "adapters/core/rules_sync.hpp"

#include <unistd.h>

#include <climits>
#include <utility>

namespace backtalk {

std::string host_name() {
    char host[HOST_NAME_MAX + 1] = {};
    if (gethostname(host, sizeof host - 1) != 0 || !*host) return "unknown host";
    return host;
}

RulesSync::RulesSync(RulesReloader& reloader, store::Store* store, RulesSyncOptions options)
    : reloader_(reloader), store_(store && store->shared() ? store : nullptr), options_(std::move(options)) {
    if (!store_) return;
    started_ms_ = options_.now_ms();
    store::RulesWatchOptions watch;
    watch.on_published = [this](const store::PublishedRules& rules) { on_published(rules); };
    watch.report = options_.report;
    watch_ = store_->watch_rules(std::move(watch));
}

SyncedReload RulesSync::reload(const std::string& origin) {
    SyncedReload result;
    result.local = reloader_.reload();
    result.shared = store_ != nullptr;
    if (!result.local.ok || !result.shared) return result;
    result.publish_error = publish(result.local.version, origin);
    result.published = result.publish_error.empty();
    return result;
}

std::string RulesSync::publish(const std::string& version, const std::string& origin) {
    try {
        const std::string asked_by = origin + " on " + host_name() + " pid " + std::to_string(getpid());
        note_published(store_->publish_rules(version, asked_by, options_.now_ms()));
        return {};
    } catch (const std::exception& error) {
        return error.what();
    }
}

// The instance that published, and any already at that version, have
// nothing to do; the others load their own files. A publication older than
// this instance's start, of other rules than it started with, means it was
// upgraded (or rolled back) by a restart rather than a reload: the start
// counts as a reload, so it publishes its own version, and the other
// instances follow or say they cannot; until then every one of them would
// have looked in step but this one.
void RulesSync::on_published(const store::PublishedRules& rules) {
    note_published(rules);
    const bool first_heard = !std::exchange(start_settled_, true);
    const std::string running = reloader_.version();
    if (running == rules.version) return;
    if (first_heard && rules.time_ms < started_ms_) {
        const std::string error = publish(running, "start");
        if (!error.empty() && options_.report) {
            options_.report("could not publish the rules this instance started with: " + error);
        }
        return;
    }
    const ReloadResult result = reloader_.reload();
    if (options_.followed) options_.followed(result, rules.version);
}

void RulesSync::note_published(const store::PublishedRules& rules) {
    std::lock_guard lock(mutex_);
    if (!published_ || rules.generation > published_->generation) published_ = rules;
}

RulesStatus RulesSync::status() const {
    RulesStatus status;
    status.version = reloader_.version();
    status.shared = store_ != nullptr;
    status.listening = watch_ && watch_->listening();
    std::lock_guard lock(mutex_);
    if (published_) status.published = published_->version;
    return status;
}

}  // namespace backtalk
