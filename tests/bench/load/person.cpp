#include "tests/bench/load/person.hpp"

#include <algorithm>
#include <array>

namespace backtalk::bench {

namespace {

// First messages across the four levels, the way people type them.
constexpr std::array<std::string_view, 8> complaints = {
    "hurt my lower back lifting a washing machine yesterday, no fever, no numbness",
    "my lower back aches by the end of every work day, I sit at a laptop all day",
    "did a 10k and a leg day at the gym on saturday, now my back and hamstrings are really sore",
    "lower back pain for 4 days",
    "my back has been sore for about 3 months now, it's not getting better",
    "pain from my bum down the back of my leg to my ankle for 5 weeks, pins and needles in my toes",
    "my upper back hurts and I feel sick and sweaty, started while carrying the shopping",
    "numbess in my rite foot and sciatia down the leg for 10 days",
};

constexpr std::array<std::string_view, 6> ages = {"34", "52", "29", "45", "61", "38"};

// What a person asks for once the advice is given, then "start over".
constexpr std::array<std::string_view, 5> after_outcome = {"show me stretches", "next", "next", "next",
                                                           "start over"};

// A conversation that needs more answers than this is stuck on an answer
// the bot keeps not understanding: start over.
constexpr std::size_t max_answers = 40;

constexpr std::size_t max_retries = 5;

constexpr std::string_view start_object = R"({"type":"start"})";

// The string value of a top-level key, e.g. key `"asking":` in
// `..."asking":"age",...` gives `age`; empty when absent or not a string.
std::string_view string_value(std::string_view json, std::string_view key) {
    const auto at = json.find(key);
    if (at == std::string_view::npos) return {};
    const auto open = at + key.size();
    if (open >= json.size() || json[open] != '"') return {};
    const auto close = json.find('"', open + 1);
    if (close == std::string_view::npos) return {};
    return json.substr(open + 1, close - open - 1);
}

void append_message(std::string& out, std::string_view text) {
    out.assign(R"({"type":"message","text":")");
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += "\"}";
}

}  // namespace

Frame scan_frame(std::string_view json) {
    Frame frame;
    frame.end_of_turn = json.find(R"("end_of_turn":true)") != std::string_view::npos;
    if (json.find(R"("type":"error")") != std::string_view::npos) {
        frame.error_code = string_value(json, R"("code":)");
        if (frame.error_code.empty()) frame.error_code = "error without a code";
    }
    frame.asking = string_value(json, R"("asking":)");
    frame.level = string_value(json, R"("level":)");
    frame.yes_no = json.find(R"("quick_replies":[{"id":"yes")") != std::string_view::npos;
    return frame;
}

Person::Person(std::size_t seed) : complaint_(seed % complaints.size()), age_(seed % ages.size()) {}

std::string_view Person::opening() {
    out_.assign(start_object);
    return out_;
}

void Person::hear(const Frame& frame) {
    if (!frame.error_code.empty()) error_in_turn_ = true;
    if (!frame.asking.empty()) {
        asking_.assign(frame.asking);
        yes_no_ = frame.yes_no;
    }
    if (!frame.level.empty()) level_.assign(frame.level);
}

std::string_view Person::next() {
    const std::string_view object = decide();
    asking_.clear();
    yes_no_ = false;
    error_in_turn_ = false;
    level_.clear();
    return object;
}

std::string_view Person::decide() {
    // An error answer (rate_limited, say) changes nothing: say it again, a
    // few times.
    if (error_in_turn_ && ++retries_ < max_retries) return out_;
    retries_ = 0;

    switch (phase_) {
    case Phase::complaint:
        return complain();
    case Phase::answering:
        if (!level_.empty()) {
            count_outcome(level_);
            phase_ = Phase::after_outcome;
            turns_in_phase_ = 0;
            return say(after_outcome[0]);
        }
        if (!asking_.empty() && ++turns_in_phase_ < max_answers) return say(answer_to(asking_, yes_no_));
        ++outcomes_.unfinished;
        phase_ = Phase::complaint;
        return say("start over");
    case Phase::after_outcome:
        if (++turns_in_phase_ + 1 >= after_outcome.size()) phase_ = Phase::complaint;
        return say(after_outcome[std::min(turns_in_phase_, after_outcome.size() - 1)]);
    }
    return say("start over");
}

std::string_view Person::complain() {
    phase_ = Phase::answering;
    turns_in_phase_ = 0;
    const auto text = complaints[complaint_];
    complaint_ = (complaint_ + 1) % complaints.size();
    return say(text);
}

std::string_view Person::say(std::string_view text) {
    append_message(out_, text);
    return out_;
}

std::string_view Person::answer_to(std::string_view topic, bool yes_no) const {
    if (topic == "age") return ages[age_];
    if (topic == "duration") return "about 3 weeks";
    if (topic == "pain_score") return "6";
    if (topic == "onset") return "gradually";
    if (topic == "pain_location") return "lower back";
    if (topic == "trigger") return "lifting boxes at work";
    if (yes_no) return "no";
    return "not sure";
}

void Person::count_outcome(std::string_view level) {
    if (level == "emergency") ++outcomes_.emergency;
    else if (level == "urgent") ++outcomes_.urgent;
    else if (level == "gp_soon") ++outcomes_.gp_soon;
    else ++outcomes_.self_care;
}

EchoTalker::EchoTalker(std::size_t seed) : index_(seed), complaint_(seed % complaints.size()) {}

std::string_view EchoTalker::opening() {
    out_.assign(start_object);
    return out_;
}

std::string_view EchoTalker::next() {
    // The texts a person says, in the proportions of a conversation: a
    // complaint, a handful of answers, the requests after the outcome.
    static constexpr std::array<std::string_view, 12> texts = {
        "", "no", "34", "about 3 weeks", "no", "gradually", "6", "no",
        after_outcome[0], after_outcome[1], after_outcome[2], after_outcome[4]};
    index_ = (index_ + 1) % texts.size();
    if (index_ != 0) {
        append_message(out_, texts[index_]);
    } else {
        append_message(out_, complaints[complaint_]);
        complaint_ = (complaint_ + 1) % complaints.size();
    }
    return out_;
}

}  // namespace backtalk::bench
