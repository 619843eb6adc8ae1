// Reloading rules/ while the server runs (SIGHUP or the admin API): the new
// rules are validated first and swapped in atomically; a broken set keeps
// the old one and says why. Conversations in flight keep going: one whose
// state or question no longer exists is moved to a safe place by the engine.
#pragma once

#include "adapters/core/conversations.hpp"
#include "bot/engine.hpp"

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace backtalk {

struct ReloadResult {
    bool ok = false;
    std::string version;              // the rules now answering
    std::vector<std::string> errors;  // "file: path: message", when refused
};

class RulesReloader {
public:
    RulesReloader(ConversationService& service, std::filesystem::path locale_dir, EngineOptions options);

    // Safe from any thread; reloads run one at a time.
    ReloadResult reload();

    // The version of the rules answering now.
    std::string version() const;

    std::uint64_t reloads() const;   // successful
    std::uint64_t failures() const;  // refused

private:
    ConversationService& service_;
    std::filesystem::path locale_dir_;
    EngineOptions options_;
    mutable std::mutex mutex_;
    std::uint64_t reloads_ = 0;
    std::uint64_t failures_ = 0;
};

}  // namespace backtalk
