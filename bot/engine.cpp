// The engine's entry points: each turn is a detail::Turn (bot/turn.hpp) over
// a copy of the session. All wording comes from the rules; the engine holds
// only the mechanism.
#include "bot/engine.hpp"

#include "bot/ruleset.hpp"
#include "bot/turn.hpp"

#include <stdexcept>

namespace backtalk {

bool is_dialable_number(std::string_view number) {
    if (!number.empty() && number.front() == '+') number.remove_prefix(1);
    int digits = 0;
    bool after_digit = false;
    for (char c : number) {
        if (c >= '0' && c <= '9') {
            ++digits;
            after_digit = true;
        } else if ((c == ' ' || c == '-') && after_digit) {
            after_digit = false;
        } else {
            return false;
        }
    }
    return after_digit && digits >= 2 && digits <= 15;
}

Engine::Engine(std::shared_ptr<const RuleSet> rules, EngineOptions options) : rules_(std::move(rules)), options_(std::move(options)) {
    if (!rules_) throw std::invalid_argument("Engine needs rules");
}

TurnResult Engine::begin(std::int64_t now_ms) const {
    Session s;
    s.started_ms = now_ms;
    s.locale = rules_->locale;
    return detail::Turn(*rules_, options_, std::move(s), now_ms).begin();
}

TurnResult Engine::resume(const Session& session, std::int64_t now_ms) const {
    return detail::Turn(*rules_, options_, session, now_ms).resume();
}

TurnResult Engine::step(const Session& session, const protocol::Message& message, std::int64_t now_ms) const {
    return detail::Turn(*rules_, options_, session, now_ms).message(message);
}

TurnResult Engine::step(const Session& session, const protocol::Choice& choice, std::int64_t now_ms) const {
    TurnResult result = detail::Turn(*rules_, options_, session, now_ms).choice(choice);
    if (result.error) result.session = session;
    return result;
}

}  // namespace backtalk
