#include "adapters/server/telegram_format.hpp"

#include "bot/overloaded.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <variant>

namespace backtalk::server::telegram {

namespace {

// ------------------------------------------------------------ styled text

struct Style {
    bool bold = false;
    bool italic = false;
    std::string href;  // a link when not empty
    bool operator==(const Style&) const = default;
};

// Text as code points, each with the style it is shown in. Built from
// markdown or literal text, then cut into chunks and rendered.
class StyledText {
public:
    struct Glyph {
        std::size_t offset;  // into bytes_
        std::size_t size;    // UTF-8 bytes
        std::size_t units;   // UTF-16 code units
        std::size_t style;   // into styles_
    };

    void append(std::string_view utf8, const Style& style) {
        const std::size_t style_index = intern(style);
        std::size_t at = 0;
        while (at < utf8.size()) {
            const auto [code_point, size] = decode(utf8.substr(at));
            const std::size_t offset = bytes_.size();
            if (code_point == replacement) {
                bytes_ += "\xEF\xBF\xBD";
            } else {
                bytes_.append(utf8.substr(at, size));
            }
            glyphs_.push_back({offset, bytes_.size() - offset, code_point >= 0x10000 ? 2u : 1u, style_index});
            at += size;
        }
    }

    bool empty() const { return glyphs_.empty(); }
    const std::vector<Glyph>& glyphs() const { return glyphs_; }
    std::string_view text(const Glyph& glyph) const { return std::string_view(bytes_).substr(glyph.offset, glyph.size); }
    const Style& style(const Glyph& glyph) const { return styles_[glyph.style]; }

    bool is_space(std::size_t index) const {
        const auto c = text(glyphs_[index]);
        return c == " " || c == "\n" || c == "\t" || c == "\r";
    }
    bool is_newline(std::size_t index) const { return text(glyphs_[index]) == "\n"; }

private:
    static constexpr std::uint32_t replacement = 0xFFFD;

    // The code point at the start of `bytes` and its length; an invalid or
    // truncated sequence is one byte of U+FFFD.
    static std::pair<std::uint32_t, std::size_t> decode(std::string_view bytes) {
        const auto lead = static_cast<unsigned char>(bytes[0]);
        if (lead < 0x80) return {lead, 1};
        std::size_t size = 0;
        std::uint32_t code_point = 0;
        std::uint32_t minimum = 0;
        if ((lead & 0xE0) == 0xC0) {
            size = 2, code_point = lead & 0x1F, minimum = 0x80;
        } else if ((lead & 0xF0) == 0xE0) {
            size = 3, code_point = lead & 0x0F, minimum = 0x800;
        } else if ((lead & 0xF8) == 0xF0) {
            size = 4, code_point = lead & 0x07, minimum = 0x10000;
        } else {
            return {replacement, 1};
        }
        if (bytes.size() < size) return {replacement, 1};
        for (std::size_t i = 1; i < size; ++i) {
            const auto next = static_cast<unsigned char>(bytes[i]);
            if ((next & 0xC0) != 0x80) return {replacement, 1};
            code_point = (code_point << 6) | (next & 0x3F);
        }
        const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
        if (code_point < minimum || code_point > 0x10FFFF || surrogate) return {replacement, 1};
        return {code_point, size};
    }

    std::size_t intern(const Style& style) {
        for (std::size_t i = 0; i < styles_.size(); ++i) {
            if (styles_[i] == style) return i;
        }
        styles_.push_back(style);
        return styles_.size() - 1;
    }

