// Replies as Telegram messages: the markdown subset as escaped HTML, splits
// within 4,096 UTF-16 units at safe places, turns as few messages, quick
// replies as inline keyboards within the 64-byte callback_data limit.
#include "adapters/server/telegram_format.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace backtalk;
using namespace backtalk::server::telegram;

namespace {

std::string html_of(std::string_view markdown) {
    const auto chunks = format_markdown(markdown);
    REQUIRE(chunks.size() == 1);
    return chunks.front().html;
}

bool valid_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<unsigned char>(text[i]);
        const std::size_t size = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
        if (size == 0 || i + size > text.size()) return false;
        for (std::size_t k = 1; k < size; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
        }
        i += size;
    }
    return true;
}

Reply reply(std::string text, std::vector<QuickReply> quick_replies = {}) {
    Reply r;
    r.text = std::move(text);
    r.quick_replies = std::move(quick_replies);
    return r;
}

}  // namespace

TEST_CASE("text that is not markup is escaped for Telegram's HTML") {
    CHECK(html_of("a < b & c > d") == "a &lt; b &amp; c &gt; d");
    CHECK(html_of("<script>alert(\"x\")</script>") == "&lt;script&gt;alert(\"x\")&lt;/script&gt;");
    CHECK(html_of("&amp; stays text") == "&amp;amp; stays text");
}

TEST_CASE("bold, italic and web links become tags, anything else stays visible") {
    CHECK(html_of("**Call 999 now.** Then rest *gently*.") == "<b>Call 999 now.</b> Then rest <i>gently</i>.");
    CHECK(html_of("**a *b* c**") == "<b>a </b><b><i>b</i></b><b> c</b>");
    CHECK(html_of("See [the NHS page](https://www.nhs.uk/x?a=1&b=\"2\").") ==
          "See <a href=\"https://www.nhs.uk/x?a=1&amp;b=&quot;2&quot;\">the NHS page</a>.");
    CHECK(html_of("[click](javascript:alert(1))") == "click (javascript:alert(1))");
    CHECK(html_of("2 * 3 * 4 and ** alone") == "2 * 3 * 4 and ** alone");
    CHECK(html_of("**<b>**") == "<b>&lt;b&gt;</b>");
}

TEST_CASE("list lines get bullets and numbers, paragraphs stay apart") {
    CHECK(html_of("Try this:\n- walk\n* rest\n3) heat\n\nThen see.") ==
          "Try this:\n\xE2\x80\xA2 walk\n\xE2\x80\xA2 rest\n3. heat\n\nThen see.");
    CHECK(html_of("-not a list") == "-not a list");
}

TEST_CASE("the plain form carries the same text without markup") {
    const auto chunks = format_markdown("**Stop** and read [this](https://example.org/a).");
    REQUIRE(chunks.size() == 1);
    CHECK(chunks[0].plain == "Stop and read this (https://example.org/a).");
}

TEST_CASE("long texts split at paragraphs, then lines, then words, within the limit") {
    const std::string first(3000, 'a');
    const std::string second(3000, 'b');
    const auto paragraphs = format_markdown(first + "\n\n" + second);
    REQUIRE(paragraphs.size() == 2);
    CHECK(paragraphs[0].plain == first);
    CHECK(paragraphs[1].plain == second);

    std::string words;
    for (int i = 0; i < 2000; ++i) words += "word" + std::to_string(i) + " ";
    const auto chunks = format_markdown(words);
    REQUIRE(chunks.size() >= 3);
    std::string joined;
    for (const auto& chunk : chunks) {
        CHECK(utf16_length(chunk.plain) <= max_message_units);
        CHECK(chunk.plain.front() != ' ');
        CHECK(chunk.plain.back() != ' ');
        joined += chunk.plain + " ";
    }
    CHECK(joined == words);
}

