// A Telegram Update (Bot API), reduced to what the adapter acts on. Unknown
// fields are ignored, as the Bot API adds fields over time; ids are 64-bit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace backtalk::server::telegram {

struct Update {
    enum class Kind {
        text,         // a message with text (commands included)
        callback,     // an inline keyboard button was pressed
        edited,       // edited_message
        not_text,     // a message without text: photo, voice, sticker, location...
        other,        // every other kind of update: acknowledged and ignored
    };

    std::int64_t update_id = 0;
    Kind kind = Kind::other;
    std::int64_t chat_id = 0;  // where to answer; set for every kind but `other`
    std::string text;          // text: the message's text
    std::string callback_id;   // callback: the query to answer
    std::string callback_data; // callback: the button's data (absent data: empty)
    bool callback_has_chat = false;  // false: the button's message is too old to know its chat
    std::int64_t callback_message_id = 0;  // callback: the message the button is under; 0 when not known
    // A group, supergroup or channel: health questions are not answered where
    // others read them, and members would share one conversation.
    bool shared_chat = false;
    std::string content;       // not_text: what it held ("photo", "sticker"...); other: the update's field
    std::string media_group;   // not_text: the album it belongs to, if any
};

// Parses the JSON body of a webhook request. An error message when it is not
// JSON, not an object, or lacks an integer update_id; an update of a kind we
// do not handle is Kind::other, not an error.
std::variant<Update, std::string> parse_update(std::string_view body);

// A command at the start of a message ("/start", "/help@backtalk_bot args"):
// its name in lower case and the text after it. Empty when the text is not
// a command.
struct Command {
    std::string name;
    std::string argument;
};
std::optional<Command> parse_command(std::string_view text);

}  // namespace backtalk::server::telegram
