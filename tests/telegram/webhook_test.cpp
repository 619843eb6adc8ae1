// The Telegram webhook of a real `backtalk serve`, driven the way Telegram
// drives it: updates in the Bot API's shapes (our own values) posted with
// the secret header, a stub Bot API recording the calls the server makes,
// the conversation log read back from the database, and the same
// conversation held over `backtalk chat --json` for comparison.
#include "adapters/core/wording.hpp"
#include "adapters/server/telegram_format.hpp"
#include "bot/protocol.hpp"
#include "bot/rules.hpp"
#include "bot/ruleset.hpp"
#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"
#include "tests/telegram/bot_api_stub.hpp"
#include "tests/telegram/channel_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <optional>
#include <string>

using namespace backtalk;
using backtalk::test::BotApiCallRecord;
using backtalk::test::BotApiStub;
using backtalk::test::ChatProcess;
using backtalk::test::HttpReply;
using backtalk::test::json;
using backtalk::test::ServerProcess;
using backtalk::test::TempDir;

namespace {

const RuleSet& english_rules() {
    static const RuleLoad load = load_rules(std::filesystem::path(BACKTALK_SOURCE_DIR) / "rules" / "en");
    REQUIRE(load.errors.empty());
    return *load.rules;
}

// An error as rules/en words it, as the server sends it.
protocol::Error english_error(std::string_view code) { return worded_error(english_rules(), code); }

// What the adapter says without a turn, as rules/en words it (plain text,
// so Telegram's HTML of it is the same but for escaped characters).
std::string english_text(const std::string& key) { return english_rules().text(key); }

constexpr const char* webhook_secret = "s3cret_Webhook-token42";
constexpr const char* bot_token = "7000000001:AAtest_TOKEN-value";
constexpr std::int64_t ana = 5123456789012;  // wider than 32 bits, as Telegram's ids are
constexpr std::int64_t ben = 6987654321098;

// ------------------------------------------------------------ fixtures

json user(std::int64_t id) {
    return {{"id", id}, {"is_bot", false}, {"first_name", "Ana"}, {"language_code", "en"}};
}

json private_chat(std::int64_t id) {
    return {{"id", id}, {"type", "private"}, {"first_name", "Ana"}};
}

json message(std::int64_t chat_id, const std::string& text) {
    json body{{"message_id", 100}, {"from", user(chat_id)}, {"chat", private_chat(chat_id)}, {"date", 1767225600},
              {"text", text}};
    if (!text.empty() && text[0] == '/') {
        const auto length = text.find(' ') == std::string::npos ? text.size() : text.find(' ');
        body["entities"] = json::array({{{"offset", 0}, {"length", length}, {"type", "bot_command"}}});
    }
    return body;
}

json text_update(std::int64_t update_id, std::int64_t chat_id, const std::string& text) {
    return {{"update_id", update_id}, {"message", message(chat_id, text)}};
}

json callback_update(std::int64_t update_id, std::int64_t chat_id, const std::string& data) {
    json shown = message(chat_id, "the question with the buttons");
    shown["from"] = {{"id", 7000000001}, {"is_bot", true}, {"first_name", "backtalk"}};
    return {{"update_id", update_id},
            {"callback_query",
             {{"id", "cbq-" + std::to_string(update_id)},
              {"from", user(chat_id)},
              {"message", shown},
              {"chat_instance", "-5512345678901234567"},
              {"data", data}}}};
}

json edited_update(std::int64_t update_id, std::int64_t chat_id, const std::string& text) {
    json edited = message(chat_id, text);
    edited["edit_date"] = 1767225660;
    return {{"update_id", update_id}, {"edited_message", edited}};
}

json photo_update(std::int64_t update_id, std::int64_t chat_id, const std::string& album = {}) {
    json photo = message(chat_id, "");
    photo.erase("text");
    photo["photo"] = json::array({{{"file_id", "AgACAgQAAxkBAAI"}, {"file_unique_id", "AQADs"}, {"file_size", 1234},
                                   {"width", 90}, {"height", 67}},
                                  {{"file_id", "AgACAgQAAxkBAAJ"}, {"file_unique_id", "AQADt"}, {"file_size", 40321},
                                   {"width", 800}, {"height", 600}}});
    photo["caption"] = "this is where it hurts";
    if (!album.empty()) photo["media_group_id"] = album;
    return {{"update_id", update_id}, {"message", photo}};
}

// ------------------------------------------------------------ the server

void write_file(const std::filesystem::path& path, const std::string& content) {
    std::ofstream(path) << content << "\n";
}

class WebhookServer {
public:
    WebhookServer(const TempDir& dir, const BotApiStub& stub, std::vector<std::string> extra_args = {})
        : dir_(dir.path()), api_base_(stub.base_url()), extra_args_(std::move(extra_args)) {
        write_file(dir_ / "webhook.secret", webhook_secret);
        write_file(dir_ / "bot.token", bot_token);
        start();
    }

