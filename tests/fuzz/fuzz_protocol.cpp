// Any bytes as one client object: parsed or refused with a protocol error,
// never a crash; what parses serialises back to valid JSON.
#include "bot/protocol.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = backtalk::protocol::parse_client_object(text);
    if (const auto* error = std::get_if<backtalk::protocol::Error>(&parsed)) {
        const auto json = nlohmann::json::parse(backtalk::protocol::to_json(*error, true), nullptr, false);
        if (json.is_discarded()) std::abort();
        return 0;
    }
    const auto& object = std::get<backtalk::protocol::ClientObject>(parsed);
    if (const auto* message = std::get_if<backtalk::protocol::Message>(&object)) {
        if (message->text.empty()) std::abort();  // the protocol promises 1..2000 characters
        backtalk::Reply echo;
        echo.text = message->text;
        if (nlohmann::json::parse(backtalk::protocol::to_json(echo, true), nullptr, false).is_discarded()) std::abort();
    }
    return 0;
}
