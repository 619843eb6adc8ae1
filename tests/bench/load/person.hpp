// The person at the other end of a load-test connection: plays whole
// conversations the way people do (PROTOCOL.md). A start, a complaint, an
// answer to every question the bot asks ("no" to yes/no topics, an age, a
// duration, ...) until the outcome; then "show me stretches", "next" a few
// times, "start over", and round again with the next complaint.
//
// It reads the bot's frames with a few substring searches instead of a JSON
// parser, so that the client stays cheap and the benchmark measures the
// server. That relies on what protocol::to_json writes: compact JSON whose
// top-level keys ("type", "asking", "triage", "end_of_turn", ...) appear
// nowhere else unescaped, since a quote inside a JSON string is escaped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace backtalk::bench {

// What one frame from the bot says, as far as the person cares.
struct Frame {
    bool end_of_turn = false;
    std::string_view error_code;  // set when "type" is "error"
    std::string_view asking;      // empty when null or absent
    std::string_view level;       // the triage level when the frame carries one
    bool yes_no = false;          // the first quick reply is "yes"
};

// Reads the fields above from one frame of protocol JSON. Views point into
// `json`.
Frame scan_frame(std::string_view json);

class Person {
public:
    // `seed` picks the first complaint and the age, so that connections
    // play different conversations.
    explicit Person(std::size_t seed);

    // The first client object of a connection: {"type":"start"}.
    std::string_view opening();
    // Takes in one frame of the bot's answer to the latest client object.
    void hear(const Frame& frame);
    // After the frame with end_of_turn: the next client object to send.
    std::string_view next();

    // Conversations played to an outcome so far, by triage level.
    struct Outcomes {
        std::size_t emergency = 0, urgent = 0, gp_soon = 0, self_care = 0;
        std::size_t unfinished = 0;  // started over without an outcome
    };
    const Outcomes& outcomes() const { return outcomes_; }

private:
    enum class Phase { complaint, answering, after_outcome };

    std::string_view answer_to(std::string_view topic, bool yes_no) const;
    std::string_view decide();
    std::string_view say(std::string_view text);
    std::string_view complain();
    void count_outcome(std::string_view level);

    Phase phase_ = Phase::complaint;
    std::size_t complaint_ = 0;
    std::size_t age_ = 0;
    std::size_t turns_in_phase_ = 0;
    std::size_t retries_ = 0;  // of the same object after an error answer

    // What the bot said in the current turn.
    std::string asking_;
    bool yes_no_ = false;
    bool error_in_turn_ = false;
    std::string level_;  // the triage level, once given

    Outcomes outcomes_;
    std::string out_;  // the client object being sent
};

// The same texts a Person says, in turn, for the echo baseline: the echo
// server's frames carry no questions, so there is nothing to answer.
class EchoTalker {
public:
    explicit EchoTalker(std::size_t seed);
    std::string_view opening();
    std::string_view next();

private:
    std::size_t index_;
    std::size_t complaint_;
    std::string out_;
};

}  // namespace backtalk::bench