    std::string bytes_;
    std::vector<Glyph> glyphs_;
    std::vector<Style> styles_;
};

// ------------------------------------------------------------ markdown

// As the widget: bold may hold italic (two levels), labels stay plain.
constexpr int max_inline_depth = 2;

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

bool is_web_address(std::string_view target) {
    const auto starts_with = [&](std::string_view prefix) {
        if (target.size() <= prefix.size()) return false;
        for (std::size_t i = 0; i < prefix.size(); ++i) {
            if (std::tolower(static_cast<unsigned char>(target[i])) != prefix[i]) return false;
        }
        return true;
    };
    return starts_with("https://") || starts_with("http://");
}

void append_inline(StyledText& out, std::string_view line, const Style& style, int depth) {
    std::string plain;
    const auto flush = [&] {
        out.append(plain, style);
        plain.clear();
    };
    std::size_t at = 0;
    while (at < line.size()) {
        if (line.compare(at, 2, "**") == 0) {
            const auto close = line.find("**", at + 3);
            if (close != std::string_view::npos) {
                flush();
                Style bold = style;
                bold.bold = true;
                const auto inner = line.substr(at + 2, close - at - 2);
                if (depth < max_inline_depth) {
                    append_inline(out, inner, bold, depth + 1);
                } else {
                    out.append(inner, bold);
                }
                at = close + 2;
                continue;
            }
        }
        if (line[at] == '*') {
            const auto close = line.find('*', at + 1);
            if (close != std::string_view::npos && close > at + 1 && !is_ascii_space(line[at + 1]) &&
                !is_ascii_space(line[close - 1])) {
                flush();
                Style italic = style;
                italic.italic = true;
                const auto inner = line.substr(at + 1, close - at - 1);
                if (depth < max_inline_depth) {
                    append_inline(out, inner, italic, depth + 1);
                } else {
                    out.append(inner, italic);
                }
                at = close + 1;
                continue;
            }
        }
        if (line[at] == '[') {
            const auto label_end = line.find(']', at + 1);
            if (label_end != std::string_view::npos && label_end > at + 1 && label_end + 1 < line.size() &&
                line[label_end + 1] == '(') {
                const auto target_end = line.find(')', label_end + 2);
                const auto label = line.substr(at + 1, label_end - at - 1);
                const auto target = target_end == std::string_view::npos
                                        ? std::string_view()
                                        : line.substr(label_end + 2, target_end - label_end - 2);
                bool target_ok = !target.empty();
                for (const char c : target) target_ok = target_ok && !is_ascii_space(c);
                if (target_ok) {
                    flush();
                    if (is_web_address(target)) {
                        Style link = style;
                        link.href = std::string(target);
                        out.append(label, link);
                    } else {
                        // Only web links become links; anything else stays visible.
                        out.append(std::string(label) + " (" + std::string(target) + ")", style);
                    }
                    at = target_end + 1;
                    continue;
                }
            }
        }
        plain += line[at];
        ++at;
    }
    flush();
}

// "- item", "* item" and "• item" become "• item"; "3. item" and "3) item"
// become "3. item". Returns the rest of the line after the marker.
std::string_view list_marker(std::string_view line, std::string& marker) {
    std::size_t at = 0;
    while (at < line.size() && is_ascii_space(line[at])) ++at;
    std::size_t after = std::string_view::npos;
    if (line.compare(at, 3, "\xE2\x80\xA2") == 0) {
        after = at + 3;
        marker = "\xE2\x80\xA2 ";
    } else if (at < line.size() && (line[at] == '-' || line[at] == '*')) {
        after = at + 1;
        marker = "\xE2\x80\xA2 ";
    } else {
        std::size_t digits = at;
        while (digits < line.size() && digits - at < 4 && line[digits] >= '0' && line[digits] <= '9') ++digits;
        if (digits > at && digits - at <= 3 && digits < line.size() && (line[digits] == '.' || line[digits] == ')')) {
            after = digits + 1;
            marker = std::string(line.substr(at, digits - at)) + ". ";
        }
    }
    if (after == std::string_view::npos || after >= line.size() || !is_ascii_space(line[after])) {
        marker.clear();
        return line;
    }
    while (after < line.size() && is_ascii_space(line[after])) ++after;
    return line.substr(after);
}

void append_markdown(StyledText& out, std::string_view markdown) {
    std::size_t start = 0;
    bool first = true;
    while (start <= markdown.size()) {
        auto end = markdown.find('\n', start);
        if (end == std::string_view::npos) end = markdown.size();
        auto line = markdown.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!first) out.append("\n", Style{});
        first = false;
        std::string marker;
        const auto rest = list_marker(line, marker);
        out.append(marker, Style{});
        append_inline(out, rest, Style{}, 0);
        start = end + 1;
    }
}

// ------------------------------------------------------------ chunks

void escape_html(std::string& out, std::string_view text, bool attribute) {
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"':
                if (attribute) {
                    out += "&quot;";
                    break;
                }
                [[fallthrough]];
            default: out += c;
        }
    }
}

