// Updates in the Bot API's shapes (our own values) reduced to what the
// adapter acts on.
#include "adapters/server/telegram_update.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace backtalk::server::telegram;

namespace {

Update parse(const std::string& body) {
    auto parsed = parse_update(body);
    if (const auto* error = std::get_if<std::string>(&parsed)) FAIL("not parsed: " << *error);
    return std::get<Update>(parsed);
}

std::string error_of(const std::string& body) {
    auto parsed = parse_update(body);
    const auto* error = std::get_if<std::string>(&parsed);
    return error ? *error : std::string();
}

}  // namespace

TEST_CASE("a text message: update id, 64-bit chat id, text") {
    const auto update = parse(R"({"update_id": 912345678,
        "message": {"message_id": 17, "date": 1767225600,
                    "from": {"id": 5123456789, "is_bot": false, "first_name": "Ana", "language_code": "en"},
                    "chat": {"id": -1009876543210987, "type": "supergroup", "title": "Back club"},
                    "text": "my lower back hurts"}})");
    CHECK(update.update_id == 912345678);
    CHECK(update.kind == Update::Kind::text);
    CHECK(update.chat_id == -1009876543210987);
    CHECK(update.text == "my lower back hurts");
    CHECK(update.shared_chat);  // a supergroup
    const auto direct = parse(R"({"update_id": 1, "message": {"message_id": 1, "date": 1,
        "chat": {"id": 42, "type": "private"}, "text": "hi"}})");
    CHECK_FALSE(direct.shared_chat);
}

TEST_CASE("a callback query from an inline keyboard button") {
    const auto update = parse(R"({"update_id": 5,
        "callback_query": {"id": "4382bfdwdsb323b2d9", "chat_instance": "-88",
            "from": {"id": 5123456789, "is_bot": false, "first_name": "Ana"},
            "message": {"message_id": 18, "date": 1767225601, "chat": {"id": 5123456789, "type": "private"},
                        "text": "Any numbness?"},
            "data": "no"}})");
    CHECK(update.kind == Update::Kind::callback);
    CHECK(update.callback_id == "4382bfdwdsb323b2d9");
    CHECK(update.callback_data == "no");
    CHECK(update.callback_has_chat);
    CHECK(update.chat_id == 5123456789);
    CHECK(update.callback_message_id == 18);
}

TEST_CASE("a callback query without its message still needs its answer") {
    const auto update = parse(R"({"update_id": 6,
        "callback_query": {"id": "q1", "chat_instance": "1", "inline_message_id": "AAA",
                           "from": {"id": 1, "is_bot": false, "first_name": "B"}, "data": "yes"}})");
    CHECK(update.kind == Update::Kind::callback);
    CHECK_FALSE(update.callback_has_chat);
    CHECK(update.callback_message_id == 0);
}

TEST_CASE("edits, media and other kinds") {
    CHECK(parse(R"({"update_id": 7, "edited_message": {"message_id": 1, "date": 1, "edit_date": 2,
                     "chat": {"id": 42, "type": "private"}, "text": "fixed typo"}})")
              .kind == Update::Kind::edited);

    const auto photo = parse(R"({"update_id": 8, "message": {"message_id": 2, "date": 1,
        "chat": {"id": 42, "type": "private"}, "media_group_id": "13579",
        "photo": [{"file_id": "AgAD", "file_unique_id": "u1", "width": 90, "height": 67}], "caption": "my back"}})");
    CHECK(photo.kind == Update::Kind::not_text);
    CHECK(photo.content == "photo");
    CHECK(photo.media_group == "13579");
    CHECK(photo.chat_id == 42);

    for (const char* media : {R"("sticker": {"file_id": "CAAD", "emoji": "x"})",
                              R"("voice": {"file_id": "AwAD", "duration": 3})",
                              R"("location": {"latitude": 51.5, "longitude": -0.12})"}) {
        const auto update = parse(std::string(R"({"update_id": 9, "message": {"message_id": 3, "date": 1,
            "chat": {"id": 42, "type": "private"}, )") + media + "}}");
        CHECK(update.kind == Update::Kind::not_text);
    }

    const auto joined = parse(R"({"update_id": 10, "message": {"message_id": 4, "date": 1,
        "chat": {"id": -5, "type": "group"}, "new_chat_members": [{"id": 7, "is_bot": false, "first_name": "C"}]}})");
    CHECK(joined.kind == Update::Kind::other);

    const auto from_bot = parse(R"({"update_id": 11, "message": {"message_id": 5, "date": 1,
        "from": {"id": 99, "is_bot": true, "first_name": "Other bot"}, "chat": {"id": -5, "type": "group"}, "text": "hi"}})");
    CHECK(from_bot.kind == Update::Kind::other);

    const auto post = parse(R"({"update_id": 12, "channel_post": {"message_id": 6, "date": 1,
        "chat": {"id": -100, "type": "channel"}, "text": "news"}})");
    CHECK(post.kind == Update::Kind::other);
    CHECK(post.content == "channel_post");
    const auto edited_post = parse(R"({"update_id": 14, "edited_channel_post": {"message_id": 6, "date": 1, "edit_date": 2,
        "chat": {"id": -100, "type": "channel"}, "text": "news, fixed"}})");
    CHECK(edited_post.kind == Update::Kind::other);
    CHECK(edited_post.content == "edited_channel_post");

    CHECK(parse(R"({"update_id": 13, "my_chat_member": {}})").kind == Update::Kind::other);
}

TEST_CASE("bodies that are not updates") {
    CHECK(error_of("not json") == "the body is not JSON");
    CHECK(error_of("[1]") == "an update is a JSON object");
    CHECK(error_of(R"({"message": {}})") == "the update has no integer update_id");
    CHECK(error_of(R"({"update_id": "12"})") == "the update has no integer update_id");
    CHECK(error_of("{\"update_id\": 1, \"message\": {\"text\": \"\xFF\"}}") == "the body is not JSON");
}

TEST_CASE("commands: name in lower case, the bot's @name and the argument") {
    const auto start = parse_command("/start");
    REQUIRE(start);
    CHECK(start->name == "start");
    CHECK(start->argument.empty());

    const auto help = parse_command("/Help@backtalk_bot");
    REQUIRE(help);
    CHECK(help->name == "help");

    const auto restart = parse_command("/restart  please now");
    REQUIRE(restart);
    CHECK(restart->name == "restart");
    CHECK(restart->argument == "please now");

    CHECK_FALSE(parse_command("/"));
    CHECK_FALSE(parse_command("/ help"));
    CHECK_FALSE(parse_command("/etc/passwd"));
    CHECK_FALSE(parse_command("hello /start"));
}