    std::filesystem::path db() const { return dir_ / "chat.db"; }

    HttpReply post(const json& update, std::optional<std::string> secret = std::string(webhook_secret)) {
        return post_body(update.dump(), std::move(secret));
    }
    HttpReply post_body(std::string body, std::optional<std::string> secret = std::string(webhook_secret)) {
        std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
        if (secret) headers.emplace_back("X-Telegram-Bot-Api-Secret-Token", *secret);
        return test::http_request(process_->port(), "POST", "/telegram/webhook", headers, std::move(body));
    }

    // The Bot API call in the webhook answer; null when it carries none.
    json posted_answer(const json& update) {
        const auto reply = post(update);
        REQUIRE(reply.status == 200);
        if (reply.body.empty()) return nullptr;
        CHECK(reply.header("Content-Type") == "application/json");
        return json::parse(reply.body);
    }

    std::string metrics() { return test::http_request(process_->port(), "GET", "/metrics").body; }
    std::string log() const { return process_->log(); }

    // SIGTERM: the log is flushed and closed.
    void stop() {
        const auto result = process_->stop(SIGTERM, std::chrono::seconds(15));
        REQUIRE(result);
        CHECK(result->exit_code == 0);
        stopped_log_ = result->output;
    }
    void restart() {
        stop();
        start();
    }
    const std::string& stopped_log() const { return stopped_log_; }

private:
    void start() {
        std::vector<std::string> args{"--telegram-secret-file", (dir_ / "webhook.secret").string(),
                                      "--telegram-token-file", (dir_ / "bot.token").string(),
                                      "--telegram-api-base", api_base_};
        args.insert(args.end(), extra_args_.begin(), extra_args_.end());
        process_.emplace(db(), std::move(args));
    }

