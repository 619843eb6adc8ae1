// The three conversations the review tests read, logged object by object
// as a server logs them: shared by the SQLite review tests and the
// comparison of both backends.
#pragma once

#include "store/store.hpp"
#include "store_test_support.hpp"

#include <optional>
#include <string>
#include <vector>

namespace backtalk::test {

constexpr std::int64_t hour_ms = 60 * 60 * 1000;
constexpr std::int64_t may_1 = 1714521600000;  // 2024-05-01T00:00:00Z

// Builds a conversation's rows in order.
class Script {
public:
    Script(store::Store& log, std::string id, std::string channel, std::int64_t start)
        : log_(log), id_(std::move(id)), channel_(std::move(channel)), time_(start) {}

    Script& in(const std::string& kind, const std::string& text, bool understood,
               std::vector<std::string> intents = {}, const std::string& asking = {}) {
        store::MessageRecord record = test::inbound(id_, ++time_, text);
        record.kind = kind;
        record.channel = channel_;
        record.understood = understood;
        record.confidence = understood ? 0.9 : 0.0;
        record.intents = std::move(intents);
        record.asking = asking;
        log_.log_message(record);
        return *this;
    }
    Script& out(const std::string& text, const std::string& state, const std::string& asking = {},
                std::optional<Triage> triage = std::nullopt) {
        store::MessageRecord record = test::outbound(id_, ++time_, text);
        record.channel = channel_;
        record.state = state;
        record.asking = asking;
        record.triage = std::move(triage);
        record.processing_us = 42;
        log_.log_message(record);
        return *this;
    }

private:
    store::Store& log_;
    std::string id_;
    std::string channel_;
    std::int64_t time_;
};

inline void log_conversation(store::Store& log, const std::string& id, const std::string& channel, std::int64_t started,
                      int turns, const std::string& state, const std::string& asking,
                      std::optional<Triage> outcome) {
    store::ConversationRecord record = test::conversation(id, channel, started);
    record.last_activity_ms = started + 100;
    record.turns = turns;
    record.state = state;
    record.asking = asking;
    record.outcome = std::move(outcome);
    log.log_conversation(record);
}

// Three conversations: an emergency on the WebSocket on May 1st, a self-care
// outcome in the terminal and one that stopped at the fever question, both
// on May 2nd.
inline void log_review_scenario(store::Store& log) {
    const std::int64_t e1 = may_1 + 10 * hour_ms;
    log_conversation(log, "e1", "websocket", e1, 3, "outcome", "", Triage{Level::emergency, {"cauda_equina"}});
    Script(log, "e1", "websocket", e1)
        .in("start", "", true)
        .out("", "greeting")
        .out("Hello. Where does it hurt?", "greeting", "pain_location")
        .in("message", "my back hurts", true, {"pain", "lower_back"})
        .out("Any numbness around your bottom?", "screening", "saddle_numbness")
        .in("choice", "yes", true, {"yes"}, "saddle_numbness")
        .out("Call an ambulance now.", "outcome", "", Triage{Level::emergency, {"cauda_equina"}});

    const std::int64_t s1 = may_1 + 24 * hour_ms;
    log_conversation(log, "s1", "terminal", s1, 4, "outcome", "", Triage{Level::self_care, {"muscle_strain"}});
    Script(log, "s1", "terminal", s1)
        .in("message", "back sore", true, {"pain"})
        .out("How long has it hurt?", "context", "duration")
        .in("message", "asdf qwerty", false, {}, "duration")
        .out("Sorry, how long?", "context", "duration")
        .in("message", "Two weeks", true, {"duration"}, "duration")
        .out("Did it start after lifting?", "context", "trigger")
        .in("message", "ok", true, {"yes"}, "trigger")
        .out("Try \"cat-cow\", gently", "outcome", "", Triage{Level::self_care, {"muscle_strain"}});

    const std::int64_t n1 = may_1 + 25 * hour_ms;
    log_conversation(log, "n1", "websocket", n1, 2, "screening", "fever", std::nullopt);
    Script(log, "n1", "websocket", n1)
        .in("message", "ASDF  qwerty!", false, {}, "fever")
        .out("Do you have a fever?", "screening", "fever")
        .in("message", "=cmd", false, {}, "fever")
        .out("Please answer yes or no.", "screening", "fever");
}

}  // namespace backtalk::test
