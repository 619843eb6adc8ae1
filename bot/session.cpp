#include "bot/session.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace backtalk {

nlohmann::json to_json(const Session& s) {
    nlohmann::json slots = nlohmann::json::object();
    for (const auto& slot : s.slots) {
        std::visit([&](const auto& v) { slots[slot.first] = v; }, slot.second);
    }
    nlohmann::json offered = nlohmann::json::array();
    for (const auto& q : s.offered) offered.push_back({{"id", q.id}, {"title", q.title}});
    nlohmann::json triage = nullptr;
    if (s.triage) triage = {{"level", to_string(s.triage->level)}, {"reasons", s.triage->reasons}};
    return {{"version", 1},          {"state", s.state},
            {"asking", s.asking},    {"attempts", s.attempts},
            {"slots", slots},        {"asked", s.asked},
            {"triage", triage},      {"step_index", s.step_index},
            {"offered", offered},    {"turns", s.turns},
            {"started_ms", s.started_ms}, {"last_active_ms", s.last_active_ms},
            {"rules_version", s.rules_version}, {"locale", s.locale}};
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