    std::filesystem::path dir_;
    std::string api_base_;
    std::vector<std::string> extra_args_;
    std::optional<ServerProcess> process_;
    std::string stopped_log_;
};

// A copy of the rules whose first safety question is longer than one
// Telegram message, so that asking it takes two.
std::filesystem::path rules_with_a_long_first_question(const TempDir& dir) {
    const auto rules = dir.path() / "rules";
    std::filesystem::copy(std::filesystem::path(BACKTALK_SOURCE_DIR) / "rules", rules,
                          std::filesystem::copy_options::recursive);
    // The first question asked is the first group's ("Do you have any of
    // these?", flow.json).
    const auto flow_file = rules / "en" / "flow.json";
    std::string flow;
    {
        std::ifstream in(flow_file, std::ios::binary);
        flow.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::string preamble;
    while (preamble.size() < 4200) preamble += "Please read this carefully before you answer. ";
    const std::string marker = "\"intro\": \"";
    const auto at = flow.find(marker);
    REQUIRE(at != std::string::npos);
    flow.insert(at + marker.size(), preamble + "\\n\\n");
    std::ofstream(flow_file, std::ios::binary) << flow;
    return rules;
}

// Waits until the server has no Bot API call queued or in flight.
void wait_until_sent(WebhookServer& server) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (test::metric_sample(server.metrics(), "backtalk_telegram_api_queue") != 0) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// ------------------------------------------------------------ comparing with the terminal

// The protocol objects of a `backtalk chat --json` turn as the service's
// objects, to render them the way the Telegram channel must.
std::vector<OutObject> out_objects(const std::vector<json>& turn) {
    std::vector<OutObject> objects;
    for (const auto& object : turn) {
        const auto type = object.value("type", "");
        if (type == "session") {
            objects.emplace_back(SessionOpened{object.value("session", ""), object.value("resumed", false)});
        } else if (type == "reply") {
            Reply reply;
            reply.text = object.value("text", "");
            for (const auto& quick : object.value("quick_replies", json::array())) {
                reply.quick_replies.push_back({quick.value("id", ""), quick.value("title", "")});
            }
            if (object.contains("asking") && object["asking"].is_string()) reply.asking = object["asking"];
            objects.emplace_back(std::move(reply));
        } else if (type == "error") {
            objects.emplace_back(protocol::Error{object.value("code", ""), object.value("message", "")});
        }
    }
    return objects;
}

std::vector<std::string> callback_data_of(const json& send_message) {
    std::vector<std::string> data;
    if (!send_message.contains("reply_markup")) return data;
    for (const auto& row : send_message["reply_markup"]["inline_keyboard"]) {
        for (const auto& button : row) data.push_back(button["callback_data"]);
    }
    return data;
}

// Posts `update` and collects what the chat shows for it: the webhook
// answer's message and the messages the server sent through the Bot API,
// `expected` of them in all.
std::vector<json> shown_messages(WebhookServer& server, const BotApiStub& stub, const json& update,
                                 std::size_t expected) {
    const std::size_t calls_before = stub.calls().size();
    std::vector<json> shown;
    const json answer = server.posted_answer(update);
    if (answer.is_object() && answer["method"] == "sendMessage") shown.push_back(answer);
    std::size_t wanted_calls = calls_before;
    while (shown.size() < expected) {
        const auto calls = stub.wait_for_calls(++wanted_calls);
        const auto& call = calls.back();
        if (call.method == "sendMessage") shown.push_back(call.params);
    }
    return shown;
}

// Checks that Telegram shows exactly what the terminal turn renders to.
void check_same_turn(const std::vector<json>& terminal_turn, const std::vector<json>& shown, std::int64_t chat_id) {
    const auto expected = server::telegram::render_turn(out_objects(terminal_turn));
    REQUIRE(shown.size() == expected.messages.size());
    for (std::size_t i = 0; i < shown.size(); ++i) {
        CHECK(shown[i]["chat_id"].get<std::int64_t>() == chat_id);
        CHECK(shown[i]["parse_mode"] == "HTML");
        CHECK(shown[i]["text"] == expected.messages[i].text.html);
        std::vector<std::string> ids;
        for (const auto& button : expected.messages[i].buttons) {
            ids.push_back(server::telegram::callback_data(button, expected.messages[i].asking));
        }
        CHECK(callback_data_of(shown[i]) == ids);
    }
}

// The update Telegram sends when the person does what `client_object` does.
json update_for(const json& client_object, std::int64_t update_id, std::int64_t chat_id) {
    if (client_object["type"] == "choice") return callback_update(update_id, chat_id, client_object["id"]);
    return text_update(update_id, chat_id, client_object["text"]);
}

std::size_t expected_messages(const std::vector<json>& terminal_turn) {
    return server::telegram::render_turn(out_objects(terminal_turn)).messages.size();
}

}  // namespace

TEST_CASE("/start, text and a button press come back as Bot API calls") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);

    const json greeting = server.posted_answer(text_update(1001, ana, "/start"));
    REQUIRE(greeting.is_object());
    CHECK(greeting["method"] == "sendMessage");
    CHECK(greeting["chat_id"].get<std::int64_t>() == ana);
    CHECK(greeting["parse_mode"] == "HTML");
    CHECK_FALSE(greeting["text"].get<std::string>().empty());

    // Tell the bot about the pain until it offers buttons.
    json question = server.posted_answer(text_update(1002, ana, "my lower back hurts since I lifted boxes yesterday"));
    std::int64_t update_id = 1003;
    while (callback_data_of(question).empty() && update_id < 1010) {
        question = server.posted_answer(text_update(update_id++, ana, "35"));
    }
    const auto buttons = callback_data_of(question);
    REQUIRE_FALSE(buttons.empty());
    for (const auto& data : buttons) CHECK(data.size() <= 64);

    const json next = server.posted_answer(callback_update(update_id, ana, buttons.front()));
    REQUIRE(next.is_object());
    CHECK(next["method"] == "sendMessage");
    CHECK(next["chat_id"].get<std::int64_t>() == ana);
    // The button press is answered through the Bot API, with the token.
    const auto calls = stub.wait_for_calls(1);
    CHECK(calls[0].method == "answerCallbackQuery");
    CHECK(calls[0].token == bot_token);
    CHECK(calls[0].params["callback_query_id"] == "cbq-" + std::to_string(update_id));

    const auto metrics = server.metrics();
    CHECK(test::metric_sample(metrics, R"(backtalk_telegram_updates_total{kind="command"})") == 1);
    CHECK(test::metric_sample(metrics, R"(backtalk_telegram_updates_total{kind="callback"})") == 1);
    CHECK(test::metric_sample(metrics, R"(backtalk_turns_total{channel="telegram"})") ==
          static_cast<double>(update_id - 1000));
    server.stop();

    // One conversation, every update a turn in the log, the chat only as a
    // keyed hash: the raw id is nowhere in the database files or the log.
    const auto conversations = test::logged_conversations(server.db());
    REQUIRE(conversations.size() == 1);
    CHECK(conversations[0].channel == "telegram");
    CHECK(conversations[0].user_hash.size() == 64);
    CHECK(conversations[0].inbound_messages == update_id - 1000);
    CHECK_FALSE(test::any_file_contains(dir.path(), std::to_string(ana)));
    CHECK(server.stopped_log().find(std::to_string(ana)) == std::string::npos);
}

