// The loader and validator: every mistake in rules/<locale>/ is reported with
// its file and JSON path. Each broken rule set is the real rules/en with one
// edit made here, by structure where possible (find the first question state,
// a rule by id ...), so the fixtures never fall out of step with the knowledge.
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

namespace backtalk {
namespace {

using nlohmann::json;
using test::edit;
using test::edit_json;
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

// The parsed text of one rules file.
json doc(const std::string& name) { return json::parse(rule_files().at(name), nullptr, true, true); }

// The flow's first question state: the start state's next.
std::string first_questions_state() {
    const json flow = doc("flow.json");
    return flow["states"][flow["start"].get<std::string>()]["next"].get<std::string>();
}

std::string state_of_kind(const std::string& kind) {
    const json flow = doc("flow.json");
    for (const auto& [id, state] : flow["states"].items()) {
        if (state["kind"] == kind) return id;
    }
    FAIL("no state of kind " << kind);
    return "";
}

// Index of a triage rule in triage.json's "rules" array.
std::size_t rule_index(const std::string& id) {
    const json rules = doc("triage.json")["rules"];
    for (std::size_t i = 0; i < rules.size(); ++i) {
        if (rules[i]["id"] == id) return i;
    }
    FAIL("no triage rule " << id);
    return 0;
}

std::string rule_path(std::size_t index) { return "rules[" + std::to_string(index) + "]"; }

// The first rule that names a cause.
std::size_t rule_with_cause() {
    const json rules = doc("triage.json")["rules"];
    for (std::size_t i = 0; i < rules.size(); ++i) {
        if (rules[i].contains("cause")) return i;
    }
    FAIL("no triage rule with a cause");
    return 0;
}

TEST_CASE("validator: the shipped rules load without errors") {
    const RuleLoad load = compile_rules(rule_files(), label);
    CHECK(load.errors.empty());
    REQUIRE(load.rules != nullptr);
    CHECK(summary(*load.rules).find(": ok") != std::string::npos);
    // The version names the rules and a hash of their content.
    CHECK(version(*load.rules).find("+") != std::string::npos);
}

TEST_CASE("validator: rules rewritten as plain JSON load the same") {
    auto files = rule_files();
    for (const auto& [name, text] : rule_files()) edit_json(files, name, [](json&) {});
    CHECK(errors_of(files).empty());
}

TEST_CASE("validator: invalid JSON names the file and the place") {
    auto files = rule_files();
    const std::string& meta = files["meta.json"];
    files["meta.json"] = meta.substr(0, meta.rfind('}'));
    const auto errors = errors_of(files);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].rfind("rules/en/meta.json: invalid JSON: ", 0) == 0);
    CHECK(errors[0].find("line") != std::string::npos);
}

// GP-2's condition replaced by `depth` nested "all"s around one test, written
// as text (dumping so deep a document would itself overflow the stack).
std::map<std::string, std::string> rules_with_nesting(int depth) {
    auto files = rule_files();
    const std::size_t index = rule_index("GP-2");
    edit_json(files, "triage.json", [&](json& triage) { triage["rules"][index]["when"] = "NESTED_CONDITION"; });
    std::string nested;
    for (int i = 1; i < depth; ++i) nested += R"({"all": [)";
    nested += R"({"yes": "stops_daily_life"})";
    for (int i = 1; i < depth; ++i) nested += "]}";
    edit(files, "triage.json", R"("NESTED_CONDITION")", nested);
    return files;
}

TEST_CASE("validator: conditions nested thousands deep are refused, not recursed into") {
    // A server reloading such a file overflowed its stack and died.
    const auto errors = errors_of(rules_with_nesting(20000));
    REQUIRE(errors.size() == 1);
    CHECK(errors.front().find("rules/en/triage.json: " + rule_path(rule_index("GP-2")) + ".when.all[0].all[0]") == 0);
    CHECK(errors.front().find("conditions nest more than 32 levels deep") != std::string::npos);
}

TEST_CASE("validator: conditions nested 32 deep still load") {
    CHECK(errors_of(rules_with_nesting(32)).empty());
}

