#include "bot/utf8.hpp"

#include <cstdint>

namespace backtalk::utf8 {

std::optional<std::size_t> count_code_points(std::string_view text) {
    std::size_t count = 0;
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
    while (i < text.size()) {
        const std::uint8_t lead = byte(i);
        std::size_t length = 0;
        std::uint32_t code = 0;
        if (lead < 0x80) {
            length = 1;
            code = lead;
        } else if ((lead & 0xE0) == 0xC0) {
            length = 2;
            code = lead & 0x1Fu;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3;
            code = lead & 0x0Fu;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4;
            code = lead & 0x07u;
        } else {
            return std::nullopt;
        }
        if (i + length > text.size()) return std::nullopt;
        for (std::size_t k = 1; k < length; ++k) {
            if ((byte(i + k) & 0xC0) != 0x80) return std::nullopt;
            code = (code << 6) | (byte(i + k) & 0x3Fu);
        }
        constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
            return std::nullopt;
        }
        i += length;
        ++count;
    }
    return count;
}

namespace {
// Length of a whitespace sequence starting at `at` (0 if none).
std::size_t space_at(std::string_view text, std::size_t at) {
    const char c = text[at];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') return 1;
    if (text.substr(at, 2) == "\xC2\xA0") return 2;
    if (text.substr(at, 3) == "\xE3\x80\x80") return 3;
    return 0;
}
std::size_t space_ending_at(std::string_view text, std::size_t end) {
    const char c = text[end - 1];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') return 1;
    if (end >= 2 && text.substr(end - 2, 2) == "\xC2\xA0") return 2;
    if (end >= 3 && text.substr(end - 3, 3) == "\xE3\x80\x80") return 3;
    return 0;
}
}  // namespace

std::string_view trim(std::string_view text) {
    std::size_t begin = 0;
    while (begin < text.size()) {
        const std::size_t n = space_at(text, begin);
        if (n == 0) break;
        begin += n;
    }
    std::size_t end = text.size();
    while (end > begin) {
        const std::size_t n = space_ending_at(text, end);
        if (n == 0) break;
        end -= n;
    }
    return text.substr(begin, end - begin);
}

}  // namespace backtalk::utf8
