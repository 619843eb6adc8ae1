// PROTOCOL.md version 1: parsing client objects and writing bot objects.
// Every channel goes through these functions so that the wire format lives
// in one place.
#pragma once

#include "bot/reply.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace backtalk::protocol {

inline constexpr std::size_t max_text_chars = 2000;

struct Start {
    std::string session;  // empty: start a new conversation
    std::string locale;
};
struct Message {
    std::string text;  // trimmed, valid UTF-8, 1..max_text_chars code points
};
struct Choice {
    std::string id;
    // The question (topic id) the button belonged to, when the client says
    // (an extension: "asking" on a choice object). A button of an earlier
    // question, from another window or an old chat message, is then not
    // taken as an answer to the current one.
    std::string asking = {};
};
using ClientObject = std::variant<Start, Message, Choice>;

struct Error {
    std::string code;  // bad_json, unknown_type, empty, too_long, bad_choice, rate_limited, unavailable, internal
    std::string message;
};

// Parses one client object (one WebSocket frame or one line). Unknown fields
// are ignored, as the protocol allows fields to be added.
std::variant<ClientObject, Error> parse_client_object(std::string_view json_text);

// Checks and trims free text the same way for every channel.
std::variant<Message, Error> make_message(std::string_view raw_text);

// A client object a channel builds from its own input (a REST field, a
// Telegram message or button, a terminal line), checked as
// parse_client_object checks JSON, or the error that check met.
using Checked = std::variant<ClientObject, Error>;
Checked message_object(std::string_view raw_text);
Checked choice_object(std::string_view id, std::string_view asking = {});

inline constexpr std::string_view error_codes[] = {"bad_json",     "unknown_type", "empty",       "too_long",
                                                   "bad_choice",   "rate_limited", "unavailable", "internal"};

// An error object without its human message: the channel words it from the
// rules (texts.json "error_CODE", see adapters/core/wording.hpp) before it is
// sent. An unknown code becomes "internal".
Error make_error(std::string_view code);

std::string to_json(const Reply& reply, bool end_of_turn);
std::string to_json(const Error& error, bool end_of_turn);
std::string session_json(std::string_view session_id, bool resumed, bool end_of_turn);

}  // namespace backtalk::protocol
