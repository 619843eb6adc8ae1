#include "bot/reply.hpp"

#include <array>

namespace backtalk {

namespace {
constexpr std::array<std::string_view, 4> level_names{"self_care", "gp_soon", "urgent", "emergency"};
}

std::string_view to_string(Level level) { return level_names.at(static_cast<std::size_t>(level)); }

std::optional<Level> level_from_string(std::string_view text) {
    for (std::size_t i = 0; i < level_names.size(); ++i) {
        if (level_names[i] == text) return static_cast<Level>(i);
    }
    return std::nullopt;
}

}  // namespace backtalk