TEST_CASE("splits count UTF-16 units and never cut a character") {
    std::string faces;
    for (int i = 0; i < 3000; ++i) faces += "\xF0\x9F\x98\x80";  // U+1F600: two UTF-16 units
    const auto chunks = format_literal(faces);
    REQUIRE(chunks.size() == 2);
    CHECK(utf16_length(chunks[0].plain) == 4096);
    CHECK(utf16_length(chunks[1].plain) == 2 * 3000 - 4096);
    for (const auto& chunk : chunks) CHECK(valid_utf8(chunk.html));

    const auto small = format_literal("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 3);  // four é, three per chunk
    REQUIRE(small.size() == 2);
    CHECK(small[0].plain == "\xC3\xA9\xC3\xA9\xC3\xA9");
    CHECK(small[1].plain == "\xC3\xA9");
}

TEST_CASE("a split inside bold text closes and reopens the tag") {
    std::string long_bold = "**";
    for (int i = 0; i < 1000; ++i) long_bold += "heavy ";
    long_bold += "end**";
    const auto chunks = format_markdown(long_bold);
    REQUIRE(chunks.size() == 2);
    for (const auto& chunk : chunks) {
        CHECK(chunk.html.rfind("<b>", 0) == 0);
        CHECK(chunk.html.size() >= 4);
        CHECK(chunk.html.substr(chunk.html.size() - 4) == "</b>");
    }
}

TEST_CASE("entities count once: the limit is on the visible text, not the escaped bytes") {
    const std::string ampersands(4096, '&');
    const auto chunks = format_literal(ampersands);
    REQUIRE(chunks.size() == 1);
    CHECK(chunks[0].html.size() == 4096 * 5);
}

TEST_CASE("invalid UTF-8 becomes U+FFFD instead of a message Telegram refuses") {
    const auto chunks = format_literal("ok \xFF\xFE then");
    REQUIRE(chunks.size() == 1);
    CHECK(chunks[0].plain == "ok \xEF\xBF\xBD\xEF\xBF\xBD then");
    CHECK(format_literal("   \n\n  ").empty());
}

TEST_CASE("a turn's replies share one message, quick replies end it as buttons") {
    const std::vector<OutObject> objects{SessionOpened{"s1", false}, reply("Thank you."),
                                         reply("Any numbness?", {{"yes", "Yes"}, {"no", "No"}})};
    const auto turn = render_turn(objects);
    REQUIRE(turn.messages.size() == 1);
    CHECK(turn.messages[0].text.plain == "Thank you.\n\nAny numbness?");
    REQUIRE(turn.messages[0].buttons.size() == 2);
    CHECK(turn.messages[0].buttons[1].id == "no");
    CHECK(turn.dropped_buttons == 0);
}

TEST_CASE("a reply with buttons before another reply makes two messages") {
    const std::vector<OutObject> objects{reply("Pick one", {{"a", "A"}}), reply("Or say anything.")};
    const auto turn = render_turn(objects);
    REQUIRE(turn.messages.size() == 2);
    CHECK(turn.messages[0].buttons.size() == 1);
    CHECK(turn.messages[1].buttons.empty());
}

TEST_CASE("an error object is shown as its message, escaped") {
    const std::vector<OutObject> objects{protocol::Error{"too_long", "Messages can be at most 2000 characters <sic>."}};
    const auto turn = render_turn(objects);
    REQUIRE(turn.messages.size() == 1);
    CHECK(turn.messages[0].text.html == "Messages can be at most 2000 characters &lt;sic&gt;.");
}

TEST_CASE("quick reply ids longer than callback_data allows are left out and counted") {
    const std::string fits(max_callback_data_bytes, 'x');
    const std::string too_long(max_callback_data_bytes + 1, 'y');
    const auto turn = render_turn({reply("Choose", {{fits, "Fits"}, {too_long, "Too long"}, {"", "No id"}})});
    REQUIRE(turn.messages.size() == 1);
    REQUIRE(turn.messages[0].buttons.size() == 1);
    CHECK(turn.messages[0].buttons[0].id == fits);
    CHECK(turn.dropped_buttons == 2);
}

TEST_CASE("a long reply is split and its buttons go on the last piece") {
    std::string text;
    for (int i = 0; i < 900; ++i) text += "Rest and move. ";
    const auto turn = render_turn({reply(text, {{"next", "Next"}})});
    REQUIRE(turn.messages.size() == 4);
    for (std::size_t i = 0; i + 1 < turn.messages.size(); ++i) CHECK(turn.messages[i].buttons.empty());
    CHECK(turn.messages.back().buttons.size() == 1);
}

TEST_CASE("sendMessage parameters: 64-bit chat id, HTML or plain, inline keyboard") {
    const std::int64_t chat_id = -1001234567890123;
    OutgoingMessage message{format_markdown("**Hi** & welcome").front(), {{"yes", "Yes"}, {"no", "No"}}};
    const auto html = send_message_params(chat_id, message, false);
    CHECK(html["chat_id"].get<std::int64_t>() == chat_id);
    CHECK(html["chat_id"].dump() == "-1001234567890123");
    CHECK(html["text"] == "<b>Hi</b> &amp; welcome");
    CHECK(html["parse_mode"] == "HTML");
    CHECK(html["link_preview_options"]["is_disabled"] == true);
    const auto& keyboard = html["reply_markup"]["inline_keyboard"];
    REQUIRE(keyboard.size() == 1);
    REQUIRE(keyboard[0].size() == 2);
    CHECK(keyboard[0][0] == nlohmann::json{{"text", "Yes"}, {"callback_data", "yes"}});

    const auto plain = send_message_params(chat_id, message, true);
    CHECK(plain["text"] == "Hi & welcome");
    CHECK_FALSE(plain.contains("parse_mode"));

    message.buttons.clear();
    CHECK_FALSE(send_message_params(chat_id, message, false).contains("reply_markup"));
}

TEST_CASE("callback_data names the question a button answers when it fits") {
    CHECK(callback_data({"no", "No"}, "chest_pain") == "no|chest_pain");
    CHECK(callback_data({"stretches", "Show me stretches"}, "") == "stretches");
    const std::string long_topic(62, 't');
    CHECK(callback_data({"no", "No"}, long_topic) == "no");  // 64 bytes at most: the id alone
    const auto answer = choice_for_callback("no|chest_pain");
    CHECK(answer.id == "no");
    CHECK(answer.asking == "chest_pain");
    const auto menu = choice_for_callback("stretches");
    CHECK(menu.id == "stretches");
    CHECK(menu.asking.empty());
    const auto keyboard = inline_keyboard({{"yes", "Yes"}, {"no", "No"}}, "fever");
    CHECK(keyboard[0][1]["callback_data"] == "no|fever");
}

TEST_CASE("long button titles get a row each") {
    const auto keyboard = inline_keyboard({{"stretches", "Show me stretches"},
                                           {"causes", "What causes this?"},
                                           {"restart", "Start over"}});
    REQUIRE(keyboard.size() == 3);
    for (const auto& row : keyboard) CHECK(row.size() == 1);
}
