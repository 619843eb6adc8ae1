// Any text typed by a person, at any point of a conversation: the normaliser,
// matcher and dialogue never crash, always answer, and keep the level rising.
#include "bot/engine.hpp"
#include "bot/protocol.hpp"
#include "bot/rules.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

const backtalk::Engine& engine() {
    static const backtalk::Engine instance = [] {
        auto load = backtalk::load_rules(std::string(BACKTALK_SOURCE_DIR) + "/rules/en");
        if (!load.rules) std::abort();
        return backtalk::Engine(load.rules, backtalk::EngineOptions{"112"});
    }();
    return instance;
}

}  // namespace

// The input is split at newlines into the messages of one conversation.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    backtalk::TurnResult turn = engine().begin(0);
    backtalk::Session session = turn.session;
    int level = -1;
    std::size_t from = 0;
    for (int n = 1; from <= input.size() && n <= 40; ++n) {
        const std::size_t end = std::min(input.find('\n', from), input.size());
        auto message = backtalk::protocol::make_message(input.substr(from, end - from));
        from = end + 1;
        if (std::holds_alternative<backtalk::protocol::Error>(message)) continue;
        turn = engine().step(session, std::get<backtalk::protocol::Message>(message), n * 1000);
        if (turn.replies.empty() && !turn.error) std::abort();  // every message gets an answer
        session = turn.session;
        if (session.triage) {
            const int now = static_cast<int>(session.triage->level);
            if (now < level) std::abort();  // levels only rise
            level = now;
        }
    }
    return 0;
}
