#include "adapters/core/rules_reloader.hpp"

#include "bot/rules.hpp"

namespace backtalk {

RulesReloader::RulesReloader(ConversationService& service, std::filesystem::path locale_dir, EngineOptions options)
    : service_(service), locale_dir_(std::move(locale_dir)), options_(std::move(options)) {}

ReloadResult RulesReloader::reload() {
    std::lock_guard lock(mutex_);
    ReloadResult result;
    RuleLoad load = load_rules(locale_dir_);
    if (!load.errors.empty()) {
        ++failures_;
        for (const auto& error : load.errors) result.errors.push_back(error.to_string());
        result.version = version();
        return result;
    }
    service_.replace_engine(std::make_shared<const Engine>(load.rules, options_));
    ++reloads_;
    result.ok = true;
    result.version = backtalk::version(*load.rules);
    return result;
}

std::string RulesReloader::version() const { return backtalk::version(service_.engine()->rules()); }

std::uint64_t RulesReloader::reloads() const {
    std::lock_guard lock(mutex_);
    return reloads_;
}

std::uint64_t RulesReloader::failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

}  // namespace backtalk