// The callback data of the button that says "none of these" or "no" to a
// safety question: "none|TOPIC" or "no|TOPIC".
std::string negative_data(const std::vector<std::string>& buttons) {
    for (const auto& data : buttons) {
        if (data.rfind("none|", 0) == 0 || data.rfind("no|", 0) == 0) return data;
    }
    FAIL("no negative answer among the buttons");
    return {};
}

TEST_CASE("a button tapped on an old message does not answer the question open now") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    server.posted_answer(text_update(2001, ana, "/start"));
    const json first = server.posted_answer(text_update(2002, ana, "my lower back has been sore for two days"));
    const auto first_buttons = callback_data_of(first);
    // The buttons say which question they answer.
    const std::string no = negative_data(first_buttons);
    REQUIRE(no.find('|') != std::string::npos);
    const json next = server.posted_answer(callback_update(2003, ana, no));
    const auto next_buttons = callback_data_of(next);
    REQUIRE_FALSE(next_buttons.empty());
    REQUIRE(next_buttons != first_buttons);

    // The person scrolls up and taps the first question's button again.
    const json stale = server.posted_answer(callback_update(2004, ana, no));
    CHECK(stale["text"].get<std::string>().find("earlier question") != std::string::npos);
    CHECK(callback_data_of(stale) == next_buttons);
    // Buttons from before this change carry only the id, and still work.
    const std::string next_no = negative_data(next_buttons);
    const json answered = server.posted_answer(callback_update(2005, ana, next_no.substr(0, next_no.find('|'))));
    CHECK(callback_data_of(answered) != next_buttons);
}

namespace {

// /start and a complaint: the webhook answer of the first question with buttons.
json first_question_with_buttons(WebhookServer& server, std::int64_t chat_id, std::int64_t& update_id) {
    server.posted_answer(text_update(update_id++, chat_id, "/start"));
    json question = server.posted_answer(text_update(update_id++, chat_id, "my lower back has been sore for two days"));
    REQUIRE_FALSE(callback_data_of(question).empty());
    return question;
}

std::vector<BotApiCallRecord> calls_of(const BotApiStub& stub, const std::string& method) {
    std::vector<BotApiCallRecord> found;
    for (const auto& call : stub.calls()) {
        if (call.method == method) found.push_back(call);
    }
    return found;
}

}  // namespace

