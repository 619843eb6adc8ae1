#include "bot/session.hpp"

#include "bot/json_writer.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace backtalk {

namespace {

void write_slots(JsonWriter& json, const Slots& slots) {
    json.open('{');
    for (const auto& [name, value] : slots) {
        json.key(name);
        if (const auto* text = std::get_if<std::string>(&value)) {
            json.string(*text);
        } else {
            json.decimal(std::get<double>(value));
        }
    }
    json.close('}');
}

Slots read_slots(const nlohmann::json& object) {
    Slots slots;
    for (const auto& [name, value] : object.items()) {
        if (value.is_string()) {
            slots[name] = value.get<std::string>();
        } else if (value.is_number()) {
            slots[name] = value.get<double>();
        } else {
            throw std::runtime_error("slot " + name + " is neither text nor a number");
        }
    }
    return slots;
}

}  // namespace

std::string session_snapshot(const Session& s) {
    // Keys in nlohmann's (sorted) order, so the text is what dumping a
    // nlohmann object of the same fields gives (tests/unit compares them).
    JsonWriter json(512);
    json.open('{');
    json.key("asked");
    json.strings(s.asked);
    json.key("asking");
    json.string(s.asking);
    json.key("attempts");
    json.number(s.attempts);
    json.key("followed_up");
    json.strings(s.followed_up);

    json.key("last_active_ms");
    json.number(s.last_active_ms);
    json.key("locale");
    json.string(s.locale);
    json.key("non_answers");
    json.number(s.non_answers);
    json.key("offered");
    write_json(json, s.offered);
    json.key("one_at_a_time");
    json.open('[');
    for (const auto& g : s.one_at_a_time) json.string(g);
    json.close(']');
    json.key("pending_correction");
    write_slots(json, s.pending_correction);
    json.key("picking");
    json.string(s.picking);
    json.key("rules_version");
    json.string(s.rules_version);
    json.key("slot_turns");
    json.open('{');
    for (const auto& [name, turn] : s.slot_turns) {
        json.key(name);
        json.number(turn);
    }
    json.close('}');
    json.key("slots");
    write_slots(json, s.slots);
    json.key("started_ms");
    json.number(s.started_ms);
    json.key("state");
    json.string(s.state);
    json.key("step_index");
    json.number(s.step_index);
    json.key("triage");
    write_json(json, s.triage);
    json.key("turns");
    json.number(s.turns);
    json.key("version");
    json.number(1);
    json.close('}');
    return json.take();
}

Session session_from_json(const nlohmann::json& j) {
    try {
        if (!j.is_object() || j.value("version", 0) != 1) {
            throw std::runtime_error("unsupported snapshot version");
        }
        Session s;
        s.state = j.at("state").get<std::string>();
        s.asking = j.at("asking").get<std::string>();
        s.attempts = j.at("attempts").get<int>();
        s.non_answers = j.value("non_answers", 0);
        s.slots = read_slots(j.at("slots"));
        if (const auto it = j.find("pending_correction"); it != j.end()) s.pending_correction = read_slots(*it);
        s.asked = j.at("asked").get<std::vector<std::string>>();
        if (const auto it = j.find("one_at_a_time"); it != j.end()) s.one_at_a_time = it->get<std::vector<std::string>>();
        if (const auto it = j.find("followed_up"); it != j.end()) s.followed_up = it->get<std::vector<std::string>>();
        s.picking = j.value("picking", std::string());
        if (const auto it = j.find("slot_turns"); it != j.end()) s.slot_turns = it->get<std::map<std::string, int>>();
        if (const auto& t = j.at("triage"); !t.is_null()) {
            const auto level = level_from_string(t.at("level").get<std::string>());
            if (!level) throw std::runtime_error("unknown triage level");
            s.triage = Triage{*level, t.at("reasons").get<std::vector<std::string>>()};
        }
        s.step_index = j.at("step_index").get<int>();
        for (const auto& q : j.at("offered")) {
            s.offered.push_back({q.at("id").get<std::string>(), q.at("title").get<std::string>()});
        }
        s.turns = j.at("turns").get<int>();
        s.started_ms = j.at("started_ms").get<std::int64_t>();
        s.last_active_ms = j.at("last_active_ms").get<std::int64_t>();
        s.rules_version = j.at("rules_version").get<std::string>();
        s.locale = j.at("locale").get<std::string>();
        return s;
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(std::string("bad session snapshot: ") + e.what());
    }
}

}  // namespace backtalk
