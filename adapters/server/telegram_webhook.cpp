#include "adapters/server/telegram_webhook.hpp"

#include "adapters/core/conversations.hpp"
#include "adapters/server/channel_secrets.hpp"
#include "adapters/server/keyed_serial.hpp"
#include "adapters/server/log.hpp"
#include "adapters/server/metrics.hpp"
#include "adapters/server/recent_ledger.hpp"
#include "adapters/server/router.hpp"
#include "adapters/server/server.hpp"
#include "adapters/server/telegram_format.hpp"
#include "adapters/server/telegram_update.hpp"
#include "adapters/server/turn_metrics.hpp"
#include "bot/protocol.hpp"
#include "bot/ruleset.hpp"
#include "store/store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace backtalk::server {

namespace {

using json = nlohmann::json;
using telegram::Update;

// The bindings scopes: a chat's keyed hash to its session id, and the ring
// of update ids already handled.
constexpr const char* chat_scope = "telegram";
constexpr const char* update_scope = "telegram_update";

// What the adapter says itself, without a turn: texts.json keys, worded by
// the rules in use like everything else.
constexpr const char* edited_reply = "telegram_edited";
constexpr const char* not_text_reply = "telegram_not_text";
constexpr const char* shared_chat_reply = "telegram_shared_chat";

constexpr std::int64_t rejection_log_interval_ms = 60 * 1000;
constexpr std::size_t remembered_media_groups = 1024;
// Telegram retries a webhook within about a minute; this covers that many
// updates at a few thousand a minute.
constexpr std::size_t remembered_answers = 4096;

std::int64_t wall_clock_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

const char* kind_name(const Update& update) {
    switch (update.kind) {
        case Update::Kind::text: return telegram::parse_command(update.text) ? "command" : "text";
        case Update::Kind::callback: return "callback";
        case Update::Kind::edited: return "edited";
        case Update::Kind::not_text: return "not_text";
        case Update::Kind::other: break;
    }
    return "other";
}

// The client object a text message stands for. /start opens or resumes the
// chat's conversation; any other command is its word (and argument) as a
// message, so /help and /restart reach the engine's own intents.
protocol::Checked client_object_for_text(const std::string& text, const std::string& session) {
    if (const auto command = telegram::parse_command(text)) {
        if (command->name == "start") return protocol::ClientObject{protocol::Start{session, ""}};
        std::string words = command->name;
        if (!command->argument.empty()) words += " " + command->argument;
        return protocol::message_object(words);
    }
    return protocol::message_object(text);
}

// What an update makes the chat show: the turn's messages and, for a tap the
// conversation took, the option picked, shown under the tapped message in
// place of its buttons.
struct Shown {
    telegram::RenderedTurn turn;
    std::optional<QuickReply> picked;
};

// The quick reply a tap picks if the conversation takes it: one it offers
// now, for the question open now (a tap names it unless its data predates
// that).
std::optional<QuickReply> offered_choice(const OfferedChoices& offered, const protocol::Choice& choice) {
    if (!choice.asking.empty() && choice.asking != offered.asking) return std::nullopt;
    for (const auto& option : offered.quick_replies) {
        if (option.id == choice.id) return option;
    }
    return std::nullopt;
}

bool is_error(const OutObject& object, std::string_view code) {
    const auto* error = std::get_if<protocol::Error>(&object);
    return error && error->code == code;
}

}  // namespace

struct TelegramChannel::Impl : std::enable_shared_from_this<TelegramChannel::Impl> {
    Impl(const TelegramSettings& settings, ChannelDependencies dependencies, MetricsRegistry& registry)
        : secret(settings.secret),
          conversations(dependencies.conversations),
          store(dependencies.store),
          metrics(registry),
          seen(&dependencies.store, {update_scope, settings.remembered_updates, std::chrono::hours(25)}, wall_clock_ms()),
          client(settings.api, registry),
          turn_metrics(registry, "telegram"),
          duplicates(registry.counter("backtalk_telegram_duplicates_total",
                                      "Telegram updates received again and not handled twice")),
          dropped_buttons(registry.counter("backtalk_telegram_buttons_dropped_total",
                                           "Quick replies not shown because their id exceeds 64 bytes")) {
        // Listed at 0 from the start: the first refused webhook call or
        // failed Bot API call is an increase an alert can see.
        for (const char* kind : {"text", "command", "callback", "edited", "not_text", "other"}) updates(kind);
        for (const char* reason : {"secret", "bad_update"}) rejected(reason);
        for (const char* method : {"sendMessage", "answerCallbackQuery", "editMessageReplyMarkup"}) {
            client.list_calls_of(method);
        }
    }