TEST_CASE("validator: the locale's emergency number must be one people can dial") {
    auto files = rule_files();
    edit_json(files, "meta.json", [](json& meta) { meta["emergency_number"] = "the ambulance"; });
    check_error(files, "rules/en/meta.json: emergency_number: must be a number people can dial, e.g. \"112\" or "
                       "\"+44 20 7946 0958\"");
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
    const std::string first = first_questions_state();
    auto files = rule_files();
    edit_json(files, "flow.json", [&](json& flow) { flow["states"][first]["next"] = "outcom"; });
    check_error(files, "rules/en/flow.json: states." + first + ".next: unknown state \"outcom\"");
}

TEST_CASE("validator: an unknown start state") {
    auto files = rule_files();
    edit_json(files, "flow.json", [](json& flow) { flow["start"] = "greetings"; });
    check_error(files, "rules/en/flow.json: start: unknown state \"greetings\"");
}

TEST_CASE("validator: a question for an unknown topic") {
    const std::string first = first_questions_state();
    auto files = rule_files();
    edit_json(files, "flow.json", [&](json& flow) { flow["states"][first]["questions"][0] = "chest_pian"; });
    check_error(files, "rules/en/flow.json: states." + first + ".questions[0]: question for an unknown topic or group \"chest_pian\"");
}

TEST_CASE("validator: an unreachable state") {
    const std::string outcome = state_of_kind("outcome");
    auto files = rule_files();
    edit_json(files, "flow.json", [&](json& flow) {
        flow["states"]["detour"] = {{"kind", "questions"}, {"questions", json::array()}, {"next", outcome}};
    });
    check_error(files, "rules/en/flow.json: states.detour: unreachable state");
}

TEST_CASE("validator: a state that skips the rest of the flow leaves it unreachable") {
    const std::string first = first_questions_state();
    const std::string second = doc("flow.json")["states"][first]["next"].get<std::string>();
    REQUIRE(doc("flow.json")["states"][second]["kind"] == "questions");
    const std::string outcome = state_of_kind("outcome");
    auto files = rule_files();
    edit_json(files, "flow.json", [&](json& flow) { flow["states"][first]["next"] = outcome; });
    check_error(files, "rules/en/flow.json: states." + second + ": unreachable state");
}

TEST_CASE("validator: a duplicate JSON key") {
    auto files = rule_files();
    edit(files, "intents.json", "\"intents\": {", "\"intents\": {\n    \"help\": {\"patterns\": [\"assist me\"]},");
    check_error(files, "rules/en/intents.json: intents.help: duplicate id \"help\"");
}

TEST_CASE("validator: a duplicate option id") {
    std::string topic;
    const json topics = doc("topics.json");
    for (const auto& [id, spec] : topics["topics"].items()) {
        if (spec["kind"] == "choice" && spec["options"].size() >= 2) {
            topic = id;
            break;
        }
    }
    REQUIRE_FALSE(topic.empty());
    auto files = rule_files();
    std::string first_option;
    edit_json(files, "topics.json", [&](json& edited) {
        json& options = edited["topics"][topic]["options"];
        first_option = options[0]["id"].get<std::string>();
        options[1]["id"] = first_option;
    });
    check_error(files, "rules/en/topics.json: topics." + topic + ".options[1].id: duplicate id \"" + first_option + "\"");
}

TEST_CASE("validator: a follow-up about an unknown fact, or with a yes that means neither yes nor no") {
    auto files = rule_files();
    edit_json(files, "topics.json", [](json& edited) {
        edited["topics"]["numbness"]["follow_up"]["fact"] = "both_legz";
        edited["topics"]["leg_weakness"]["follow_up"]["plain_yes_means"] = "maybe";
    });
    check_error(files, "rules/en/topics.json: topics.numbness.follow_up.fact: unknown fact \"both_legz\"");
    check_error(files, "rules/en/topics.json: topics.leg_weakness.follow_up.plain_yes_means: must be \"yes\" or \"no\"");
}

