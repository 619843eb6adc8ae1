// The engine on the repository's English rules, loaded once per test process.
#pragma once

#include "bot/engine.hpp"
#include "bot/rules.hpp"

#include <filesystem>
#include <memory>
#include <stdexcept>

namespace backtalk::test {

inline std::shared_ptr<const Engine> make_engine() {
    static const std::shared_ptr<const RuleSet> rules = [] {
        RuleLoad load = load_rules(std::filesystem::path(BACKTALK_SOURCE_DIR) / "rules" / "en");
        if (!load.errors.empty()) throw std::runtime_error("rules/en does not load: " + load.errors[0].to_string());
        return load.rules;
    }();
    return std::make_shared<const Engine>(rules, EngineOptions{"112"});
}

}  // namespace backtalk::test
