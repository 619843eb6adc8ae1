#include "adapters/server/telegram_update.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cctype>
#include <limits>

namespace backtalk::server::telegram {

namespace {

using json = nlohmann::json;

// What a person can send instead of text. Service messages (someone joined a
// group, a pinned message...) are not among them: they get no answer.
constexpr std::array<const char*, 15> media_fields{
    "photo", "video", "voice", "audio", "document", "sticker", "animation", "video_note",
    "location", "venue", "contact", "poll", "dice", "game", "story"};

std::optional<std::int64_t> integer_field(const json& object, const char* name) {
    const auto found = object.find(name);
    if (found == object.end()) return std::nullopt;
    if (found->is_number_integer() && !found->is_number_unsigned()) return found->get<std::int64_t>();
    if (found->is_number_unsigned() &&
        found->get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::int64_t>(found->get<std::uint64_t>());
    }
    return std::nullopt;
}

std::string string_field(const json& object, const char* name) {
    const auto found = object.find(name);
    return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

std::optional<std::int64_t> chat_of(const json& message) {
    const auto chat = message.find("chat");
    if (chat == message.end() || !chat->is_object()) return std::nullopt;
    return integer_field(*chat, "id");
}

// Any chat but a private one ("group", "supergroup", "channel").
bool is_shared_chat(const json& message) {
    const auto chat = message.find("chat");
    if (chat == message.end() || !chat->is_object()) return false;
    const std::string type = string_field(*chat, "type");
    return !type.empty() && type != "private";
}

bool sent_by_bot(const json& message) {
    const auto from = message.find("from");
    if (from == message.end() || !from->is_object()) return false;
    const auto is_bot = from->find("is_bot");
    return is_bot != from->end() && is_bot->is_boolean() && is_bot->get<bool>();
}

void read_message(const json& message, Update& update) {
    const auto chat = chat_of(message);
    if (!chat || sent_by_bot(message)) {
        update.kind = Update::Kind::other;
        update.content = "message";
        return;
    }
    update.chat_id = *chat;
    update.shared_chat = is_shared_chat(message);
    if (const auto text = message.find("text"); text != message.end() && text->is_string()) {
        update.kind = Update::Kind::text;
        update.text = text->get<std::string>();
        return;
    }
    for (const char* field : media_fields) {
        if (message.contains(field)) {
            update.kind = Update::Kind::not_text;
            update.content = field;
            update.media_group = string_field(message, "media_group_id");
            return;
        }
    }
    update.kind = Update::Kind::other;
    update.content = "service message";
}

}  // namespace

std::variant<Update, std::string> parse_update(std::string_view body) {
    const json root = json::parse(body, nullptr, false);
    if (root.is_discarded()) return std::string("the body is not JSON");
    if (!root.is_object()) return std::string("an update is a JSON object");
    const auto update_id = integer_field(root, "update_id");
    if (!update_id) return std::string("the update has no integer update_id");

    Update update;
    update.update_id = *update_id;
    if (const auto message = root.find("message"); message != root.end() && message->is_object()) {
        read_message(*message, update);
        return update;
    }
    // A channel's posts (edited or not) are not people talking to the bot.
    if (const auto edited = root.find("edited_message"); edited != root.end() && edited->is_object()) {
        if (const auto chat = chat_of(*edited); chat && !sent_by_bot(*edited)) {
            update.kind = Update::Kind::edited;
            update.chat_id = *chat;
            update.shared_chat = is_shared_chat(*edited);
        } else {
            update.content = "edited_message";
        }
        return update;
    }
    if (const auto query = root.find("callback_query"); query != root.end() && query->is_object()) {
        update.callback_id = string_field(*query, "id");
        if (update.callback_id.empty()) {
            update.content = "callback_query";
            return update;
        }
        update.kind = Update::Kind::callback;
        update.callback_data = string_field(*query, "data");
        if (const auto message = query->find("message"); message != query->end() && message->is_object()) {
            if (const auto chat = chat_of(*message)) {
                update.chat_id = *chat;
                update.callback_has_chat = true;
                update.shared_chat = is_shared_chat(*message);
                update.callback_message_id = integer_field(*message, "message_id").value_or(0);
            }
        }
        return update;
    }
    for (const auto& [field, value] : root.items()) {
        if (field != "update_id") {
            update.content = field;
            break;
        }
    }
    return update;
}

std::optional<Command> parse_command(std::string_view text) {
    if (text.size() < 2 || text[0] != '/') return std::nullopt;
    std::size_t end = 1;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
    if (end == 1) return std::nullopt;
    Command command;
    for (std::size_t i = 1; i < end; ++i) {
        command.name += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    }
    // "/help@backtalk_bot": the bot's name, as Telegram adds it in groups.
    if (end < text.size() && text[end] == '@') {
        while (end < text.size() && text[end] != ' ' && text[end] != '\n') ++end;
    }
    if (end < text.size() && text[end] != ' ' && text[end] != '\n') return std::nullopt;
    const auto rest = text.substr(end);
    const auto first = rest.find_first_not_of(" \n");
    command.argument = first == std::string_view::npos ? std::string() : std::string(rest.substr(first));
    return command;
}

}  // namespace backtalk::server::telegram
