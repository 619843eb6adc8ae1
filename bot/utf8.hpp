// Small UTF-8 helpers shared by the protocol layer and the normaliser.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace backtalk::utf8 {

// Number of code points, or nullopt if the bytes are not valid UTF-8
// (overlong forms, surrogates and values above U+10FFFF are invalid).
std::optional<std::size_t> count_code_points(std::string_view text);

// Removes leading and trailing whitespace (ASCII and U+00A0, U+3000).
std::string_view trim(std::string_view text);

}  // namespace backtalk::utf8