    Counter& updates(const char* kind) {
        return metrics.counter("backtalk_telegram_updates_total", "Telegram updates received, by kind",
                               {{"kind", kind}});
    }
    Counter& rejected(const char* reason) {
        return metrics.counter("backtalk_telegram_rejected_total", "Webhook requests refused, by reason",
                               {{"reason", reason}});
    }

    void handle(const Request& request, const RequestContext& context, Respond respond) {
        if (!secrets_equal(request["X-Telegram-Bot-Api-Secret-Token"], secret)) {
            rejected("secret").add();
            note_rejection(context.client_address);
            return respond(error_response(request, http::status::unauthorized,
                                          "missing or wrong X-Telegram-Bot-Api-Secret-Token"));
        }
        auto parsed = telegram::parse_update(request.body());
        if (const auto* problem = std::get_if<std::string>(&parsed)) {
            rejected("bad_update").add();
            return respond(error_response(request, http::status::bad_request, "not a Telegram update: " + *problem));
        }
        Update update = std::move(std::get<Update>(parsed));
        updates(kind_name(update)).add();
        if (!claim(update.update_id)) {
            duplicates.add();
            // Telegram retries when our answer did not reach it (a timeout, a
            // proxy error): the answer goes out again, or the person would
            // never see it.
            if (auto answer = answer_given(update.update_id)) {
                return respond(make_response(request, http::status::ok, std::move(*answer), "application/json"));
            }
            return respond(empty_answer(request));
        }
        if (update.kind == Update::Kind::other ||
            (update.kind == Update::Kind::callback && !update.callback_has_chat)) {
            // Nothing to say in a chat; a button press still gets its answer.
            finish(update.update_id);
            if (update.kind != Update::Kind::callback) return respond(empty_answer(request));
            json answer = callback_answer(update);
            answer["method"] = "answerCallbackQuery";
            return respond(method_answer(request, answer));
        }
        const std::string chat_hash = store.hash_user("telegram", std::to_string(update.chat_id));
        // One chat's updates one at a time, in order; the request is copied
        // because the job runs after this handler has returned. Every update
        // reads the chat's conversation from the store (its binding, and the
        // session when it left memory), so it runs on the store's reader
        // thread, never on a network thread.
        chats.run_async(chat_hash, [self = shared_from_this(), request, update = std::move(update), chat_hash,
                                    respond = std::move(respond)](const KeyedSerialRunner::Finished& finished) {
            const bool posted = self->store.post_read([self, request, update, chat_hash, respond, finished] {
                self->handle_in_order(request, update, chat_hash, respond);
                finished();
            });
            if (!posted) {
                // The store is closing: Telegram retries the update later.
                self->release(update.update_id);
                respond(error_response(request, http::status::service_unavailable, "shutting down"));
                finished();
            }
        });
    }

    void handle_in_order(const Request& request, const Update& update, const std::string& chat_hash,
                         const Respond& respond) {
        try {
            if (!claimed_everywhere(update.update_id)) {
                // Another instance has it (Telegram retried it there): that
                // one answers.
                duplicates.add();
                finish(update.update_id);
                return respond(empty_answer(request));
            }
            const Shown shown = messages_for(update, chat_hash);
            // The update has had its effect: from here on a retry must be
            // refused even if answering fails.
            finish(update.update_id);
            auto response = deliver(request, update, chat_hash, shown);
            if (!response.body().empty()) remember_answer(update.update_id, response.body());
            respond(std::move(response));
        } catch (const store::StoreUnavailable& error) {
            // Not taken: Telegram sends it again later.
            release(update.update_id);
            log(LogLevel::warn, "telegram update not taken: the database cannot be reached", {{"error", error.what()}});
            respond(error_response(request, http::status::service_unavailable, "database unavailable"));
        } catch (const std::exception& error) {
            release(update.update_id);
            log(LogLevel::error, "telegram update failed", {{"error", error.what()}});
            respond(error_response(request, http::status::internal_server_error, "internal error"));
        }
    }

