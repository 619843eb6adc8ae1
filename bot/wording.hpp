// Small text helpers the replies share.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backtalk {

// Replaces every {key} of the text by its value.
std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values);
// Lower-case letters and digits only, for comparing typed text to a button title.
std::string comparable(std::string_view text);
// A number as people write it: "52", "37.5".
std::string format_number(double value);

}  // namespace backtalk
