#include "bot/json_writer.hpp"

#include "bot/utf8.hpp"

#include <nlohmann/json.hpp>

namespace backtalk {

namespace {

bool valid_utf8(std::string_view text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) return utf8::count_code_points(text).has_value();
    }
    return true;
}

// As nlohmann escapes (ensure_ascii off): the quote, the backslash and the
// control characters, those with a short form in it; runs between escapes
// are appended whole.
void append_escaped(std::string& out, std::string_view text) {
    std::size_t unwritten = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
        out.append(text.data() + unwritten, i - unwritten);
        unwritten = i + 1;
        switch (byte) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: {
                static constexpr char hex[] = "0123456789abcdef";
                out += "\\u00";
                out += hex[byte >> 4];
                out += hex[byte & 0xf];
            }
        }
    }
    out.append(text.data() + unwritten, text.size() - unwritten);
}

}  // namespace

void JsonWriter::key(std::string_view name) {
    string(name);
    out_ += ':';
    first_ = true;  // the value that follows takes no comma
}

void JsonWriter::plain_key(std::string_view name) {
    separate();
    out_ += '"';
    out_ += name;
    out_ += "\":";
    first_ = true;  // the value that follows takes no comma
}

void JsonWriter::string(std::string_view text) {
    separate();
    if (valid_utf8(text)) {
        out_ += '"';
        append_escaped(out_, text);
        out_ += '"';
    } else {
        // Invalid UTF-8: nlohmann replaces it (U+FFFD), as it always did.
        out_ += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
}

void JsonWriter::string_or_null(std::string_view text) {
    if (text.empty()) return literal("null");
    string(text);
}

void JsonWriter::number(std::int64_t value) { literal(std::to_string(value)); }

void JsonWriter::decimal(double value) { literal(nlohmann::json(value).dump()); }

void JsonWriter::boolean(bool value) { literal(value ? "true" : "false"); }

void JsonWriter::literal(std::string_view text) {
    separate();
    out_ += text;
}

void JsonWriter::open(char bracket) {
    separate();
    out_ += bracket;
    first_ = true;
}

void JsonWriter::close(char bracket) {
    out_ += bracket;
    first_ = false;
}

void JsonWriter::strings(const std::vector<std::string>& values) {
    open('[');
    for (const auto& value : values) string(value);
    close(']');
}

void JsonWriter::separate() {
    if (!first_) out_ += ',';
    first_ = false;
}

std::string json_string_array(const std::vector<std::string>& values) {
    std::size_t size = 2;
    for (const auto& value : values) size += value.size() + 3;
    JsonWriter json(size);
    json.strings(values);
    return json.take();
}

}  // namespace backtalk