    // Runs the turn, if the update makes one, and renders what to say.
    Shown messages_for(const Update& update, const std::string& chat_hash) {
        try {
            return turn_for(update, chat_hash);
        } catch (const store::StoreUnavailable& error) {
            // Which conversation this chat is in cannot be read right now:
            // starting a new one would leave the person's answers behind, so
            // nothing changes and they are asked to send it again, as every
            // channel is when its conversation cannot be read.
            log(LogLevel::warn, "telegram chat's conversation cannot be read", {{"error", error.what()}});
            return {telegram::render_turn({conversations.error("unavailable")}), std::nullopt};
        }
    }

    Shown turn_for(const Update& update, const std::string& chat_hash) {
        if (update.shared_chat) {
            // A group or channel: no turn at all. A command addressed to the
            // bot is told where to talk; everything else is left alone.
            const bool command = update.kind == Update::Kind::text && telegram::parse_command(update.text);
            return {command ? polite(shared_chat_reply) : telegram::RenderedTurn{}, std::nullopt};
        }
        switch (update.kind) {
            case Update::Kind::edited: return {polite(edited_reply), std::nullopt};
            case Update::Kind::not_text:
                return {first_of_media_group(update.media_group) ? polite(not_text_reply) : telegram::RenderedTurn{},
                        std::nullopt};
            case Update::Kind::callback:
                // The button that shows an earlier choice does nothing.
                if (update.callback_data.empty() || update.callback_data == telegram::picked_callback_data) return {};
                return run_choice(chat_hash, telegram::choice_for_callback(update.callback_data));
            case Update::Kind::text: {
                const std::string session = session_of(chat_hash);
                return {render(run_turn(chat_hash, session, client_object_for_text(update.text, session), update.text)),
                        std::nullopt};
            }
            case Update::Kind::other: break;
        }
        return {};
    }

    // A tap. A choice the conversation does not offer (data we never sent,
    // an option of a reply since replaced) is answered with the buttons
    // that are open now, so the person can tap again rather than type.
    Shown run_choice(const std::string& chat_hash, const protocol::Choice& choice) {
        const std::string session = session_of(chat_hash);
        const OfferedChoices offered = conversations.offered(session);
        auto objects = run_turn(chat_hash, session, protocol::choice_object(choice.id, choice.asking), choice.id);
        const bool refused = std::any_of(objects.begin(), objects.end(),
                                         [](const OutObject& object) { return std::holds_alternative<protocol::Error>(object); });
        if (!objects.empty() && is_error(objects.back(), "bad_choice") && !offered.quick_replies.empty()) {
            const auto& error = std::get<protocol::Error>(objects.back());
            Reply again;
            again.text = error.message;
            again.quick_replies = offered.quick_replies;
            again.asking = offered.asking;
            objects.back() = std::move(again);
        }
        Shown shown{render(objects), std::nullopt};
        if (!refused) shown.picked = offered_choice(offered, choice);
        return shown;
    }

    telegram::RenderedTurn render(const std::vector<OutObject>& objects) {
        auto rendered = telegram::render_turn(objects);
        dropped_buttons.add(rendered.dropped_buttons);
        return rendered;
    }

    // The rules' text under `key`, as messages.
    telegram::RenderedTurn polite(const char* key) const {
        telegram::RenderedTurn turn;
        const std::string text = conversations.engine()->rules().text(key);
        for (auto& chunk : telegram::format_literal(text)) turn.messages.push_back({std::move(chunk), {}});
        return turn;
    }

