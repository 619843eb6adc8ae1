// Replays golden transcripts through the engine, byte for byte.
//
//   backtalk_transcripts FILE...   compare; BACKTALK_UPDATE_GOLDEN=1 rewrites
//   backtalk_transcripts --json [--explain]   engine only, PROTOCOL.md on stdin/stdout
//
// A transcript file holds comment lines ("# ..."), client lines ("> text" for
// a message, ">> id" for a choice) and, after each, the bot's replies in
// brief ("< [state] asking=... covers=... triage=... buttons=..." and the
// text indented below), or "< error CODE". The clock starts at a fixed time
// and moves one minute per client object, so a replay is deterministic. The
// file is the one source of its inputs; a "#% {...}" comment tells
// generator/gen.py how to answer the questions when the rules change them.
#include "adapters/core/wording.hpp"
#include "bot/engine.hpp"
#include "bot/protocol.hpp"
#include "bot/rules.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace backtalk;

constexpr std::int64_t start_ms = 1'790'000'000'000;
constexpr std::int64_t step_ms = 60'000;

std::string joined(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
    return out;
}

// One reply as people read it: a header with what a client acts on (state,
// the question asked, the topics a grouped question covers, the advice, the
// buttons, the stretching steps), then the text, indented.
std::vector<std::string> brief(const Reply& reply) {
    std::string head = "[" + reply.state + "]";
    if (!reply.asking.empty()) head += " asking=" + reply.asking;
    if (!reply.covers.empty()) head += " covers=" + joined(reply.covers, ",");
    if (reply.triage) head += " triage=" + std::string(to_string(reply.triage->level)) + "(" + joined(reply.triage->reasons, ",") + ")";
    if (!reply.quick_replies.empty()) {
        std::vector<std::string> ids;
        for (const auto& q : reply.quick_replies) ids.push_back(q.id);
        head += " buttons=" + joined(ids, "|");
    }
    if (reply.steps && !reply.steps->empty()) {
        std::vector<std::string> ids;
        for (const auto& step : *reply.steps) ids.push_back(step.id);
        head += " steps=" + joined(ids, ",");
    }
    std::vector<std::string> lines{head};
    std::istringstream text(reply.text);
    for (std::string line; std::getline(text, line);) lines.push_back("  " + line);
    return lines;
}

std::vector<std::string> render(const TurnResult& result) {
    if (result.error) return {"error " + result.error->code};
    std::vector<std::string> lines;
    for (const auto& reply : result.replies) {
        for (auto& line : brief(reply)) lines.push_back(std::move(line));
    }
    return lines;
}

// An error object worded by the rules, as the conversation service sends it.
std::string error_json(const Engine& engine, const protocol::Error& error) {
    return protocol::to_json(worded_error(engine.rules(), error.code), true);
}

std::vector<std::string> render_json(const Engine& engine, const TurnResult& result) {
    if (result.error) return {error_json(engine, *result.error)};
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < result.replies.size(); ++i) lines.push_back(protocol::to_json(result.replies[i], i + 1 == result.replies.size()));
    return lines;
}

TurnResult play_object(const Engine& engine, Session& session, const protocol::ClientObject& object, std::int64_t now) {
    TurnResult result;
    if (const auto* m = std::get_if<protocol::Message>(&object)) {
        result = engine.step(session, *m, now);
    } else if (const auto* c = std::get_if<protocol::Choice>(&object)) {
        result = engine.step(session, *c, now);
    } else {
        result = engine.begin(now);
    }
    if (!result.error) session = result.session;
    return result;
}

