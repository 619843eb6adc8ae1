#include <algorithm>
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace backtalk::test {

namespace {

const std::filesystem::path rules_dir = std::filesystem::path(BACKTALK_SOURCE_DIR) / "rules" / "en";
constexpr std::int64_t minute_ms = 60'000;
constexpr const char* emergency_number = "112";

std::string replace_all(std::string text, const std::string& marker, const std::string& value) {
    for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at + value.size())) {
        text.replace(at, marker.size(), value);
    }
    return text;
}

}  // namespace

const std::shared_ptr<const RuleSet>& rules() {
    static const std::shared_ptr<const RuleSet> loaded = [] {
        RuleLoad load = load_rules(rules_dir);
        if (!load.errors.empty()) {
            std::string all;
            for (const auto& e : load.errors) all += e.to_string() + "\n";
            throw std::runtime_error("rules/en does not load:\n" + all);
        }
        return load.rules;
    }();
    return loaded;
}

const Engine& engine() {
    static const Engine shared(rules(), EngineOptions{emergency_number});
    return shared;
}

const Engine& single_question_engine() {
    static const Engine shared = [] {
        auto files = rule_files();
        edit_json(files, "flow.json", [](nlohmann::json& flow) {
            for (auto& [id, state] : flow["states"].items()) {
                if (!state.contains("questions")) continue;
                nlohmann::json topics = nlohmann::json::array();
                for (const auto& q : state["questions"]) {
                    const std::string name = q.get<std::string>();
                    if (flow["groups"].contains(name)) {
                        for (const auto& t : flow["groups"][name]["covers"]) topics.push_back(t);
                    } else {
                        topics.push_back(name);
                    }
                }
                state["questions"] = topics;
            }
        });
        RuleLoad load = compile_rules(files, "single-question");
        if (!load.rules) throw std::runtime_error("the rules without groups do not load");
        return Engine(load.rules, EngineOptions{emergency_number});
    }();
    return shared;
}

std::map<std::string, std::string> rule_files() {
    std::map<std::string, std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(rules_dir)) {
        if (entry.path().extension() != ".json") continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        files[entry.path().filename().string()] = text.str();
    }
    return files;
}

void edit(std::map<std::string, std::string>& files, const std::string& name, std::string_view from, std::string_view to) {
    REQUIRE_MESSAGE(files.count(name) == 1, name << " is not a rules file");
    std::string& text = files[name];
    const auto at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, name << " no longer contains: " << from);
    REQUIRE_MESSAGE(text.find(from, at + 1) == std::string::npos, name << " contains more than once: " << from);
    text.replace(at, from.size(), to);
}

void edit_json(std::map<std::string, std::string>& files, const std::string& name,
               const std::function<void(nlohmann::json&)>& change) {
    REQUIRE_MESSAGE(files.count(name) == 1, name << " is not a rules file");
    nlohmann::json doc = nlohmann::json::parse(files[name], nullptr, true, true);
    change(doc);
    files[name] = doc.dump(2);
}

std::string text(const std::string& key) { return replace_all(rules()->text(key), "{emergency_number}", emergency_number); }

Chat::Chat(const Engine& engine, std::int64_t start_ms) : engine_(engine), now_ms_(start_ms) { record(engine_.begin(now_ms_)); }

const TurnResult& Chat::record(TurnResult result) {
    if (result.error) {
        wire_.push_back(protocol::to_json(*result.error, true));
    } else {
        REQUIRE_FALSE(result.replies.empty());
        for (std::size_t i = 0; i < result.replies.size(); ++i) {
            wire_.push_back(protocol::to_json(result.replies[i], i + 1 == result.replies.size()));
        }
        session_ = result.session;
    }
    last_ = std::move(result);
    return last_;
}

const TurnResult& Chat::say(std::string_view text) {
    auto message = protocol::make_message(text);
    REQUIRE(std::holds_alternative<protocol::Message>(message));
    now_ms_ += minute_ms;
    return record(engine_.step(session_, std::get<protocol::Message>(message), now_ms_));
}

const TurnResult& Chat::choose(const std::string& id) { return choose_for(id, ""); }

const TurnResult& Chat::choose_for(const std::string& id, const std::string& asking) {
    now_ms_ += minute_ms;
    return record(engine_.step(session_, protocol::Choice{id, asking}, now_ms_));
}

void Chat::answer_until_done(const std::map<std::string, std::string>& answers) {
    // Far more turns than there are topics: a conversation that keeps asking is a bug.
    for (std::size_t turn = 0; turn < 3 * rules()->topics.size(); ++turn) {
        if (last_.error || last_.replies.empty() || reply().asking.empty()) return;
        const std::string& topic = reply().asking;
        if (!reply().covers.empty()) {
            const auto named = std::find_if(reply().covers.begin(), reply().covers.end(), [&](const std::string& t) { return answers.count(t) > 0; });
            say(named != reply().covers.end() ? answers.at(*named) : std::string("no"));
        } else if (const auto it = answers.find(topic); it != answers.end()) {
            say(it->second);
        } else {
            const Topic* asked = rules()->topic(topic);
            REQUIRE(asked != nullptr);
            say(asked->kind == TopicKind::yes_no ? "no" : "not sure");
        }
    }
    FAIL("the bot was still asking after " << 3 * rules()->topics.size() << " answers");
}

const Reply& Chat::reply() const {
    REQUIRE_FALSE(last_.replies.empty());
    return last_.replies.back();
}

bool Chat::said(const std::string& wanted) const {
    for (const Reply& r : last_.replies) {
        if (r.text == wanted) return true;
    }
    return false;
}

}  // namespace backtalk::test