TextChunk render_chunk(const StyledText& text, std::size_t begin, std::size_t end) {
    TextChunk chunk;
    const auto& glyphs = text.glyphs();
    std::size_t run = begin;
    while (run < end) {
        const Style& style = text.style(glyphs[run]);
        std::size_t run_end = run;
        std::string content;
        while (run_end < end && text.style(glyphs[run_end]) == style) content += text.text(glyphs[run_end++]);
        if (style.bold) chunk.html += "<b>";
        if (style.italic) chunk.html += "<i>";
        if (!style.href.empty()) {
            chunk.html += "<a href=\"";
            escape_html(chunk.html, style.href, true);
            chunk.html += "\">";
        }
        escape_html(chunk.html, content, false);
        if (!style.href.empty()) chunk.html += "</a>";
        if (style.italic) chunk.html += "</i>";
        if (style.bold) chunk.html += "</b>";
        chunk.plain += content;
        if (!style.href.empty() && style.href != content) chunk.plain += " (" + style.href + ")";
        run = run_end;
    }
    return chunk;
}

// Where to end a chunk that starts at `begin` when `overflow` is the first
// glyph that does not fit: the last paragraph break, else line break, else
// space in its second half, else right before the overflow.
std::size_t break_point(const StyledText& text, std::size_t begin, std::size_t overflow) {
    const std::size_t half = begin + (overflow - begin) / 2;
    const auto last_of = [&](auto&& matches) -> std::size_t {
        for (std::size_t at = overflow; at > half; --at) {
            if (matches(at)) return at;
        }
        return 0;
    };
    if (auto at = last_of([&](std::size_t i) { return text.is_newline(i) && text.is_newline(i - 1); })) return at - 1;
    if (auto at = last_of([&](std::size_t i) { return text.is_newline(i); })) return at;
    if (auto at = last_of([&](std::size_t i) { return text.is_space(i); })) return at;
    return overflow;
}

std::vector<TextChunk> chunk_text(const StyledText& text, std::size_t max_units) {
    std::vector<TextChunk> chunks;
    const auto& glyphs = text.glyphs();
    std::size_t begin = 0;
    while (begin < glyphs.size()) {
        while (begin < glyphs.size() && text.is_space(begin)) ++begin;
        if (begin == glyphs.size()) break;
        std::size_t end = begin;
        std::size_t units = 0;
        while (end < glyphs.size() && units + glyphs[end].units <= max_units) units += glyphs[end++].units;
        if (end < glyphs.size()) end = std::max(break_point(text, begin, end), begin + 1);
        std::size_t visible_end = end;
        while (visible_end > begin && text.is_space(visible_end - 1)) --visible_end;
        chunks.push_back(render_chunk(text, begin, visible_end));
        begin = end;
    }
    return chunks;
}

}  // namespace

std::vector<TextChunk> format_markdown(std::string_view markdown, std::size_t max_units) {
    StyledText text;
    append_markdown(text, markdown);
    return chunk_text(text, max_units);
}

std::vector<TextChunk> format_literal(std::string_view literal, std::size_t max_units) {
    StyledText text;
    text.append(literal, Style{});
    return chunk_text(text, max_units);
}

std::size_t utf16_length(std::string_view utf8) {
    StyledText text;
    text.append(utf8, Style{});
    std::size_t units = 0;
    for (const auto& glyph : text.glyphs()) units += glyph.units;
    return units;
}