TEST_CASE("a tapped button gives way to one showing the choice, and tapping that does nothing") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    std::int64_t update_id = 2101;
    const json question = first_question_with_buttons(server, ana, update_id);
    const json& first_button = question["reply_markup"]["inline_keyboard"][0][0];
    const std::string title = first_button["text"];

    const json next = server.posted_answer(callback_update(update_id++, ana, first_button["callback_data"]));
    CHECK(next["method"] == "sendMessage");
    const auto calls = stub.wait_for_calls(2);
    CHECK(calls[0].method == "answerCallbackQuery");
    REQUIRE(calls[1].method == "editMessageReplyMarkup");
    CHECK(calls[1].token == bot_token);
    CHECK(calls[1].params["chat_id"].get<std::int64_t>() == ana);
    CHECK(calls[1].params["message_id"] == 100);  // the message the tapped button is under
    const json picked = json::array({json::array({{{"text", "\u2713 " + title}, {"callback_data", "|picked"}}})});
    CHECK(calls[1].params["reply_markup"]["inline_keyboard"] == picked);

    const double turns = test::metric_sample(server.metrics(), R"(backtalk_turns_total{channel="telegram"})");
    const json again = server.posted_answer(callback_update(update_id++, ana, "|picked"));
    CHECK(again["method"] == "answerCallbackQuery");
    CHECK_FALSE(again.contains("text"));
    CHECK(test::metric_sample(server.metrics(), R"(backtalk_turns_total{channel="telegram"})") == turns);
    wait_until_sent(server);
    CHECK(calls_of(stub, "editMessageReplyMarkup").size() == 1);
    CHECK(calls_of(stub, "sendMessage").empty());
}

TEST_CASE("button data the conversation does not offer gets the buttons open now, and the tapped message keeps its own") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    std::int64_t update_id = 2201;
    const json question = first_question_with_buttons(server, ana, update_id);

    const std::string no = negative_data(callback_data_of(question));
    const std::string asking = no.substr(no.find('|') + 1);
    for (const std::string& data : {std::string("no-such-option"), "maybe|" + asking}) {
        CAPTURE(data);
        const json answer = server.posted_answer(callback_update(update_id++, ana, data));
        REQUIRE(answer["method"] == "sendMessage");
        CHECK(answer["text"].get<std::string>().find(english_error("bad_choice").message) != std::string::npos);
        CHECK(callback_data_of(answer) == callback_data_of(question));
    }
    // A tap on an earlier question's button is not taken either.
    const json tearing = server.posted_answer(callback_update(update_id++, ana, no));
    server.posted_answer(callback_update(update_id++, ana, no));
    wait_until_sent(server);
    CHECK(calls_of(stub, "editMessageReplyMarkup").size() == 1);  // only for the tap that was taken
    CHECK(test::metric_sample(server.metrics(),
                              R"(backtalk_telegram_api_calls_total{method="editMessageReplyMarkup",result="ok"})") == 1);
    CHECK_FALSE(callback_data_of(tearing).empty());
}

TEST_CASE("in a group nobody's health is discussed: commands are pointed to a private chat, the rest left alone") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    const std::int64_t group = -1009876543210;
    const auto in_group = [&](json update) {
        auto& message = update.contains("message") ? update["message"] : update["callback_query"]["message"];
        message["chat"] = {{"id", group}, {"type", "supergroup"}, {"title", "Back club"}};
        return update;
    };
    const json told = server.posted_answer(in_group(text_update(4001, ana, "/start@backtalk_bot")));
    REQUIRE(told.is_object());
    CHECK(told["chat_id"].get<std::int64_t>() == group);
    CHECK(told["text"] == english_text("telegram_shared_chat"));
    CHECK(callback_data_of(told).empty());
    CHECK(server.posted_answer(in_group(text_update(4002, ana, "my lower back hurts"))).is_null());
    const json tapped = server.posted_answer(in_group(callback_update(4003, ana, "yes")));
    CHECK(tapped["method"] == "answerCallbackQuery");
    CHECK_FALSE(tapped.contains("text"));
    server.stop();
    CHECK(test::logged_conversations(server.db()).empty());
}

TEST_CASE("a button press without its message is still answered, as a method call") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    json update = callback_update(4101, ana, "yes");
    update["callback_query"].erase("message");
    update["callback_query"]["inline_message_id"] = "AAA";
    const json answer = server.posted_answer(update);
    CHECK(answer["method"] == "answerCallbackQuery");
    CHECK(answer["callback_query_id"] == "cbq-4101");
}

