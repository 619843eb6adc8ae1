// The loader and validator: every mistake in rules/<locale>/ is reported with
// its file and JSON path. Each broken rule set is the real rules/en with one
// edit, made here, so the fixtures never fall out of step with the knowledge.
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

namespace backtalk {
namespace {

using test::edit;
using test::rule_files;

constexpr const char* label = "rules/en";

std::vector<std::string> errors_of(const std::map<std::string, std::string>& files) {
    const RuleLoad load = compile_rules(files, label);
    std::vector<std::string> out;
    for (const auto& e : load.errors) out.push_back(e.to_string());
    CHECK((load.rules == nullptr) == !load.errors.empty());
    return out;
}

// The broken rules give exactly this error among their errors.
void check_error(const std::map<std::string, std::string>& files, const std::string& expected) {
    const auto errors = errors_of(files);
    std::string all;
    for (const auto& e : errors) all += "\n  " + e;
    CHECK_MESSAGE(std::find(errors.begin(), errors.end(), expected) != errors.end(),
                  "expected: " << expected << "\ngot:" << (all.empty() ? " no errors" : all));
}

std::size_t rule_index(const std::string& id) {
    const auto& rules = test::rules()->triage_rules;
    const auto it = std::find_if(rules.begin(), rules.end(), [&](const TriageRule& r) { return r.id == id; });
    REQUIRE(it != rules.end());
    return static_cast<std::size_t>(it - rules.begin());
}

std::string rule_path(const std::string& id) { return "rules[" + std::to_string(rule_index(id)) + "]"; }

TEST_CASE("validator: the shipped rules load without errors") {
    const RuleLoad load = compile_rules(rule_files(), label);
    CHECK(load.errors.empty());
    REQUIRE(load.rules != nullptr);
    CHECK(summary(*load.rules).find(": ok") != std::string::npos);
    // The version names the rules and a hash of their content.
    CHECK(version(*load.rules).find("+") != std::string::npos);
}

TEST_CASE("validator: invalid JSON names the file and the place") {
    auto files = rule_files();
    edit(files, "meta.json", "\"max_gap\": 3,", "\"max_gap\": 3,,");
    const auto errors = errors_of(files);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].rfind("rules/en/meta.json: invalid JSON: ", 0) == 0);
    CHECK(errors[0].find("line") != std::string::npos);
}

TEST_CASE("validator: a JSON document that is not an object") {
    auto files = rule_files();
    files["causes.json"] = "[1, 2, 3]";
    check_error(files, "rules/en/causes.json: must be a JSON object");
}

TEST_CASE("validator: a missing file") {
    auto files = rule_files();
    files.erase("triage.json");
    check_error(files, "rules/en/triage.json: file is missing");
}

TEST_CASE("validator: an unexpected file") {
    auto files = rule_files();
    files["tirage.json"] = "{}";
    const auto errors = errors_of(files);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].rfind("rules/en/tirage.json: unexpected file", 0) == 0);
}

TEST_CASE("validator: an unknown state in a flow transition") {
    auto files = rule_files();
    edit(files, "flow.json", "\"next\": \"context\"", "\"next\": \"outcom\"");
    check_error(files, "rules/en/flow.json: states.screening.next: unknown state \"outcom\"");
}

TEST_CASE("validator: an unknown start state") {
    auto files = rule_files();
    edit(files, "flow.json", "\"start\": \"greeting\"", "\"start\": \"greetings\"");
    check_error(files, "rules/en/flow.json: start: unknown state \"greetings\"");
}

TEST_CASE("validator: a question for an unknown topic") {
    auto files = rule_files();
    edit(files, "flow.json", "\"questions\": [\"chest_pain\"", "\"questions\": [\"chest_pian\"");
    check_error(files, "rules/en/flow.json: states.screening.questions[0]: question for an unknown topic \"chest_pian\"");
}

TEST_CASE("validator: an unreachable state") {
    auto files = rule_files();
    edit(files, "flow.json", "\"outcome\": {\"kind\": \"outcome\"},",
         "\"outcome\": {\"kind\": \"outcome\"},\n    \"detour\": {\"kind\": \"questions\", \"questions\": [], \"next\": \"outcome\"},");
    check_error(files, "rules/en/flow.json: states.detour: unreachable state");
}

TEST_CASE("validator: a state that skips the rest of the flow leaves it unreachable") {
    auto files = rule_files();
    edit(files, "flow.json", "\"next\": \"context\"", "\"next\": \"outcome\"");
    check_error(files, "rules/en/flow.json: states.context: unreachable state");
}

TEST_CASE("validator: a duplicate JSON key") {
    auto files = rule_files();
    edit(files, "intents.json", "\"intents\": {", "\"intents\": {\n    \"help\": {\"patterns\": [\"assist me\"]},");
    check_error(files, "rules/en/intents.json: intents.help: duplicate id \"help\"");
}

TEST_CASE("validator: a duplicate option id") {
    auto files = rule_files();
    edit(files, "topics.json", "{\"id\": \"upper\", \"title\": \"Upper back\"", "{\"id\": \"lower\", \"title\": \"Upper back\"");
    check_error(files, "rules/en/topics.json: topics.pain_location.options[1].id: duplicate id \"lower\"");
}

TEST_CASE("validator: a duplicate triage rule id") {
    auto files = rule_files();
    edit(files, "triage.json", "{\"id\": \"UR-2\"", "{\"id\": \"UR-6\"");
    REQUIRE(rule_index("UR-6") < rule_index("UR-2"));
    check_error(files, "rules/en/triage.json: " + rule_path("UR-2") + ".id: duplicate id \"UR-6\"");
}

