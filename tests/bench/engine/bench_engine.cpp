// Engine benchmark.
//
//   bench_engine [--rounds N] [--loads N] [--rules DIR]
//
// Plays a set of realistic whole conversations (a first message or two, then
// an answer to every question the bot asks, then a few requests after the
// outcome) --rounds times, timing every turn: Engine::step plus writing its
// replies as protocol JSON, which is what a channel does per message. Then
// loads and validates the rules --loads times. Prints the figures; targets
// for a 2-core machine: median under 20 us, p99 under 200 us, rules under 50 ms.
#include "bot/engine.hpp"
#include "bot/protocol.hpp"
#include "bot/rules.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace backtalk;
using Clock = std::chrono::steady_clock;

struct Script {
    std::vector<std::string> opening;             // what the person types first
    std::map<std::string, std::string> answers;   // topic -> answer; others: "no" / "not sure"
    std::vector<std::string> after_outcome;       // requests once the advice is given
};

// Conversations across the four levels, written the way people type.
const std::vector<Script> scripts = {
    {{"hurt my lower back lifting a washing machine yesterday, no fever, no numbness"},
     {{"age", "34"}, {"pain_score", "6"}},
     {"show me the stretches", "next", "next", "repeat", "next", "stop stretching", "what causes this?"}},
    {{"my lower back aches by the end of every work day, I sit at a laptop all day"},
     {{"age", "29"}, {"onset", "gradually"}, {"duration", "about 3 weeks"}},
     {"stretches please", "next", "next", "next", "done", "thanks"}},
    {{"did a 10k and a leg day at the gym on saturday, now my back and hamstrings are really sore"},
     {{"age", "31"}, {"dark_urine", "no, normal colour"}},
     {"what stretches should I do after running?", "next", "next"}},
    {{"Writing for my mum, she's 83, she slipped on the kitchen floor yesterday and her lower back hurts. She has osteoporosis."},
     {},
     {"should she see a doctor?", "what causes this?"}},
    {{"lower back pain for 4 days", "also I've been shivering and my temperature was 38.6 last night"},
     {{"age", "52"}},
     {"can I do some stretches?", "what is causing it"}},
    {{"my back has been sore for about 3 months now, it's not getting better"},
     {{"age", "44"}, {"morning_stiffness", "no, only for a few minutes"}},
     {"should I see a doctor?", "show me stretches", "next"}},
    {{"pain from my bum down the back of my leg to my ankle for 5 weeks, pins and needles in my toes"},
     {{"age", "47"}, {"leg_weakness", "no, strength is fine"}},
     {"what causes sciatica?", "stretches"}},
    {{"my back hurts", "no", "no"}, {}, {}},
    {{"i've had lower back ache for a week and since this morning i can't feel anything when i wipe"}, {}, {"what should I do?"}},
    {{"had breast cancer 2 years ago. my mid back started hurting a month ago and now my legs feel heavy"}, {}, {}},
    {{"my upper back hurts and I feel sick and sweaty, started while carrying the shopping"}, {}, {"is it serious?"}},
    {{"im 26 and my lower back has been stiff for a year, worst first thing, takes an hour to loosen up, better once im moving"},
     {{"morning_stiffness", "yes, over an hour"}},
     {"what is causing this", "show me the stretches", "next"}},
    {{"I'm 71, back pain for two weeks, I've lost a stone without trying"}, {}, {}},
    {{"numbess in my rite foot and sciatia down the leg for 10 days"}, {{"age", "39"}}, {}},
};

constexpr std::int64_t minute_ms = 60'000;

struct Timer {
    std::vector<double> turn_us;  // Engine::step + protocol JSON, per turn
    std::string sink;             // keeps the JSON from being optimised away

    TurnResult timed(const std::function<TurnResult()>& step) {
        const auto start = Clock::now();
        TurnResult result = step();
        for (std::size_t i = 0; i < result.replies.size(); ++i) sink += protocol::to_json(result.replies[i], i + 1 == result.replies.size());
        if (result.error) sink += protocol::to_json(*result.error, true);
        turn_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        if (sink.size() > (1u << 20)) sink.clear();
        return result;
    }
};

void play(const Engine& engine, const Script& script, Timer& timer) {
    std::int64_t now = 1'790'000'000'000;
    TurnResult last = timer.timed([&] { return engine.begin(now); });
    Session session = last.session;
    const auto send = [&](const std::string& text) {
        const auto message = protocol::make_message(text);
        now += minute_ms;
        last = timer.timed([&] { return engine.step(session, std::get<protocol::Message>(message), now); });
        if (!last.error) session = last.session;
    };
    for (const auto& text : script.opening) send(text);
    for (int guard = 0; guard < 60 && !last.replies.empty() && !last.replies.back().asking.empty(); ++guard) {
        const Reply& question = last.replies.back();
        const auto answer = script.answers.find(question.asking);
        const bool yes_no = !question.quick_replies.empty() && question.quick_replies.front().id == "yes";
        send(answer != script.answers.end() ? answer->second : yes_no ? "no" : "not sure");
    }
    for (const auto& text : script.after_outcome) send(text);
}

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

int usage() {
    std::fprintf(stderr, "usage: bench_engine [--rounds N] [--loads N] [--rules DIR]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 400;
    int loads = 21;
    std::string rules_dir = std::string(BACKTALK_SOURCE_DIR) + "/rules/en";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) return usage();
        if (arg == "--rounds") rounds = std::atoi(argv[++i]);
        else if (arg == "--loads") loads = std::atoi(argv[++i]);
        else if (arg == "--rules") rules_dir = argv[++i];
        else return usage();
    }
    if (rounds < 1 || loads < 1) return usage();

    std::vector<double> load_ms;
    std::shared_ptr<const RuleSet> rules;
    for (int i = 0; i < loads; ++i) {
        const auto start = Clock::now();
        RuleLoad load = load_rules(rules_dir);
        load_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        if (!load.errors.empty()) {
            for (const auto& e : load.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
            return 1;
        }
        rules = load.rules;
    }

    const Engine engine(rules, EngineOptions{});
    Timer warm_up;
    for (const Script& script : scripts) play(engine, script, warm_up);

    Timer timer;
    const auto wall_start = Clock::now();
    for (int round = 0; round < rounds; ++round) {
        for (const Script& script : scripts) play(engine, script, timer);
    }
    const double wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
    double busy_us = 0;
    for (double t : timer.turn_us) busy_us += t;

    const double median_us = percentile(timer.turn_us, 0.5);
    const double p99_us = percentile(timer.turn_us, 0.99);
    const double rules_ms = percentile(load_ms, 0.5);
    std::printf("engine benchmark: %zu conversations x %d rounds, %zu turns (one thread)\n", scripts.size(), rounds,
                timer.turn_us.size());
    std::printf("  turns per second   %10.0f  (engine time only; %.0f including the driver)\n",
                static_cast<double>(timer.turn_us.size()) / (busy_us / 1e6), static_cast<double>(timer.turn_us.size()) / wall_s);
    std::printf("  median per turn    %10.2f us  (target < 20 us)   %s\n", median_us, median_us < 20 ? "ok" : "MISSED");
    std::printf("  p99 per turn       %10.2f us  (target < 200 us)  %s\n", p99_us, p99_us < 200 ? "ok" : "MISSED");
    std::printf("  max per turn       %10.2f us\n", percentile(timer.turn_us, 1.0));
    std::printf("  rules load+check   %10.2f ms  (median of %d loads; target < 50 ms)  %s\n", rules_ms, loads,
                rules_ms < 50 ? "ok" : "MISSED");
    return 0;
}