TEST_CASE("a missing or wrong secret gets 401 and nothing is processed") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    CHECK(server.post(text_update(2001, ana, "/start"), std::nullopt).status == 401);
    CHECK(server.post(text_update(2002, ana, "/start"), std::string("s3cret_Webhook-token41")).status == 401);
    CHECK(server.post(text_update(2003, ana, "/start"), std::string("S3CRET_WEBHOOK-TOKEN42")).status == 401);
    CHECK(server.post(text_update(2004, ana, "/start"), std::string(webhook_secret) + "x").status == 401);
    CHECK(test::metric_sample(server.metrics(), R"(backtalk_telegram_rejected_total{reason="secret"})") == 4);
    server.stop();
    CHECK(stub.calls().empty());
    CHECK(test::logged_conversations(server.db()).empty());
    // The operator can see why nothing arrives.
    CHECK(server.stopped_log().find("missing or wrong secret token") != std::string::npos);
}

TEST_CASE("the same update_id is handled once, also after a restart, a retry gets the answer again") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    const json start = text_update(3001, ana, "/start");
    const json words = text_update(3002, ana, "my back hurts");
    CHECK(server.posted_answer(start).is_object());
    const json answered = server.posted_answer(words);
    CHECK(answered.is_object());
    // Telegram retries when our answer did not reach it (a timeout, a proxy
    // error): the same answer again, without a second turn.
    const auto again = server.post(words);
    CHECK(again.status == 200);
    CHECK(json::parse(again.body) == answered);
    CHECK(test::metric_sample(server.metrics(), "backtalk_telegram_duplicates_total") == 1);
    CHECK(test::metric_sample(server.metrics(), R"(backtalk_turns_total{channel="telegram"})") == 2);

    server.restart();
    CHECK(server.posted_answer(words).is_null());
    CHECK(server.posted_answer(start).is_null());
    CHECK(server.posted_answer(text_update(3003, ana, "since yesterday")).is_object());
    server.stop();

    const auto conversations = test::logged_conversations(server.db());
    REQUIRE(conversations.size() == 1);
    CHECK(conversations[0].inbound_messages == 3);
}

TEST_CASE("edits and messages without text get a short polite reply and no turn") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    CHECK(server.posted_answer(text_update(4001, ana, "/start")).is_object());

    const json edit = server.posted_answer(edited_update(4002, ana, "my lower back, not upper"));
    REQUIRE(edit.is_object());
    CHECK(edit["chat_id"].get<std::int64_t>() == ana);
    CHECK(edit["text"] == english_text("telegram_edited"));

    const json photo = server.posted_answer(photo_update(4003, ana));
    REQUIRE(photo.is_object());
    CHECK(photo["text"] == english_text("telegram_not_text"));

    // An album is one message per picture: one reply for all of them.
    CHECK(server.posted_answer(photo_update(4004, ana, "album-1")).is_object());
    CHECK(server.posted_answer(photo_update(4005, ana, "album-1")).is_null());

    // Kinds we do not handle are acknowledged, so Telegram does not retry.
    CHECK(server.posted_answer({{"update_id", 4006},
                                {"my_chat_member",
                                 {{"chat", private_chat(ana)}, {"from", user(ana)}, {"date", 1767225600},
                                  {"old_chat_member", {{"status", "member"}, {"user", user(7000000001)}}},
                                  {"new_chat_member", {{"status", "kicked"}, {"user", user(7000000001)}, {"until_date", 0}}}}}})
              .is_null());
    // What is not an update at all is refused.
    CHECK(server.post(json::object()).status == 400);
    CHECK(server.post_body("{\"update_id\": 4007, \"message\": ").status == 400);
    server.stop();

    const auto conversations = test::logged_conversations(server.db());
    REQUIRE(conversations.size() == 1);
    CHECK(conversations[0].inbound_messages == 1);  // only /start was a turn
    CHECK(stub.calls().empty());
}

