// Shared by the unit tests: the real rules from the source tree, copies of
// their files to break on purpose, and a conversation driver for the engine.
#pragma once

#include "bot/engine.hpp"
#include "bot/rules.hpp"
#include "bot/ruleset.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::test {

// rules/en of this source tree, compiled once for all tests.
const std::shared_ptr<const RuleSet>& rules();
// One engine over those rules, with the emergency number the transcripts use.
const Engine& engine();
// The same rules with every grouped question taken apart into its topics, in
// their order: the mechanics of a single question (reprompts, the cautious
// yes, stale buttons, resume) are tested on it; groups on engine().
const Engine& single_question_engine();

// The files of rules/en, name -> text, to edit and compile with compile_rules.
std::map<std::string, std::string> rule_files();
// Replaces the one occurrence of `from` in files[name]; the test fails if
// `from` is missing or not unique, so an edit never silently does nothing.
void edit(std::map<std::string, std::string>& files, const std::string& name, std::string_view from, std::string_view to);
// Parses files[name] (comments allowed), lets `change` edit the document and
// writes it back as plain JSON: edits by structure survive rewording.
void edit_json(std::map<std::string, std::string>& files, const std::string& name,
               const std::function<void(nlohmann::json&)>& change);

// A conversation through the engine with a clock that moves one minute per
// client object, as the golden transcripts do.
class Chat {
public:
    explicit Chat(const Engine& engine = test::single_question_engine(), std::int64_t start_ms = 1'790'000'000'000);

    const TurnResult& say(std::string_view text);
    const TurnResult& choose(const std::string& id);
    // A button that belonged to the question `asking` (the client says which).
    const TurnResult& choose_for(const std::string& id, const std::string& asking);
    // Answers each question as a person who has nothing more to report would:
    // "no" to yes/no questions, "not sure" to the others, unless `answers`
    // names the topic (a grouped question: the first covered topic named,
    // else "no"). Stops when the bot no longer asks.
    void answer_until_done(const std::map<std::string, std::string>& answers = {});

    const TurnResult& last() const { return last_; }
    const Reply& reply() const;  // the last reply of the last turn
    const Session& session() const { return session_; }
    bool said(const std::string& text) const;  // any reply of the last turn has exactly this text
    const std::vector<std::string>& wire() const { return wire_; }  // every bot object as protocol JSON

private:
    const TurnResult& record(TurnResult result);

    const Engine& engine_;
    Session session_;
    TurnResult last_;
    std::int64_t now_ms_;
    std::vector<std::string> wire_;
};

// The text of rules/en/texts.json under `key`, with the emergency number filled in.
std::string text(const std::string& key);

}  // namespace backtalk::test