TEST_CASE("validator: a duplicate quick reply id in a menu") {
    auto files = rule_files();
    edit(files, "texts.json", "{\"id\": \"repeat\", \"title\": \"Repeat\"}", "{\"id\": \"next\", \"title\": \"Repeat\"}");
    check_error(files, "rules/en/texts.json: menus.stretch_step[1].id: duplicate id \"next\"");
}

TEST_CASE("validator: a rule for an unknown cause") {
    auto files = rule_files();
    edit(files, "triage.json", "\"cause\": \"kidney\"", "\"cause\": \"kidneys\"");
    check_error(files, "rules/en/triage.json: " + rule_path("UR-6") + ".cause: rule for an unknown cause \"kidneys\"");
}

TEST_CASE("validator: an unknown concept in a pattern") {
    auto files = rule_files();
    edit(files, "topics.json", "\"detect\": [\"~pain ~chest\",", "\"detect\": [\"~pian ~chest\",");
    check_error(files, "rules/en/topics.json: topics.chest_pain.detect[0]: unknown concept \"~pian\" in \"~pian ~chest\"");
}

TEST_CASE("validator: an unknown slot in a condition") {
    auto files = rule_files();
    edit(files, "triage.json", "{\"yes\": \"urinary\"}", "{\"yes\": \"urinery\"}");
    check_error(files, "rules/en/triage.json: " + rule_path("UR-6") +
                           ".when: unknown slot \"urinery\" (not a topic, a fact or a value slot)");
}

TEST_CASE("validator: an unknown slot in a topic's ask_if") {
    auto files = rule_files();
    edit(files, "topics.json", "\"ask_if\": {\"at_least\": [\"duration\", 84]}", "\"ask_if\": {\"at_least\": [\"durations\", 84]}");
    check_error(files, "rules/en/topics.json: topics.morning_stiffness.ask_if: unknown slot \"durations\" (not a topic, a fact or a value slot)");
}

TEST_CASE("validator: an unknown level") {
    auto files = rule_files();
    edit(files, "triage.json", "{\"id\": \"UR-6\", \"level\": \"urgent\"", "{\"id\": \"UR-6\", \"level\": \"urgnet\"");
    check_error(files, "rules/en/triage.json: " + rule_path("UR-6") +
                           ".level: unknown level \"urgnet\" (emergency, urgent, gp_soon, self_care)");
}

TEST_CASE("validator: an unknown condition operator") {
    auto files = rule_files();
    edit(files, "triage.json", "\"when\": {\"yes\": \"immune\"}", "\"when\": {\"yess\": \"immune\"}");
    check_error(files, "rules/en/triage.json: " + rule_path("UR-2") + ".when.yess: unknown condition \"yess\"");
}

TEST_CASE("validator: a missing text the dialogue needs") {
    auto files = rule_files();
    edit(files, "texts.json", "\"level_raised\":", "\"level_risen\":");
    check_error(files, "rules/en/texts.json: texts.level_raised: is missing");
}

TEST_CASE("validator: every error is reported and not only the first") {
    auto files = rule_files();
    edit(files, "flow.json", "\"questions\": [\"chest_pain\"", "\"questions\": [\"chest_pian\"");
    edit(files, "triage.json", "\"cause\": \"kidney\"", "\"cause\": \"kidneys\"");
    check_error(files, "rules/en/flow.json: states.screening.questions[0]: question for an unknown topic \"chest_pian\"");
    check_error(files, "rules/en/triage.json: " + rule_path("UR-6") + ".cause: rule for an unknown cause \"kidneys\"");
}

// load_rules reads a directory: a copy of rules/en with one file removed or broken.
class TempRulesDir {
public:
    TempRulesDir() {
        std::random_device seed;
        path_ = std::filesystem::temp_directory_path() / ("backtalk-rules-" + std::to_string(seed()));
        std::filesystem::create_directories(path_);
        for (const auto& [name, text] : rule_files()) std::ofstream(path_ / name, std::ios::binary) << text;
    }
    ~TempRulesDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempRulesDir(const TempRulesDir&) = delete;
    TempRulesDir& operator=(const TempRulesDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

TEST_CASE("validator: load_rules reads a directory and names the file that is missing") {
    const TempRulesDir dir;
    CHECK(load_rules(dir.path()).errors.empty());
    std::filesystem::remove(dir.path() / "causes.json");
    const RuleLoad load = load_rules(dir.path());
    CHECK(load.rules == nullptr);
    REQUIRE_FALSE(load.errors.empty());
    CHECK(load.errors[0].to_string() == (dir.path() / "causes.json").string() + ": file is missing");
}

TEST_CASE("validator: load_rules names invalid JSON in a file on disk") {
    const TempRulesDir dir;
    std::ofstream(dir.path() / "flow.json", std::ios::binary) << "{\"start\": \"greeting\",";
    const RuleLoad load = load_rules(dir.path());
    REQUIRE(load.errors.size() == 1);
    CHECK(load.errors[0].file == (dir.path() / "flow.json").string());
    CHECK(load.errors[0].message.rfind("invalid JSON: ", 0) == 0);
}

TEST_CASE("validator: load_rules on a directory that does not exist") {
    const RuleLoad load = load_rules("/nonexistent/backtalk/rules/en");
    CHECK(load.rules == nullptr);
    REQUIRE(load.errors.size() == 1);
    CHECK(load.errors[0].to_string() == "/nonexistent/backtalk/rules/en: not a directory");
}

}  // namespace
}  // namespace backtalk