    std::string session_of(const std::string& chat_hash) { return store.binding(chat_scope, chat_hash).value_or(""); }

    // `raw`: what the person sent, logged if the object is an error.
    std::vector<OutObject> run_turn(const std::string& chat_hash, std::string session, protocol::Checked client_object,
                                    std::string_view raw) {
        const auto started = std::chrono::steady_clock::now();
        const auto objects = conversations.handle_checked(session, std::move(client_object),
                                                          ChannelInfo{"telegram", chat_hash}, raw);
        std::optional<Level> last_outcome;
        turn_metrics.record_turn(objects, std::chrono::steady_clock::now() - started, last_outcome);
        // Written every turn, not only when the session changes: the binding's
        // time then follows the conversation's activity, which is what
        // retention (`backtalk logs purge`) goes by.
        if (!session.empty()) store.set_binding(chat_scope, chat_hash, session, wall_clock_ms());
        return objects;
    }

    // The webhook answer carries one Bot API call. A turn that is one message
    // goes there, unless earlier messages of this chat are still queued (it
    // would overtake them); otherwise every message goes through the client,
    // in order, and the answer carries answerCallbackQuery if there is one.
    Response deliver(const Request& request, const Update& update, const std::string& chat_hash,
                     const Shown& shown) {
        const bool callback = update.kind == Update::Kind::callback;
        const auto& turn = shown.turn;
        // Its own queue: a pending answer must not make the next turn look as
        // if this chat had messages waiting. The edit of the tapped message
        // goes there too: it need not wait for this chat's messages.
        const std::string callback_queue = "callback " + chat_hash;
        const auto show_pick = [&] {
            if (!shown.picked || update.callback_message_id == 0) return;
            client.send(callback_queue, {"editMessageReplyMarkup",
                                         telegram::picked_markup_params(update.chat_id, update.callback_message_id,
                                                                        *shown.picked),
                                         std::nullopt});
        };
        if (turn.messages.size() == 1 && client.queued(chat_hash) == 0) {
            if (callback) client.send(callback_queue, {"answerCallbackQuery", callback_answer(update), std::nullopt});
            show_pick();
            json answer = telegram::send_message_params(update.chat_id, turn.messages.front(), false);
            answer["method"] = "sendMessage";
            return method_answer(request, answer);
        }
        show_pick();
        const std::uint64_t turn_number = ++turns_sent;
        for (const auto& message : turn.messages) {
            client.send(chat_hash, {"sendMessage", telegram::send_message_params(update.chat_id, message, false),
                                    telegram::send_message_params(update.chat_id, message, true), turn_number});
        }
        if (!callback) return empty_answer(request);
        json answer = callback_answer(update);
        answer["method"] = "answerCallbackQuery";
        return method_answer(request, answer);
    }

    static json callback_answer(const Update& update) { return {{"callback_query_id", update.callback_id}}; }

    static Response method_answer(const Request& request, const json& call) {
        return make_response(request, http::status::ok, dump(call), "application/json");
    }
    static Response empty_answer(const Request& request) {
        return make_response(request, http::status::ok, "", "text/plain; charset=utf-8");
    }

    // Takes an update id for handling: false when it was handled already or
    // is being handled right now (Telegram retried while we worked).
    bool claim(std::int64_t update_id) {
        std::lock_guard lock(claims_mutex);
        if (in_progress.contains(update_id)) return false;
        if (seen.find(std::to_string(update_id), wall_clock_ms())) return false;
        in_progress.insert(update_id);
        return true;
    }
    void finish(std::int64_t update_id) {
        std::lock_guard lock(claims_mutex);
        seen.insert(std::to_string(update_id), "", wall_clock_ms());
        in_progress.erase(update_id);
    }
    void release(std::int64_t update_id) {
        std::lock_guard lock(claims_mutex);
        in_progress.erase(update_id);
    }

    // On a shared store, takes the update in the database too, so that no
    // two instances both handle it; once taken, a retry is refused even if
    // handling it fails here (at most once, rather than twice). Reader
    // thread only. Throws store::StoreUnavailable when it cannot be asked.
    bool claimed_everywhere(std::int64_t update_id) {
        return !seen.asks_store() || !seen.claim(std::to_string(update_id), "", wall_clock_ms());
    }

