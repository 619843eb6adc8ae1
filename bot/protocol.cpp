#include "bot/protocol.hpp"

#include "bot/json_writer.hpp"
#include "bot/utf8.hpp"

#include <nlohmann/json.hpp>

namespace backtalk::protocol {

Error make_error(std::string_view code) {
    for (const std::string_view known : error_codes) {
        if (known == code) return Error{std::string(code), {}};
    }
    return Error{"internal", {}};
}

std::variant<Message, Error> make_message(std::string_view raw_text) {
    if (!utf8::count_code_points(raw_text)) return make_error("bad_json");
    const std::string_view text = utf8::trim(raw_text);
    const std::size_t length = *utf8::count_code_points(text);
    if (length == 0) return make_error("empty");
    if (length > max_text_chars) return make_error("too_long");
    return Message{std::string(text)};
}

Checked message_object(std::string_view raw_text) {
    auto message = make_message(raw_text);
    if (auto* error = std::get_if<Error>(&message)) return std::move(*error);
    return ClientObject{std::get<Message>(std::move(message))};
}

Checked choice_object(std::string_view id, std::string_view asking) {
    if (id.empty()) return make_error("bad_choice");
    return ClientObject{Choice{std::string(id), std::string(asking)}};
}

namespace {

// A present field must be a string; an absent or null one is empty.
std::optional<std::string> string_field(const nlohmann::json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) return std::string();
    if (!it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace

std::variant<ClientObject, Error> parse_client_object(std::string_view json_text) {
    // The parser rejects invalid UTF-8 inside strings, so text is valid from here on.
    const nlohmann::json object = nlohmann::json::parse(json_text, nullptr, false);
    if (object.is_discarded() || !object.is_object()) return make_error("bad_json");
    const auto type = object.find("type");
    if (type == object.end() || !type->is_string()) return make_error("unknown_type");
    const std::string& kind = type->get_ref<const std::string&>();

    if (kind == "start") {
        const auto session = string_field(object, "session");
        const auto locale = string_field(object, "locale");
        if (!session || !locale) return make_error("bad_json");
        return ClientObject{Start{*session, *locale}};
    }
    if (kind == "message") {
        const auto text = string_field(object, "text");
        if (!text) return make_error("bad_json");
        return message_object(*text);
    }
    if (kind == "choice") {
        const auto id = string_field(object, "id");
        const auto asking = string_field(object, "asking");
        if (!id || !asking) return make_error("bad_json");
        return choice_object(*id, *asking);
    }
    return make_error("unknown_type");
}

std::string to_json(const Reply& reply, bool end_of_turn) {
    JsonWriter json(reply.text.size() + 256);
    json.open('{');
    json.key("type");
    json.string("reply");
    json.key("text");
    json.string(reply.text);
    json.key("quick_replies");
    write_json(json, reply.quick_replies);
    json.key("asking");
    json.string_or_null(reply.asking);
    if (!reply.covers.empty()) {
        json.key("covers");
        json.open('[');
        for (const auto& topic : reply.covers) json.string(topic);
        json.close(']');
    }
    json.key("state");
    json.string(reply.state);
    json.key("triage");
    write_json(json, reply.triage);
    if (reply.steps) {
        json.key("steps");
        json.open('[');
        for (const auto& step : *reply.steps) {
            json.open('{');
            json.key("id");
            json.string(step.id);
            json.key("title");
            json.string(step.title);
            json.key("text");
            json.string(step.text);
            json.key("hold_seconds");
            json.number(step.hold_seconds);
            json.key("repeat");
            json.number(step.repeat);
            json.close('}');
        }
        json.close(']');
    }
    json.key("end_of_turn");
    json.boolean(end_of_turn);
    json.close('}');
    return json.take();
}

std::string to_json(const Error& error, bool end_of_turn) {
    JsonWriter json(error.message.size() + 96);
    json.open('{');
    json.key("type");
    json.string("error");
    json.key("code");
    json.string(error.code);
    json.key("message");
    json.string(error.message);
    json.key("end_of_turn");
    json.boolean(end_of_turn);
    json.close('}');
    return json.take();
}

std::string session_json(std::string_view session_id, bool resumed, bool end_of_turn) {
    JsonWriter json(session_id.size() + 80);
    json.open('{');
    json.key("type");
    json.string("session");
    json.key("session");
    json.string(session_id);
    json.key("resumed");
    json.boolean(resumed);
    json.key("end_of_turn");
    json.boolean(end_of_turn);
    json.close('}');
    return json.take();
}

}  // namespace backtalk::protocol
