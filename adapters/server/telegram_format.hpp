// What a turn looks like in Telegram: the bot's reply objects become
// sendMessage calls. The rules' small markdown subset (**bold**, *italic*,
// [label](https://...), "- " and "1. " list lines) becomes Telegram's HTML
// parse mode with every other character escaped; texts longer than a
// message allows are split at paragraph, line, word or, failing those,
// character boundaries, never inside a UTF-8 sequence, a surrogate pair or
// a tag. Quick replies become inline keyboard buttons whose callback_data is
// the quick reply's id and the question it answers. No dialogue logic here:
// only formatting.
#pragma once

#include "adapters/core/conversations.hpp"
#include "bot/reply.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk::server::telegram {

// Telegram counts a message's length after entity parsing, in UTF-16 code
// units.
inline constexpr std::size_t max_message_units = 4096;
inline constexpr std::size_t max_callback_data_bytes = 64;

// One piece of a text, in both forms.
struct TextChunk {
    std::string html;   // for parse_mode HTML
    std::string plain;  // the same text without markup
};

// The markdown subset as Telegram HTML, in chunks of at most `max_units`
// visible UTF-16 code units each; whitespace at a split is dropped and
// chunks with nothing visible are left out. Invalid UTF-8 becomes U+FFFD.
std::vector<TextChunk> format_markdown(std::string_view markdown, std::size_t max_units = max_message_units);
// Text shown as it is (no markdown), escaped and chunked the same way.
std::vector<TextChunk> format_literal(std::string_view text, std::size_t max_units = max_message_units);

// Visible length as Telegram counts it: UTF-16 code units.
std::size_t utf16_length(std::string_view utf8);

struct OutgoingMessage {
    TextChunk text;
    std::vector<QuickReply> buttons;  // the ones whose id fits callback_data
    std::string asking = {};          // the question the buttons answer, if any
};

// A button's callback_data: "ID|TOPIC" when the button answers a question and
// both fit, else "ID". Old messages keep their buttons, and a tap on one must
// not answer whatever question is open now.
std::string callback_data(const QuickReply& button, const std::string& asking);
// The choice callback_data written by callback_data() stands for.
protocol::Choice choice_for_callback(std::string_view data);

struct RenderedTurn {
    std::vector<OutgoingMessage> messages;
    std::size_t dropped_buttons = 0;  // quick replies whose id does not fit callback_data
};

// A turn's objects as messages: consecutive replies (and error messages)
// share one message, separated by a blank line, so that a turn is usually a
// single sendMessage; a reply with quick replies ends its message, with the
// buttons on its last chunk. The session object shows nothing.
RenderedTurn render_turn(const std::vector<OutObject>& objects, std::size_t max_units = max_message_units);

// The sendMessage parameters for one message: chat_id as a 64-bit integer,
// HTML or plain text, link previews off, and the buttons as
// reply_markup.inline_keyboard.
nlohmann::json send_message_params(std::int64_t chat_id, const OutgoingMessage& message, bool plain);

// The callback_data of the button that shows a tap's choice: no quick reply
// has it (ids are never empty, and it starts with the separator), and a tap
// on it does nothing.
inline constexpr std::string_view picked_callback_data = "|picked";

// The editMessageReplyMarkup parameters for a message whose button was
// tapped and taken: its buttons give way to one that shows the option picked
// ("✓ No"), so the chat shows the choice and the old options cannot be
// tapped again.
nlohmann::json picked_markup_params(std::int64_t chat_id, std::int64_t message_id, const QuickReply& picked);

// The inline keyboard for quick replies: one row when the titles are short,
// else one button per row.
nlohmann::json inline_keyboard(const std::vector<QuickReply>& buttons, const std::string& asking = {});

}  // namespace backtalk::server::telegram