// Rebuilds the transcript from its client lines.
std::string replay(const Engine& engine, const std::string& golden) {
    std::istringstream in(golden);
    std::ostringstream out;
    Session session;
    std::int64_t now = start_ms;
    // The greeting follows the leading comments, so a file opens with what it
    // checks. Its wording is not repeated in every file (rewording it would
    // rewrite them all): the greeting's own test is greeting_hello_then_description.
    bool greeted = false;
    const auto greet = [&] {
        const auto lines = render(play_object(engine, session, protocol::Start{}, now));
        out << "< " << lines.front() << " (the greeting)\n";
        greeted = true;
    };
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("< ", 0) == 0) continue;
        if (!greeted && line.rfind('#', 0) != 0) greet();
        out << line << '\n';
        std::variant<protocol::ClientObject, protocol::Error> object;
        if (line.rfind(">> ", 0) == 0) {
            // ">> ID" clicks a button; ">> ID @TOPIC" one that belonged to TOPIC's question.
            const std::string choice = line.substr(3);
            const auto at = choice.find(" @");
            object = at == std::string::npos
                         ? protocol::ClientObject{protocol::Choice{choice, ""}}
                         : protocol::ClientObject{protocol::Choice{choice.substr(0, at), choice.substr(at + 2)}};
        } else if (line.rfind("> ", 0) == 0) {
            auto message = protocol::make_message(line.substr(2));
            if (auto* error = std::get_if<protocol::Error>(&message)) {
                object = *error;
            } else {
                object = protocol::ClientObject{std::get<protocol::Message>(message)};
            }
        } else {
            continue;
        }
        now += step_ms;
        std::vector<std::string> lines;
        if (const auto* error = std::get_if<protocol::Error>(&object)) {
            lines.push_back("error " + error->code);
        } else {
            lines = render(play_object(engine, session, std::get<protocol::ClientObject>(object), now));
        }
        for (const auto& l : lines) out << "< " << l << '\n';
    }
    if (!greeted) greet();
    return out.str();
}

// --explain: the session after each turn goes to stderr, to see what was understood.
int json_mode(const Engine& engine, bool explain) {
    Session session;
    bool started = false;
    std::int64_t now = start_ms;
    for (std::string line; std::getline(std::cin, line);) {
        now += step_ms;
        auto parsed = protocol::parse_client_object(line);
        std::vector<std::string> lines;
        if (auto* error = std::get_if<protocol::Error>(&parsed)) {
            lines.push_back(error_json(engine, *error));
        } else {
            const auto& object = std::get<protocol::ClientObject>(parsed);
            // A client may skip start: the first message opens the conversation.
            if (!started && !std::holds_alternative<protocol::Start>(object)) session = engine.begin(now).session;
            started = true;
            lines = render_json(engine, play_object(engine, session, object, now));
        }
        for (const auto& l : lines) std::cout << l << '\n';
        std::cout << std::flush;
        if (explain) std::cerr << session_snapshot(session) << '\n';
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const RuleLoad load = load_rules(std::string(BACKTALK_SOURCE_DIR) + "/rules/en");
    if (!load.errors.empty()) {
        for (const auto& e : load.errors) std::cerr << e.to_string() << '\n';
        return 2;
    }
    const Engine engine(load.rules, EngineOptions{"112"});
    if (argc >= 2 && std::string(argv[1]) == "--json") return json_mode(engine, argc == 3 && std::string(argv[2]) == "--explain");
    if (argc < 2) {
        std::cerr << "usage: backtalk_transcripts FILE... | --json\n";
        return 2;
    }
    const bool update = std::getenv("BACKTALK_UPDATE_GOLDEN") != nullptr;
    int failures = 0;
    for (int i = 1; i < argc; ++i) {
        std::ifstream in(argv[i], std::ios::binary);
        if (!in) {
            std::cerr << argv[i] << ": cannot be read\n";
            ++failures;
            continue;
        }
        std::ostringstream text;
        text << in.rdbuf();
        const std::string actual = replay(engine, text.str());
        if (actual == text.str()) continue;
        if (update) {
            std::ofstream(argv[i], std::ios::binary) << actual;
            std::cerr << argv[i] << ": updated\n";
            continue;
        }
        ++failures;
        std::istringstream a(actual), e(text.str());
        std::string la, le;
        for (int n = 1;; ++n) {
            const bool ha = static_cast<bool>(std::getline(a, la)), he = static_cast<bool>(std::getline(e, le));
            if (!ha && !he) break;
            if (la != le || ha != he) {
                std::cerr << argv[i] << ":" << n << ": transcript differs\n  expected: " << (he ? le : "<end>")
                          << "\n  actual:   " << (ha ? la : "<end>") << '\n';
                break;
            }
        }
    }
    return failures == 0 ? 0 : 1;
}
