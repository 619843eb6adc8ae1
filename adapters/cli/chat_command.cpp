// `backtalk chat`: the conversation in a terminal. With --json it speaks
// PROTOCOL.md, one object per line, for scripts and other programs; without,
// it is readable text for a person, quick replies shown as numbers.
#include "adapters/cli/commands.hpp"

#include "adapters/core/conversations.hpp"
#include "adapters/core/wording.hpp"
#include "store/store.hpp"

#include <cctype>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

namespace backtalk::cli {

namespace {

// A line longer than this is not read into memory; it is answered with
// too_long and skipped (a message is at most 2,000 characters anyway).
constexpr std::size_t max_line_bytes = 64 * 1024;

enum class LineRead { ok, too_long, end };

LineRead read_bounded_line(std::istream& in, std::string& line) {
    line.clear();
    char c = 0;
    bool any = false;
    bool overflow = false;
    while (in.get(c)) {
        any = true;
        if (c == '\n') break;
        if (line.size() < max_line_bytes) {
            line.push_back(c);
        } else {
            overflow = true;
        }
    }
    if (!any) return LineRead::end;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return overflow ? LineRead::too_long : LineRead::ok;
}

std::int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Bold markers are for the widget; a terminal shows plain text.
std::string plain_text(std::string text) {
    for (std::size_t at = text.find("**"); at != std::string::npos; at = text.find("**", at)) text.erase(at, 2);
    return text;
}

class HumanView {
public:
    explicit HumanView(const ConversationService& service) : service_(service) {}

    // Prints a turn; remembers the quick replies so "2" picks the second.
    void show(const std::vector<OutObject>& objects) {
        for (const auto& object : objects) {
            if (const auto* reply = std::get_if<Reply>(&object)) {
                show_reply(*reply);
            } else if (const auto* error = std::get_if<protocol::Error>(&object)) {
                std::cout << "(" << error->message << ")\n";
            }
        }
        std::cout << std::flush;
    }

    // A number typed for a numbered option becomes that choice.
    protocol::Checked client_object(const std::string& typed) const {
        const std::string id = choice_for(typed);
        return id.empty() ? protocol::message_object(typed) : protocol::choice_object(id);
    }

private:
    const ConversationService& service_;
    std::vector<QuickReply> options_;

    std::string choice_for(const std::string& typed) const {
        if (typed.empty() || typed.size() > 2) return {};
        for (char c : typed) {
            if (c < '0' || c > '9') return {};
        }
        const std::size_t n = std::stoul(typed);
        return n >= 1 && n <= options_.size() ? options_[n - 1].id : std::string();
    }

    void show_reply(const Reply& reply) {
        if (reply.triage) {
            // The level's title in the rules, as the widget's banner shows it.
            std::string banner = level_title(service_.engine()->rules(), reply.triage->level);
            for (char& c : banner) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            std::cout << "\n=== " << banner << " ===\n";
        }
        std::cout << "\nbacktalk: " << plain_text(reply.text) << '\n';
        options_ = reply.quick_replies;
        for (std::size_t i = 0; i < options_.size(); ++i) std::cout << "  " << i + 1 << ") " << options_[i].title << '\n';
    }
};

void run_chat(const CommonOptions& options, bool json) {
    store::Store store(log_store_options(options));
    ConversationService service(engine_from_rules(options), &store, ConversationOptions{}, wall_clock_ms, random_session_id);
    const ChannelInfo channel{"terminal", ""};
    std::string session;
    std::string line;

    if (json) {
        for (LineRead read; (read = read_bounded_line(std::cin, line)) != LineRead::end;) {
            const auto objects = read == LineRead::too_long
                                     ? std::vector<OutObject>{service.error("too_long")}
                                     : service.handle_json(session, line, channel);
            for (const auto& text : to_json_objects(objects)) std::cout << text << '\n';
            std::cout << std::flush;
        }
        return;
    }

    HumanView view(service);
    view.show(service.handle(session, protocol::Start{}, channel));
    while (true) {
        std::cout << "\nyou> " << std::flush;
        const LineRead read = read_bounded_line(std::cin, line);
        if (read == LineRead::end) break;
        if (read == LineRead::too_long) {
            view.show({service.error("too_long")});
            continue;
        }
        view.show(service.handle_checked(session, view.client_object(line), channel, line));
    }
    std::cout << '\n';
}

}  // namespace

void add_chat_command(CLI::App& app) {
    auto options = std::make_shared<CommonOptions>();
    auto json = std::make_shared<bool>(false);
    CLI::App* chat = app.add_subcommand("chat", "Chat in the terminal (--json: PROTOCOL.md, one object per line)");
    chat->add_flag("--json", *json, "Speak the JSON protocol on stdin and stdout");
    add_common_options(*chat, *options);
    add_redaction_option(*chat, *options);
    chat->callback([options, json] { run_chat(*options, *json); });
}

}  // namespace backtalk::cli
