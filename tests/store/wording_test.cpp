// The words the channels show beside the replies come from the rules: error
// texts, level titles and cause names, and a reworded one shows on reload.
#include "adapters/core/conversations.hpp"
#include "adapters/core/wording.hpp"
#include "bot/rules.hpp"
#include "bot/ruleset.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <stdexcept>

using namespace backtalk;
using nlohmann::json;

namespace {

std::shared_ptr<const RuleSet> english_rules() {
    static const std::shared_ptr<const RuleSet> rules = [] {
        RuleLoad load = load_rules(std::filesystem::path(BACKTALK_SOURCE_DIR) / "rules" / "en");
        if (!load.errors.empty()) throw std::runtime_error("rules/en does not load: " + load.errors[0].to_string());
        return load.rules;
    }();
    return rules;
}

ConversationService service_with(std::shared_ptr<const RuleSet> rules) {
    static int ids = 0;
    return ConversationService(std::make_shared<const Engine>(std::move(rules), EngineOptions{"112"}), nullptr, {},
                               [] { return std::int64_t{1714521600000}; },
                               [] {
                                   std::string id(1, 'w');
                                   return id += std::to_string(++ids);
                               });
}

const ChannelInfo terminal{"terminal", ""};

}  // namespace

TEST_CASE("every error code, level and cause is worded by rules/en") {
    const RuleSet& rules = *english_rules();
    for (const std::string_view code : protocol::error_codes) {
        CAPTURE(code);
        const protocol::Error error = worded_error(rules, code);
        CHECK(error.code == code);
        CHECK(error.message == rules.text("error_" + std::string(code)));
        CHECK_FALSE(error.message.empty());
    }
    CHECK(worded_error(rules, "no_such_code").code == "internal");
    CHECK(level_title(rules, Level::urgent) == rules.text("level_title_urgent"));

    const json texts = json::parse(texts_json(rules));
    CHECK(texts["locale"] == "en");
    CHECK(texts["rules_version"] == rules.version);
    for (const char* level : {"emergency", "urgent", "gp_soon", "self_care"}) {
        CAPTURE(level);
        CHECK_FALSE(texts["levels"][level]["title"].get<std::string>().empty());
        CHECK_FALSE(texts["levels"][level]["action"].get<std::string>().empty());
    }
    CHECK(texts["call"].get<std::string>().find("{emergency_number}") != std::string::npos);
    CHECK(texts["origin_refused"] == rules.text("origin_refused"));
    CHECK(texts["causes"].size() == rules.causes.size());
    CHECK(texts["causes"]["cauda_equina"] == rules.causes.at("cauda_equina").title);
    CHECK(texts["errors"]["rate_limited"] == rules.text("error_rate_limited"));
}

TEST_CASE("errors a turn meets are worded by the rules in use, and rewording shows after a reload") {
    auto service = service_with(english_rules());
    std::string session;
    auto out = service.handle_json(session, R"({"type":"message","text":"  "})", terminal);
    REQUIRE(out.size() == 1);
    CHECK(std::get<protocol::Error>(out[0]).message == english_rules()->text("error_empty"));
    CHECK(service.error("rate_limited").message == english_rules()->text("error_rate_limited"));

    auto reworded = std::make_shared<RuleSet>(*english_rules());
    reworded->texts["error_empty"] = "Say something, please.";
    reworded->texts["level_title_urgent"] = "Today, please";
    reworded->causes.at("sciatica").title = "A trapped nerve";
    service.replace_engine(std::make_shared<const Engine>(reworded, EngineOptions{"112"}));
    out = service.handle_json(session, R"({"type":"message","text":"  "})", terminal);
    CHECK(std::get<protocol::Error>(out[0]).message == "Say something, please.");
    const json texts = json::parse(texts_json(service.engine()->rules()));
    CHECK(texts["levels"]["urgent"]["title"] == "Today, please");
    CHECK(texts["causes"]["sciatica"] == "A trapped nerve");
}