TEST_CASE("validator: a duplicate triage rule id") {
    const std::size_t first = rule_index("EM-1");
    const std::size_t other = rule_index("UR-1");
    auto files = rule_files();
    edit_json(files, "triage.json", [&](json& triage) { triage["rules"][other]["id"] = "EM-1"; });
    check_error(files, "rules/en/triage.json: " + rule_path(std::max(first, other)) + ".id: duplicate id \"EM-1\"");
}

TEST_CASE("validator: a duplicate quick reply id in a menu") {
    auto files = rule_files();
    std::string first_id;
    edit_json(files, "texts.json", [&](json& texts) {
        json& menu = texts["menus"]["stretch_step"];
        REQUIRE(menu.size() >= 2);
        first_id = menu[0]["id"].get<std::string>();
        menu[1]["id"] = first_id;
    });
    check_error(files, "rules/en/texts.json: menus.stretch_step[1].id: duplicate id \"" + first_id + "\"");
}

TEST_CASE("validator: a rule for an unknown cause") {
    const std::size_t rule = rule_with_cause();
    auto files = rule_files();
    edit_json(files, "triage.json", [&](json& triage) { triage["rules"][rule]["cause"] = "kidneys"; });
    check_error(files, "rules/en/triage.json: " + rule_path(rule) + ".cause: rule for an unknown cause \"kidneys\"");
}

TEST_CASE("validator: an unknown concept in a pattern") {
    auto files = rule_files();
    edit_json(files, "topics.json", [](json& topics) { topics["topics"]["chest_pain"]["detect"][0] = "~pian ~chest"; });
    check_error(files, "rules/en/topics.json: topics.chest_pain.detect[0]: unknown concept \"~pian\" in \"~pian ~chest\"");
}

TEST_CASE("validator: an unknown slot in a condition") {
    const std::size_t rule = rule_index("UR-6");
    auto files = rule_files();
    edit_json(files, "triage.json", [&](json& triage) { triage["rules"][rule]["when"] = {{"yes", "urinery"}}; });
    check_error(files, "rules/en/triage.json: " + rule_path(rule) +
                           ".when: unknown slot \"urinery\" (not a topic, a fact or a value slot)");
}

TEST_CASE("validator: an unknown slot in a topic's ask_if") {
    auto files = rule_files();
    edit_json(files, "topics.json", [](json& topics) { topics["topics"]["morning_stiffness"]["ask_if"] = {{"at_least", {"durations", 84}}}; });
    check_error(files, "rules/en/topics.json: topics.morning_stiffness.ask_if: unknown slot \"durations\" (not a topic, a fact or a value slot)");
}

TEST_CASE("validator: an unknown slot set by an option") {
    std::string topic;
    const json topics = doc("topics.json");
    for (const auto& [id, spec] : topics["topics"].items()) {
        if (spec.contains("options")) {
            topic = id;
            break;
        }
    }
    REQUIRE_FALSE(topic.empty());
    auto files = rule_files();
    edit_json(files, "topics.json", [&](json& edited) { edited["topics"][topic]["options"][0]["implies"] = {{"liftng", "yes"}}; });
    check_error(files, "rules/en/topics.json: topics." + topic + ".options[0].implies.liftng: unknown slot \"liftng\"");
}

TEST_CASE("validator: an unknown level") {
    const std::size_t rule = rule_index("UR-6");
    auto files = rule_files();
    edit_json(files, "triage.json", [&](json& triage) { triage["rules"][rule]["level"] = "urgnet"; });
    check_error(files, "rules/en/triage.json: " + rule_path(rule) +
                           ".level: unknown level \"urgnet\" (emergency, urgent, gp_soon, self_care)");
}

TEST_CASE("validator: an unknown level for narrowing the questions") {
    const std::string first = first_questions_state();
    auto files = rule_files();
    edit_json(files, "flow.json", [&](json& flow) { flow["states"][first]["narrow_from"] = "soonish"; });
    check_error(files, "rules/en/flow.json: states." + first + ".narrow_from: unknown level \"soonish\"");
}