TEST_CASE("/help and /restart do what typing help and restart does in the terminal") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    ChatProcess terminal(dir.path() / "terminal.db");

    const auto start = terminal.turn({{"type", "start"}});
    check_same_turn(start, shown_messages(server, stub, text_update(5001, ana, "/start"), expected_messages(start)), ana);
    const auto complaint = terminal.turn({{"type", "message"}, {"text", "my back hurts"}});
    check_same_turn(complaint,
                    shown_messages(server, stub, text_update(5002, ana, "my back hurts"), expected_messages(complaint)),
                    ana);
    const auto help = terminal.turn({{"type", "message"}, {"text", "help"}});
    check_same_turn(help, shown_messages(server, stub, text_update(5003, ana, "/help"), expected_messages(help)), ana);
    const auto restart = terminal.turn({{"type", "message"}, {"text", "restart"}});
    check_same_turn(restart,
                    shown_messages(server, stub, text_update(5004, ana, "/restart@backtalk_bot"), expected_messages(restart)),
                    ana);
}

TEST_CASE("a chat keeps its conversation across a restart, another chat has its own") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    server.posted_answer(text_update(6001, ana, "/start"));
    server.posted_answer(text_update(6002, ana, "my lower back hurts"));
    server.restart();
    server.posted_answer(text_update(6003, ana, "since last week"));
    server.posted_answer(text_update(6004, ben, "my neck is stiff"));
    server.stop();

    const auto conversations = test::logged_conversations(server.db());
    REQUIRE(conversations.size() == 2);
    CHECK(conversations[0].inbound_messages == 3);
    CHECK(conversations[1].inbound_messages == 1);
    CHECK(conversations[0].user_hash != conversations[1].user_hash);
    CHECK_FALSE(test::any_file_contains(dir.path(), std::to_string(ben)));
}

TEST_CASE("a chat whose conversation cannot be read right now is asked to send again, not started over") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    server.posted_answer(text_update(7001, ana, "/start"));
    server.posted_answer(text_update(7002, ana, "my lower back hurts"));
    server.restart();
    // The file out of reach (the log writer keeps the connection it opened,
    // so only reads fail): which conversation the chat is in is unknown.
    const auto moved = dir.path() / "away.db";
    std::filesystem::rename(server.db(), moved);
    const json refused = server.posted_answer(text_update(7003, ana, "since last week"));
    REQUIRE(refused.is_object());
    CHECK(refused["method"] == "sendMessage");
    const auto expected = server::telegram::render_turn({english_error("unavailable")});
    REQUIRE(expected.messages.size() == 1);
    CHECK(refused["text"] == expected.messages.front().text.html);

    std::filesystem::rename(moved, server.db());
    server.posted_answer(text_update(7004, ana, "since last week"));
    server.stop();
    const auto conversations = test::logged_conversations(server.db());
    REQUIRE(conversations.size() == 1);
    CHECK(conversations[0].inbound_messages == 3);
}

TEST_CASE("a whole conversation through Telegram reaches the same outcome as through backtalk chat --json") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub);
    const auto terminal_db = dir.path() / "terminal.db";
    json terminal_outcome;
    {
        ChatProcess terminal(terminal_db);
        auto turn = terminal.turn({{"type", "start"}});
        std::int64_t update_id = 7001;
        check_same_turn(turn, shown_messages(server, stub, text_update(update_id++, ana, "/start"), expected_messages(turn)),
                        ana);
        json client_object{{"type", "message"}, {"text", "my lower back hurts since I lifted boxes yesterday"}};
        for (int answers = 0; answers < 40 && terminal_outcome.is_null(); ++answers) {
            turn = terminal.turn(client_object);
            const auto shown =
                shown_messages(server, stub, update_for(client_object, update_id++, ana), expected_messages(turn));
            check_same_turn(turn, shown, ana);
            const auto replies = test::replies_of(turn);
            REQUIRE_FALSE(replies.empty());
            for (const auto& reply : replies) {
                if (reply.contains("triage") && reply["triage"].is_object()) terminal_outcome = reply["triage"];
            }
            client_object = test::answer_to(replies.back());
        }
    }
    REQUIRE(terminal_outcome.is_object());
    server.stop();

    const auto telegram = test::logged_conversations(server.db());
    const auto terminal = test::logged_conversations(terminal_db);
    REQUIRE(telegram.size() == 1);
    REQUIRE(terminal.size() == 1);
    CHECK(telegram[0].outcome_level == terminal_outcome["level"]);
    CHECK(telegram[0].outcome_reasons == terminal_outcome["reasons"]);
    CHECK(telegram[0].outcome_level == terminal[0].outcome_level);
    CHECK(telegram[0].turns == terminal[0].turns);
    CHECK(telegram[0].inbound_messages == terminal[0].inbound_messages);
}

