#include "adapters/core/wording.hpp"

#include "bot/ruleset.hpp"

#include <nlohmann/json.hpp>

namespace backtalk {

namespace {

std::string text_or_empty(const RuleSet& rules, const std::string& key) {
    const auto found = rules.texts.find(key);
    return found == rules.texts.end() ? std::string() : found->second;
}

constexpr Level levels[] = {Level::emergency, Level::urgent, Level::gp_soon, Level::self_care};

}  // namespace

protocol::Error worded_error(const RuleSet& rules, std::string_view code) {
    for (const std::string_view known : protocol::error_codes) {
        if (known == code) return {std::string(code), text_or_empty(rules, "error_" + std::string(code))};
    }
    return {"internal", text_or_empty(rules, "error_internal")};
}

std::string level_title(const RuleSet& rules, Level level) {
    return text_or_empty(rules, "level_title_" + std::string(to_string(level)));
}

std::string texts_json(const RuleSet& rules) {
    nlohmann::json out{{"locale", rules.locale}, {"rules_version", rules.version}};
    auto& level_texts = out["levels"] = nlohmann::json::object();
    for (const Level level : levels) {
        const std::string name(to_string(level));
        level_texts[name] = {{"title", text_or_empty(rules, "level_title_" + name)},
                             {"action", text_or_empty(rules, "level_action_" + name)}};
    }
    out["call"] = text_or_empty(rules, "level_call");
    out["causes_label"] = {{"one", text_or_empty(rules, "causes_label_one")},
                           {"many", text_or_empty(rules, "causes_label_many")}};
    out["origin_refused"] = text_or_empty(rules, "origin_refused");
    auto& causes = out["causes"] = nlohmann::json::object();
    for (const auto& [id, cause] : rules.causes) causes[id] = cause.title;
    auto& errors = out["errors"] = nlohmann::json::object();
    for (const std::string_view code : protocol::error_codes) errors[std::string(code)] = worded_error(rules, code).message;
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace backtalk