TEST_CASE("validator: an unknown condition operator") {
    const std::size_t rule = rule_index("UR-6");
    auto files = rule_files();
    edit_json(files, "triage.json", [&](json& triage) { triage["rules"][rule]["when"] = {{"every", json::array()}}; });
    check_error(files, "rules/en/triage.json: " + rule_path(rule) + ".when.every: unknown condition \"every\"");
}

TEST_CASE("validator: a rule set without the self-care fallback") {
    auto files = rule_files();
    edit_json(files, "triage.json", [](json& triage) {
        json& rules = triage["rules"];
        for (std::size_t i = rules.size(); i-- > 0;) {
            if (rules[i]["when"] == json{{"all", json::array()}}) rules.erase(i);
        }
    });
    check_error(files, "rules/en/triage.json: rules: needs a self_care rule with a cause and \"when\": {\"all\": []} as the fallback");
}

TEST_CASE("validator: a missing text the dialogue needs") {
    auto files = rule_files();
    edit_json(files, "texts.json", [](json& texts) { texts["texts"].erase("level_raised"); });
    check_error(files, "rules/en/texts.json: texts.level_raised: is missing");
}

TEST_CASE("validator: a missing global intent") {
    auto files = rule_files();
    edit_json(files, "intents.json", [](json& intents) { intents["intents"].erase("stop"); });
    check_error(files, "rules/en/intents.json: intents: the global intent \"stop\" is missing");
}

TEST_CASE("validator: a field of the wrong type") {
    auto files = rule_files();
    edit_json(files, "meta.json", [](json& meta) { meta["max_gap"] = "three"; });
    check_error(files, "rules/en/meta.json: max_gap: must be an integer");
}

TEST_CASE("validator: every error is reported and not only the first") {
    const std::string first = first_questions_state();
    const std::size_t rule = rule_with_cause();
    auto files = rule_files();
    edit_json(files, "flow.json", [&](json& flow) { flow["states"][first]["questions"][0] = "chest_pian"; });
    edit_json(files, "triage.json", [&](json& triage) { triage["rules"][rule]["cause"] = "kidneys"; });
    check_error(files, "rules/en/flow.json: states." + first + ".questions[0]: question for an unknown topic or group \"chest_pian\"");
    check_error(files, "rules/en/triage.json: " + rule_path(rule) + ".cause: rule for an unknown cause \"kidneys\"");
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

TEST_CASE("validator: load_rules names a folder where a rules file should be") {
    const TempRulesDir dir;
    std::filesystem::remove(dir.path() / "causes.json");
    std::filesystem::create_directory(dir.path() / "causes.json");
    const RuleLoad load = load_rules(dir.path());
    CHECK(load.rules == nullptr);
    REQUIRE(load.errors.size() == 1);
    CHECK(load.errors[0].to_string() == (dir.path() / "causes.json").string() + ": is not a file");
}

TEST_CASE("validator: load_rules on a directory that does not exist") {
    const RuleLoad load = load_rules("/nonexistent/backtalk/rules/en");
    CHECK(load.rules == nullptr);
    REQUIRE(load.errors.size() == 1);
    CHECK(load.errors[0].to_string() == "/nonexistent/backtalk/rules/en: not a directory");
}

}  // namespace
}  // namespace backtalk

