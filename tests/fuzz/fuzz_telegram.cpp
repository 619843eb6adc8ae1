// Any bytes as the body of a Telegram webhook request: an update or an error
// message, never a crash; what it reports is consistent with the input.
#include "adapters/server/telegram_update.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace telegram = backtalk::server::telegram;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto parsed = telegram::parse_update(body);
    if (const auto* error = std::get_if<std::string>(&parsed)) {
        if (error->empty()) std::abort();  // the webhook answers with it
        return 0;
    }
    const auto& update = std::get<telegram::Update>(parsed);
    using Kind = telegram::Update::Kind;
    // Only a text message carries text; a callback always names its query.
    if (update.kind != Kind::text && !update.text.empty()) std::abort();
    if (update.kind == Kind::callback && update.callback_id.empty()) std::abort();
    if (update.kind == Kind::text) {
        if (const auto command = telegram::parse_command(update.text)) {
            if (command->name.empty() || update.text.front() != '/') std::abort();
            if (command->argument.size() >= update.text.size()) std::abort();
        }
    }
    return 0;
}