    // The webhook answers of the latest updates (a method call carrying the
    // reply), kept in memory for a retry of the same update.
    void remember_answer(std::int64_t update_id, std::string body) {
        std::lock_guard lock(claims_mutex);
        if (!answers_given.emplace(update_id, std::move(body)).second) return;
        answers_order.push_back(update_id);
        if (answers_order.size() > remembered_answers) {
            answers_given.erase(answers_order.front());
            answers_order.pop_front();
        }
    }
    std::optional<std::string> answer_given(std::int64_t update_id) {
        std::lock_guard lock(claims_mutex);
        const auto found = answers_given.find(update_id);
        if (found == answers_given.end()) return std::nullopt;
        return found->second;
    }

    // An album arrives as one message per picture; one polite reply will do.
    bool first_of_media_group(const std::string& group) {
        if (group.empty()) return true;
        std::lock_guard lock(claims_mutex);
        if (!media_groups_seen.insert(group).second) return false;
        media_groups_order.push_back(group);
        if (media_groups_order.size() > remembered_media_groups) {
            media_groups_seen.erase(media_groups_order.front());
            media_groups_order.pop_front();
        }
        return true;
    }

    // A wrong secret is either a misconfiguration or someone probing: say so
    // in the log, at most once a minute.
    void note_rejection(const std::string& client_address) {
        const std::int64_t now = wall_clock_ms();
        const auto refused = ++rejected_since_log;
        std::int64_t last = last_rejection_log_ms.load();
        if (now - last < rejection_log_interval_ms || !last_rejection_log_ms.compare_exchange_strong(last, now)) {
            return;
        }
        rejected_since_log -= refused;
        const std::string count = std::to_string(refused);
        log(LogLevel::warn, "telegram webhook refused requests with a missing or wrong secret token",
            {{"count", count}, {"latest_from", client_address}, {"status", "401"},
             {"hint", "check the secret_token given to setWebhook"}});
    }

    const std::string secret;
    ConversationService& conversations;
    store::Store& store;
    MetricsRegistry& metrics;

    std::mutex claims_mutex;
    RecentLedger seen;
    std::unordered_set<std::int64_t> in_progress;
    std::unordered_set<std::string> media_groups_seen;
    std::deque<std::string> media_groups_order;
    std::unordered_map<std::int64_t, std::string> answers_given;
    std::deque<std::int64_t> answers_order;

    KeyedSerialRunner chats;
    BotApiClient client;
    TurnMetrics turn_metrics;
    Counter& duplicates;
    Counter& dropped_buttons;
    std::atomic<std::uint64_t> turns_sent{0};  // numbers the turns sent through the Bot API
    std::atomic<std::int64_t> last_rejection_log_ms{0};
    std::atomic<std::uint64_t> rejected_since_log{0};
};

TelegramChannel::TelegramChannel(const TelegramSettings& settings, ChannelDependencies dependencies,
                                 MetricsRegistry& metrics) {
    validate(settings);
    impl_ = std::make_shared<Impl>(settings, dependencies, metrics);
}

TelegramChannel::~TelegramChannel() = default;

void TelegramChannel::handle(const Request& request, const RequestContext& context, Respond respond) {
    impl_->handle(request, context, std::move(respond));
}

void TelegramChannel::stop(std::chrono::milliseconds grace) { impl_->client.stop(grace); }

std::shared_ptr<TelegramChannel> add_telegram_routes(Server& server, const TelegramSettings& settings,
                                                     ChannelDependencies dependencies) {
    auto channel = std::make_shared<TelegramChannel>(settings, dependencies, server.metrics());
    server.router().add_async(http::verb::post, "/telegram/webhook",
                              [channel](const Request& request, const RequestContext& context, Respond respond) {
                                  channel->handle(request, context, std::move(respond));
                              });
    return channel;
}

}  // namespace backtalk::server
