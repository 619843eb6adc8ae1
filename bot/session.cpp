#include "bot/session.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace backtalk {

nlohmann::json to_json(const Session& s) {
    // Built in place, member by member: a braced initializer list would copy
    // every nested value (slots, asked, offered) once more. The keys come out
    // sorted either way, so the snapshot text is the same.
    nlohmann::json out = nlohmann::json::object();
    out["version"] = 1;
    out["state"] = s.state;
    out["asking"] = s.asking;
    out["attempts"] = s.attempts;
    auto& slots = out["slots"] = nlohmann::json::object();
    for (const auto& slot : s.slots) {
        std::visit([&](const auto& v) { slots[slot.first] = v; }, slot.second);
    }
    out["asked"] = s.asked;
    auto& triage = out["triage"];
    if (s.triage) {
        triage["level"] = to_string(s.triage->level);
        triage["reasons"] = s.triage->reasons;
    }
    out["step_index"] = s.step_index;
    auto& offered = out["offered"] = nlohmann::json::array();
    for (const auto& q : s.offered) {
        auto& reply = offered.emplace_back(nlohmann::json::object());
        reply["id"] = q.id;
        reply["title"] = q.title;
    }
    out["turns"] = s.turns;
    out["started_ms"] = s.started_ms;
    out["last_active_ms"] = s.last_active_ms;
    out["rules_version"] = s.rules_version;
    out["locale"] = s.locale;
    return out;
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
        for (const auto& [name, value] : j.at("slots").items()) {
            if (value.is_string()) {
                s.slots[name] = value.get<std::string>();
            } else if (value.is_number()) {
                s.slots[name] = value.get<double>();
            } else {
                throw std::runtime_error("slot " + name + " is neither text nor a number");
            }
        }
        s.asked = j.at("asked").get<std::vector<std::string>>();
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
