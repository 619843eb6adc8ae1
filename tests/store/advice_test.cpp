// The conversation service tells a listener about each turn that gives
// advice, with the rules behind it: what emergency alerts are sent from.
#include "adapters/core/conversations.hpp"
#include "bot/rules.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <stdexcept>

using namespace backtalk;

namespace {

std::shared_ptr<const Engine> english_engine() {
    RuleLoad load = load_rules(std::filesystem::path(BACKTALK_SOURCE_DIR) / "rules" / "en");
    if (!load.errors.empty()) throw std::runtime_error("rules/en does not load: " + load.errors[0].to_string());
    return std::make_shared<const Engine>(load.rules, EngineOptions{"112"});
}

const ChannelInfo terminal{"terminal", ""};

}  // namespace

TEST_CASE("the advice listener hears each turn that gives advice, with the rules behind it") {
    ConversationService service(english_engine(), nullptr, {}, [] { return std::int64_t{1714521600000}; },
                                [] { return std::string("a1"); });
    std::vector<AdviceGiven> heard;
    service.on_advice([&](const AdviceGiven& advice) { heard.push_back(advice); });
    std::string session;
    service.handle(session, protocol::Start{}, terminal);
    for (const char* text : {"my lower back has been playing up since I moved a sofa on sunday. any tips?", "no",
                             "since last night it feels numb down there when I wipe and I can't pee properly"}) {
        service.handle(session, protocol::Message{text}, terminal);
    }
    REQUIRE_FALSE(heard.empty());
    const AdviceGiven& last = heard.back();
    CHECK(last.conversation == session);
    CHECK(last.channel == "terminal");
    CHECK(last.level == Level::emergency);
    CHECK(last.at_ms == 1714521600000);
    REQUIRE_FALSE(last.basis.empty());
    CHECK(last.basis.front().rule.rfind("EM-", 0) == 0);
    CHECK(last.words.find("numb down there") != std::string::npos);
    // A resume repeats the advice but gives none.
    const std::size_t before = heard.size();
    std::string again = session;
    service.handle(again, protocol::Start{session, "en"}, terminal);
    CHECK(heard.size() == before);
}