RenderedTurn render_turn(const std::vector<OutObject>& objects, std::size_t max_units) {
    RenderedTurn turn;
    StyledText pending;
    const auto separate = [&] {
        if (!pending.empty()) pending.append("\n\n", Style{});
    };
    const auto finish_message = [&](const std::vector<QuickReply>& quick_replies, const std::string& asking) {
        std::vector<QuickReply> buttons;
        for (const auto& quick_reply : quick_replies) {
            if (quick_reply.id.empty() || quick_reply.id.size() > max_callback_data_bytes) {
                ++turn.dropped_buttons;
            } else {
                buttons.push_back(quick_reply);
            }
        }
        for (auto& chunk : chunk_text(pending, max_units)) turn.messages.push_back({std::move(chunk), {}});
        pending = StyledText{};
        if (turn.messages.empty()) {
            turn.dropped_buttons += buttons.size();  // nothing to attach them to
        } else if (!buttons.empty()) {
            turn.messages.back().buttons = std::move(buttons);
            turn.messages.back().asking = asking;
        }
    };
    for (const auto& object : objects) {
        std::visit(Overloaded{
                       [](const SessionOpened&) {},
                       [&](const Reply& reply) {
                           separate();
                           append_markdown(pending, reply.text);
                           if (!reply.quick_replies.empty()) finish_message(reply.quick_replies, reply.asking);
                       },
                       [&](const protocol::Error& error) {
                           separate();
                           pending.append(error.message, Style{});
                       },
                   },
                   object);
    }
    if (!pending.empty()) finish_message({}, {});
    return turn;
}

std::string callback_data(const QuickReply& button, const std::string& asking) {
    if (asking.empty() || button.id.size() + 1 + asking.size() > max_callback_data_bytes) return button.id;
    return button.id + '|' + asking;
}

protocol::Choice choice_for_callback(std::string_view data) {
    const auto bar = data.find('|');
    protocol::Choice choice{std::string(data.substr(0, bar))};
    if (bar != std::string_view::npos) choice.asking = std::string(data.substr(bar + 1));
    return choice;
}

nlohmann::json inline_keyboard(const std::vector<QuickReply>& buttons, const std::string& asking) {
    // Short answers (Yes / No / Not sure) read best side by side.
    std::size_t title_units = 0;
    for (const auto& button : buttons) title_units += utf16_length(button.title);
    const bool one_row = buttons.size() <= 4 && title_units <= 30;
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& button : buttons) {
        nlohmann::json key{{"text", button.title.empty() ? button.id : button.title},
                           {"callback_data", callback_data(button, asking)}};
        if (one_row) {
            if (rows.empty()) rows.push_back(nlohmann::json::array());
            rows.back().push_back(std::move(key));
        } else {
            rows.push_back(nlohmann::json::array({std::move(key)}));
        }
    }
    return rows;
}

nlohmann::json picked_markup_params(std::int64_t chat_id, std::int64_t message_id, const QuickReply& picked) {
    const std::string label = "\u2713 " + (picked.title.empty() ? picked.id : picked.title);
    nlohmann::json button{{"text", label}, {"callback_data", std::string(picked_callback_data)}};
    return {{"chat_id", chat_id},
            {"message_id", message_id},
            {"reply_markup", {{"inline_keyboard", nlohmann::json::array({nlohmann::json::array({button})})}}}};
}

nlohmann::json send_message_params(std::int64_t chat_id, const OutgoingMessage& message, bool plain) {
    nlohmann::json params{{"chat_id", chat_id},
                          {"text", plain ? message.text.plain : message.text.html},
                          {"link_preview_options", {{"is_disabled", true}}}};
    if (!plain) params["parse_mode"] = "HTML";
    if (!message.buttons.empty()) params["reply_markup"] = {{"inline_keyboard", inline_keyboard(message.buttons, message.asking)}};
    return params;
}

}  // namespace backtalk::server::telegram