TEST_CASE("a turn of several messages goes out through the Bot API in order, and a 429 holds the chat's queue") {
    TempDir dir;
    BotApiStub stub;
    WebhookServer server(dir, stub, {"--rules", rules_with_a_long_first_question(dir).string()});
    CHECK(server.posted_answer(text_update(8001, ana, "/start"))["method"] == "sendMessage");

    // The first safety question no longer fits one message: every piece goes
    // through the Bot API, and the first one meets a 429. Its wait must
    // outlast the next update's round trip, even under sanitizers.
    stub.script({BotApiStub::too_many_requests(5)});
    CHECK(server.posted_answer(text_update(8002, ana, "my lower back hurts since I lifted boxes yesterday")).is_null());
    const auto first_try = stub.wait_for_calls(1);

    // Pressed while the pieces wait: this one-message turn queues behind
    // them, and the webhook answer carries the button's acknowledgement.
    const json acknowledged = server.posted_answer(callback_update(8003, ana, "none"));
    REQUIRE(acknowledged.is_object());
    CHECK(acknowledged["method"] == "answerCallbackQuery");
    CHECK(acknowledged["callback_query_id"] == "cbq-8003");

    // Four messages, and the tapped message showing the choice (on a queue
    // of its own, so at any point among them).
    stub.wait_for_calls(5);
    wait_until_sent(server);
    REQUIRE(stub.calls().size() == 5);
    CHECK(calls_of(stub, "editMessageReplyMarkup").size() == 1);
    const auto calls = calls_of(stub, "sendMessage");
    REQUIRE(calls.size() == 4);
    for (const auto& call : calls) {
        CHECK(call.method == "sendMessage");
        CHECK(call.params["chat_id"].get<std::int64_t>() == ana);
        CHECK(server::telegram::utf16_length(call.params["text"].get<std::string>()) <= 4096);
    }
    CHECK(calls[1].params == calls[0].params);  // the same piece, again
    CHECK(calls[1].received - calls[0].received >= std::chrono::milliseconds(4950));
    const std::string first_piece = calls[1].params["text"];
    const std::string second_piece = calls[2].params["text"];
    CHECK(first_piece.find("Please read this carefully") != std::string::npos);
    CHECK(second_piece.find("chest") != std::string::npos);
    CHECK(callback_data_of(calls[1].params).empty());
    const auto first_buttons = callback_data_of(calls[2].params);
    CHECK(std::find(first_buttons.begin(), first_buttons.end(), "none|emergency_signs") != first_buttons.end());
    const auto next_buttons = callback_data_of(calls[3].params);
    REQUIRE_FALSE(next_buttons.empty());
    CHECK(next_buttons != first_buttons);
    CHECK(calls[3].params["text"] != calls[2].params["text"]);

    // With nothing queued, a one-message turn is back in the webhook answer
    // and the acknowledgement goes through the Bot API.
    const json next = server.posted_answer(callback_update(8004, ana, negative_data(next_buttons)));
    CHECK(next["method"] == "sendMessage");
    const auto later = stub.wait_for_calls(7);
    const auto& acknowledgement = later[5];
    CHECK(acknowledgement.method == "answerCallbackQuery");
    CHECK(later[6].method == "editMessageReplyMarkup");
    CHECK(acknowledgement.params["callback_query_id"] == "cbq-8004");
    const auto metrics = server.metrics();
    CHECK(test::metric_sample(metrics, R"(backtalk_telegram_api_retries_total{reason="rate_limited"})") == 1);
    CHECK(test::metric_sample(metrics, R"(backtalk_telegram_api_calls_total{method="sendMessage",result="ok"})") == 3);
}