namespace backtalk {
namespace {

TEST_CASE("validator: a grouped question covers known yes/no topics with titles and labels, each asked in one place") {
    auto files = test::rule_files();
    test::edit_json(files, "flow.json", [](nlohmann::json& flow) {
        flow["groups"]["emergency_signs"]["covers"][0] = "chest_pian";
        flow["groups"]["serious_signs"]["covers"].push_back("age");
        flow["groups"]["nerve_and_stiffness_signs"]["covers"].push_back("trauma");
    });
    test::edit_json(files, "topics.json", [](nlohmann::json& topics) {
        topics["topics"]["fever"].erase("title");
        topics["topics"]["night_pain"].erase("label");
    });
    test::edit_json(files, "flow.json", [](nlohmann::json& flow) { flow["which_replies"].erase(0); });
    const RuleLoad load = compile_rules(files, "rules/en");
    REQUIRE_FALSE(load.rules);
    std::vector<std::string> errors;
    for (const auto& e : load.errors) errors.push_back(e.to_string());
    const auto has = [&](const std::string& text) { return std::find(errors.begin(), errors.end(), text) != errors.end(); };
    CHECK(has("rules/en/flow.json: groups.emergency_signs.covers[0]: unknown topic \"chest_pian\""));
    CHECK(has("rules/en/flow.json: groups.serious_signs.covers[8]: a group covers yes/no topics only"));
    CHECK(has("rules/en/flow.json: groups.serious_signs.covers[0]: topic \"fever\" needs a title to be listed in a group"));
    CHECK(has("rules/en/flow.json: groups.serious_signs.covers[3]: topic \"night_pain\" needs a label to be a button of its group"));
    CHECK(has("rules/en/flow.json: which_replies: needs the reply \"several\""));
    CHECK(has("rules/en/flow.json: states.screening.questions: topic \"trauma\" is asked in two places"));
}

}  // namespace
}  // namespace backtalk

namespace backtalk {
namespace {

TEST_CASE("validator: wording for one cause at one level names a known cause") {
    auto files = test::rule_files();
    test::edit_json(files, "texts.json", [](nlohmann::json& texts) {
        texts["texts"]["what_happens_emergency_aortc"] = "A scan of the main blood vessel.";
        texts["texts"]["what_happens_emergency_aortic"] = "A scan of the main blood vessel.";
    });
    const RuleLoad load = compile_rules(files, "rules/en");
    REQUIRE_FALSE(load.rules);
    REQUIRE(load.errors.size() == 1);
    CHECK(load.errors.front().to_string() ==
          "rules/en/texts.json: texts.what_happens_emergency_aortc: unknown cause \"aortc\" (wording for one cause is <text>_<level>_<cause>)");
}

}  // namespace
}  // namespace backtalk

namespace backtalk {
namespace {

TEST_CASE("validator: a misspelt field of a topic or fact is reported, never silently ignored") {
    auto files = test::rule_files();
    test::edit_json(files, "topics.json", [](nlohmann::json& topics) {
        topics["topics"]["tearing_pain"]["detect_vagu"] = topics["topics"]["tearing_pain"]["detect_vague"];
    });
    test::edit_json(files, "facts.json", [](nlohmann::json& facts) { facts["facts"]["faint"]["lookalike"] = nlohmann::json::array(); });
    const RuleLoad load = compile_rules(files, "rules/en");
    REQUIRE_FALSE(load.rules);
    std::vector<std::string> errors;
    for (const auto& e : load.errors) errors.push_back(e.to_string());
    CHECK(errors == std::vector<std::string>{"rules/en/topics.json: topics.tearing_pain.detect_vagu: unknown field",
                                             "rules/en/facts.json: facts.faint.lookalike: unknown field"});
}

TEST_CASE("validator: a question back answered by level has words at every level, from one of its text families") {
    auto files = test::rule_files();
    test::edit_json(files, "texts.json", [](nlohmann::json& texts) {
        texts["texts"].erase("recovery_time_urgent");  // recovery_time has no fallback family
        texts["texts"].erase("if_worse_during");       // the safety net has no words before the advice
    });
    test::edit_json(files, "intents.json", [](nlohmann::json& intents) {
        intents["intents"]["work"]["answered_by_level"] = 3;
    });
    const RuleLoad load = compile_rules(files, "rules/en");
    REQUIRE_FALSE(load.rules);
    std::vector<std::string> errors;
    for (const auto& e : load.errors) errors.push_back(e.to_string());
    CHECK(errors == std::vector<std::string>{
                            "rules/en/intents.json: intents.work.answered_by_level: must be true, false or a list of text families",
                            "rules/en/texts.json: texts.if_worse_during: is missing (intent \"if_worse\" is answered by level; or give \"if_worse\")",
                            "rules/en/texts.json: texts.recovery_time_urgent: is missing (intent \"recovery_time\" is answered by level; or give \"recovery_time\")"});
}

}  // namespace
}  // namespace backtalk
