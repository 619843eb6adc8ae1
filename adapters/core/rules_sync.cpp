#include "adapters/core/rules_sync.hpp"

#include <unistd.h>

#include <climits>

namespace backtalk {

std::string host_name() {
    char host[HOST_NAME_MAX + 1] = {};
    if (gethostname(host, sizeof host - 1) != 0 || !*host) return "unknown host";
    return host;
}

RulesSync::RulesSync(RulesReloader& reloader, store::Store* store, RulesSyncOptions options)
    : reloader_(reloader), store_(store && store->shared() ? store : nullptr), options_(std::move(options)) {
    if (!store_) return;
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
    try {
        const std::string asked_by = origin + " on " + host_name() + " pid " + std::to_string(getpid());
        note_published(store_->publish_rules(result.local.version, asked_by, options_.now_ms()));
        result.published = true;
    } catch (const std::exception& error) {
        result.publish_error = error.what();
    }
    return result;
}

// The instance that published, and any already at that version, have
// nothing to do; the others load their own files.
void RulesSync::on_published(const store::PublishedRules& rules) {
    note_published(rules);
    if (reloader_.version() == rules.version) return;
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
