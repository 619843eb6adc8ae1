#include "store/turn_row.hpp"

#include "bot/json_writer.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace backtalk::store::detail {

namespace {

void text_field(JsonWriter& json, std::string_view name, std::string_view value) {
    if (value.empty()) return;
    json.key(name);
    json.string(value);
}

void json_field(JsonWriter& json, std::string_view name, const std::string& value) {
    if (value.empty()) return;
    json.key(name);
    json.literal(value);
}

void override_text(JsonWriter& json, std::string_view name, std::string_view value, std::string_view head) {
    if (value == head) return;
    json.key(name);
    json.string_or_null(value);
}

void write_object(JsonWriter& json, const LoggedObject& object, const TurnRow& head) {
    json.open('{');
    json.key("kind");
    json.string(object.kind);
    json.key("text");
    json.string(object.text);
    text_field(json, "code", object.code);
    json_field(json, "intents", object.intents);
    if (object.confidence) {
        json.key("confidence");
        json.decimal(*object.confidence);
    }
    if (object.understood) {
        json.key("understood");
        json.boolean(*object.understood);
    }
    text_field(json, "state", object.state);
    text_field(json, "asking", object.asking);
    text_field(json, "level", object.level);
    json_field(json, "reasons", object.reasons);
    json_field(json, "basis", object.basis);
    if (object.time_ms != head.time_ms) {
        json.key("time");
        json.number(object.time_ms);
    }
    override_text(json, "rules_version", object.rules_version, head.rules_version);
    override_text(json, "channel", object.channel, head.channel);
    if (object.processing_us != head.processing_us) {
        json.key("processing_us");
        if (object.processing_us) json.number(*object.processing_us);
        else json.literal("null");
    }
    json.close('}');
}

std::string basis_json(const std::vector<RuleBasis>& basis) {
    nlohmann::json rules = nlohmann::json::array();
    for (const RuleBasis& rule : basis) {
        nlohmann::json facts = nlohmann::json::array();
        for (const auto& fact : rule.facts) facts.push_back({{"slot", fact.slot}, {"value", fact.value}, {"turn", fact.turn}});
        rules.push_back({{"rule", rule.rule}, {"level", backtalk::to_string(rule.level)}, {"facts", std::move(facts)}});
    }
    return rules.dump();
}

}  // namespace

LoggedObject logged_object(const MessageRecord& record) {
    LoggedObject object;
    object.time_ms = record.time_ms;
    object.inbound = record.direction == Direction::in;
    object.kind = record.kind;
    object.text = record.text;
    object.code = record.code;
    if (object.inbound) {
        object.intents = json_string_array(record.intents);
        object.confidence = record.confidence;
        object.understood = record.understood;
    }
    object.state = record.state;
    object.asking = record.asking;
    if (record.triage) {
        object.level = backtalk::to_string(record.triage->level);
        object.reasons = json_string_array(record.triage->reasons);
    }
    if (!record.basis.empty()) object.basis = basis_json(record.basis);
    object.rules_version = record.rules_version;
    object.channel = record.channel;
    object.processing_us = record.processing_us;
    object.session_version = record.session_version;
    return object;
}

bool joins_turn_row(const std::vector<LoggedObject>& row, std::string_view row_conversation,
                    std::string_view conversation, const LoggedObject& object) {
    return !row.empty() && !object.inbound && conversation == row_conversation;
}

TurnRow turn_row(const std::vector<LoggedObject>& objects) {
    if (objects.empty()) throw std::logic_error("a turn row without objects");
    const LoggedObject& first = objects.front();
    TurnRow row;
    row.time_ms = first.time_ms;
    row.objects = static_cast<std::int64_t>(objects.size());
    row.rules_version = first.rules_version;
    row.channel = first.channel;
    row.processing_us = first.processing_us;
    row.session_version = first.session_version;
    JsonWriter replies(256 * objects.size());
    replies.open('[');
    for (const LoggedObject& object : objects) {
        if (object.inbound) {
            if (&object != &first) throw std::logic_error("a person's object inside a turn row");
            JsonWriter json(256);
            write_object(json, object, row);
            row.person = json.take();
        } else {
            write_object(replies, object, row);
        }
    }
    replies.close(']');
    row.replies = replies.take();
    return row;
}

}  // namespace backtalk::store::detail
