#include "bot/json_writer.hpp"

#include "bot/utf8.hpp"

#include <nlohmann/json.hpp>

namespace backtalk {

namespace {

// Valid UTF-8 with no byte that JSON escapes (control characters, the
// quote, the backslash) goes in as it is.
bool plain(std::string_view text) {
    bool ascii = true;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || c == '"' || c == '\\') return false;
        ascii = ascii && byte < 0x80;
    }
    return ascii || utf8::count_code_points(text).has_value();
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
    if (plain(text)) {
        out_ += '"';
        out_ += text;
        out_ += '"';
    } else {
        // Escapes and invalid UTF-8: let nlohmann write it, exactly as before.
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
