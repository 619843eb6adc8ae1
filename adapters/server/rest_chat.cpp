#include "adapters/server/rest_chat.hpp"

#include "adapters/core/conversations.hpp"
#include "adapters/server/channel_secrets.hpp"
#include "adapters/server/keyed_serial.hpp"
#include "adapters/server/metrics.hpp"
#include "adapters/server/recent_ledger.hpp"
#include "adapters/server/router.hpp"
#include "adapters/server/server.hpp"
#include "adapters/server/turn_metrics.hpp"
#include "store/store.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <optional>
#include <string_view>
#include <variant>

namespace backtalk::server {

namespace {

using json = nlohmann::json;

constexpr const char* answer_scope = "rest_answer";
constexpr std::size_t max_session_bytes = 128;
constexpr std::size_t max_message_id_bytes = 128;
// A message_id taken this long ago without an answer was taken by an
// instance that stopped: turns take milliseconds, and at most ten tries.
constexpr std::int64_t abandoned_claim_ms = 120'000;

std::int64_t wall_clock_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string lower(std::string_view text) {
    std::string result(text);
    for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return result;
}

// A refusal before any turn: an HTTP status and a protocol error object.
struct Refusal {
    http::status status;
    std::string code;
    std::string message;
};

http::status status_for(const std::string& code) {
    if (code == "rate_limited") return http::status::too_many_requests;
    if (code == "unavailable") return http::status::service_unavailable;
    if (code == "internal") return http::status::internal_server_error;
    return http::status::bad_request;  // bad_json, unknown_type, empty, too_long, bad_choice
}

std::string session_field(const std::string& session) { return session.empty() ? "null" : dump(session); }

std::string answer_body(const std::string& session, bool new_session, const std::vector<std::string>& replies) {
    std::string body = "{\"session\":" + session_field(session) + ",\"new_session\":" + (new_session ? "true" : "false") +
                       ",\"replies\":[";
    for (std::size_t i = 0; i < replies.size(); ++i) {
        if (i > 0) body += ',';
        body += replies[i];
    }
    return body + "]}";
}

// What the request asks for, checked.
struct ChatRequest {
    std::string session;
    std::string message_id;
    protocol::Checked client_object = protocol::ClientObject{};
    std::string raw;          // the text or choice sent, for the log of a refused one
    std::string fingerprint;  // what a message_id stands for: a retry must repeat it
};

std::optional<std::string> optional_string(const json& root, const char* name, std::string& out) {
    const auto found = root.find(name);
    if (found == root.end() || found->is_null()) return std::nullopt;
    if (!found->is_string()) return std::string("\"") + name + "\" must be a string";
    out = found->get<std::string>();
    return std::nullopt;
}

std::variant<ChatRequest, std::string> read_chat_request(const std::string& body) {
    const json root = json::parse(body, nullptr, false);
    if (root.is_discarded()) return std::string("the body is not valid JSON (UTF-8)");
    if (!root.is_object()) return std::string("the body must be a JSON object");
    ChatRequest request;
    std::string text;
    std::string choice;
    std::string locale;
    for (const auto& [name, target] : {std::pair{"session", &request.session}, std::pair{"message_id", &request.message_id},
                                       std::pair{"text", &text}, std::pair{"choice", &choice},
                                       std::pair{"locale", &locale}}) {
        if (auto problem = optional_string(root, name, *target)) return *problem;
    }
    if (request.session.size() > max_session_bytes) return std::string("\"session\" is too long to be a session id");
    if (root.contains("message_id") && !root["message_id"].is_null() &&
        (request.message_id.empty() || request.message_id.size() > max_message_id_bytes)) {
        return std::string("\"message_id\" must be 1 to 128 bytes");
    }
    const bool has_text = root.contains("text") && !root["text"].is_null();
    const bool has_choice = root.contains("choice") && !root["choice"].is_null();
    if (has_text && has_choice) return std::string("send either \"text\" or \"choice\", not both");
    // The fingerprint is the PROTOCOL.md object the request stands for, as
    // answers stored before this were keyed; the turn gets the object itself.
    json fingerprint;
    if (has_text) {
        fingerprint = {{"type", "message"}, {"text", text}};
        request.client_object = protocol::message_object(text);
        request.raw = text;
    } else if (has_choice) {
        fingerprint = {{"type", "choice"}, {"id", choice}};
        request.client_object = protocol::choice_object(choice);
        request.raw = choice;
    } else {
        fingerprint = {{"type", "start"}};
        if (!request.session.empty()) fingerprint["session"] = request.session;
        if (!locale.empty()) fingerprint["locale"] = locale;
        request.client_object = protocol::ClientObject{protocol::Start{request.session, locale}};
    }
    request.fingerprint = sha256_hex(dump(fingerprint));
    return request;
}

// The session a request that could not be read names, when it names one as
// a string of a session id's size.
std::string session_of(const std::string& body) {
    const json root = json::parse(body, nullptr, false);
    if (!root.is_object()) return {};
    const auto found = root.find("session");
    if (found == root.end() || !found->is_string() || found->get_ref<const std::string&>().size() > max_session_bytes) {
        return {};
    }
    return found->get<std::string>();
}

bool is_json_content_type(std::string_view value) {
    const auto media_type = lower(value.substr(0, value.find(';')));
    const auto first = media_type.find_first_not_of(" \t");
    const auto last = media_type.find_last_not_of(" \t");
    return first != std::string::npos && media_type.substr(first, last - first + 1) == "application/json";
}

bool all_digits(std::string_view text) {
    if (text.empty()) return false;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

}  // namespace

std::string signature_problem(const Request& request, const std::string& secret, std::int64_t now_seconds,
                              std::chrono::seconds max_clock_skew) {
    const std::string_view timestamp = request["X-Backtalk-Timestamp"];
    const std::string_view signature = request["X-Backtalk-Signature"];
    if (timestamp.empty()) return "missing X-Backtalk-Timestamp";
    if (signature.empty()) return "missing X-Backtalk-Signature";
    if (!all_digits(timestamp) || timestamp.size() > 12) return "X-Backtalk-Timestamp must be unix time in seconds";
    const std::int64_t sent = std::stoll(std::string(timestamp));
    const std::int64_t skew = sent > now_seconds ? sent - now_seconds : now_seconds - sent;
    if (skew > max_clock_skew.count()) {
        return "X-Backtalk-Timestamp is more than " + std::to_string(max_clock_skew.count()) +
               " seconds away from the server's clock";
    }
    constexpr std::string_view prefix = "sha256=";
    if (signature.substr(0, prefix.size()) != prefix) return "X-Backtalk-Signature must be sha256=<hex>";
    const std::string expected = hmac_sha256_hex(secret, std::string(timestamp) + "." + request.body());
    if (!secrets_equal(lower(signature.substr(prefix.size())), expected)) return "the signature does not match";
    return {};
}

struct RestChannel::Impl : std::enable_shared_from_this<RestChannel::Impl> {
    Impl(const RestSettings& rest_settings, ChannelDependencies dependencies, MetricsRegistry& registry)
        : settings(rest_settings),
          conversations(dependencies.conversations),
          store(dependencies.store),
          metrics(registry),
          answers(&dependencies.store, {answer_scope, rest_settings.remembered_answers, std::chrono::hours(25)},
                  wall_clock_ms()),
          turn_metrics(registry, "rest"),
          replays(registry.counter("backtalk_rest_replays_total",
                                   "REST requests answered again from their message_id, without a turn")) {
        // Listed at 0 from the start: the first refusal or server error is an
        // increase an alert can see.
        for (const char* reason :
             {"bad_json", "signature", "content_type", "too_large", "message_id_reused", "message_id_abandoned"}) {
            rejected(reason);
        }
        for (const http::status status : {http::status::ok, http::status::service_unavailable,
                                          http::status::internal_server_error}) {
            requests(status);
        }
    }

    Counter& rejected(const char* reason) {
        return metrics.counter("backtalk_rest_rejected_total", "REST requests refused before a turn, by reason",
                               {{"reason", reason}});
    }
    Counter& requests(http::status status) {
        return metrics.counter("backtalk_rest_requests_total", "REST requests answered, by HTTP status",
                               {{"status", std::to_string(static_cast<unsigned>(status))}});
    }
    void count_status(http::status status) { requests(status).add(); }

    void handle(const Request& request, const RequestContext&, Respond respond) {
        if (auto refusal = check(request)) {
            return respond(refuse(request, *refusal));
        }
        auto parsed = read_chat_request(request.body());
        if (const auto* problem = std::get_if<std::string>(&parsed)) {
            rejected("bad_json").add();
            return respond(refuse(request, {http::status::bad_request, "bad_json", *problem}, session_of(request.body())));
        }
        ChatRequest chat = std::move(std::get<ChatRequest>(parsed));
        // One session's requests in order; a retry without a session waits
        // for the request it repeats through its message_id.
        const std::string key = !chat.session.empty()      ? "session " + chat.session
                                : !chat.message_id.empty() ? "message " + chat.message_id
                                                           : std::string();
        auto job = [self = shared_from_this(), request, chat = std::move(chat),
                    respond = std::move(respond)](const KeyedSerialRunner::Finished& finished) {
            self->answer(request, chat, [respond, finished](Response response) {
                // The key is free for the next request once this one's
                // answer (and its stored copy for retries) exists.
                finished();
                respond(std::move(response));
            });
        };
        if (key.empty()) return job([] {});
        serial.run_async(key, std::move(job));
    }

    std::optional<Refusal> check(const Request& request) {
        if (!settings.secret.empty()) {
            const auto now_seconds = wall_clock_ms() / 1000;
            if (auto problem = signature_problem(request, settings.secret, now_seconds, settings.max_clock_skew);
                !problem.empty()) {
                rejected("signature").add();
                return Refusal{http::status::unauthorized, "unauthorized", problem};
            }
        }
        if (!is_json_content_type(request[http::field::content_type])) {
            rejected("content_type").add();
            return Refusal{http::status::unsupported_media_type, "bad_json",
                           "send the body as Content-Type: application/json"};
        }
        if (request.body().size() > settings.max_body_bytes) {
            rejected("too_large").add();
            return Refusal{http::status::payload_too_large, "too_long",
                           "the body is larger than " + std::to_string(settings.max_body_bytes) + " bytes"};
        }
        return std::nullopt;
    }

    // `session`: the conversation the refused request named, if it could be
    // read, so a client that keeps the session from every answer keeps it.
    Response refuse(const Request& request, const Refusal& refusal, const std::string& session = {}) {
        const auto body =
            answer_body(session, false, {protocol::to_json(protocol::Error{refusal.code, refusal.message}, true)});
        count_status(refusal.status);
        return json_response(request, refusal.status, body);
    }

    Response unavailable(const Request& request, const std::string& session, const std::string& why) {
        return refuse(request, {http::status::service_unavailable, "unavailable", why}, session);
    }

    static Response json_response(const Request& request, http::status status, std::string body) {
        auto response = make_response(request, status, std::move(body), "application/json");
        response.set(http::field::cache_control, "no-store");
        return response;
    }

    // Answers through `respond`, at once or, when the conversation or the
    // message_id must be read from the store, from the store's reader thread.
    void answer(const Request& request, const ChatRequest& chat, Respond respond) {
        if (chat.message_id.empty() || !answers.asks_store()) return claim_and_answer(request, chat, std::move(respond));
        // The message_id is claimed in the shared database, which a network
        // thread must not wait on.
        const bool posted = store.post_read([self = shared_from_this(), request, chat, respond] {
            self->claim_and_answer(request, chat, respond);
        });
        if (!posted) respond(unavailable(request, chat.session, "the server is shutting down; send it again"));
    }

    // A message_id is taken before its turn runs, so that a retry (to this
    // instance or, on a shared store, another) gets this turn's answer
    // rather than a turn of its own.
    void claim_and_answer(const Request& request, const ChatRequest& chat, Respond respond) {
        const std::string& fingerprint = chat.fingerprint;
        const std::string answer_key = sha256_hex(chat.session + "\n" + chat.message_id);
        if (!chat.message_id.empty()) {
            std::optional<std::string> stored;
            try {
                stored = answers.claim(answer_key,
                                       dump(json{{"request", fingerprint}, {"pending_since", wall_clock_ms()}}),
                                       wall_clock_ms());
            } catch (const store::StoreUnavailable&) {
                return respond(unavailable(request, chat.session, "the database cannot be reached; send it again"));
            }
            if (stored) return respond(replay(request, chat.session, *stored, fingerprint));
        }
        const auto started = std::chrono::steady_clock::now();
        conversations.handle_checked_async(
            chat.session, chat.client_object, ChannelInfo{"rest", ""}, chat.raw,
            [self = shared_from_this(), request, message_id = chat.message_id, fingerprint, answer_key, started,
             respond = std::move(respond)](std::string session, std::vector<OutObject> objects) {
                respond(self->turn_answer(request, message_id, fingerprint, answer_key, started, session, objects));
            });
    }

    Response turn_answer(const Request& request, const std::string& message_id, const std::string& fingerprint,
                         const std::string& answer_key, std::chrono::steady_clock::time_point started,
                         const std::string& session, const std::vector<OutObject>& objects) {
        std::optional<Level> last_outcome;
        turn_metrics.record_turn(objects, std::chrono::steady_clock::now() - started, last_outcome);

        bool new_session = false;
        std::vector<OutObject> shown;
        for (const auto& object : objects) {
            if (const auto* opened = std::get_if<SessionOpened>(&object)) {
                new_session = !opened->resumed;
            } else {
                shown.push_back(object);
            }
        }
        const auto* error = shown.empty() ? nullptr : std::get_if<protocol::Error>(&shown.back());
        const http::status status = error ? status_for(error->code) : http::status::ok;
        const std::string body = answer_body(session, new_session, to_json_objects(shown));
        if (!message_id.empty()) {
            const json stored{{"status", static_cast<unsigned>(status)}, {"body", body}, {"request", fingerprint}};
            answers.replace(answer_key, dump(stored), wall_clock_ms());
        }
        count_status(status);
        return json_response(request, status, body);
    }

    Response replay(const Request& request, const std::string& session, const std::string& stored_text,
                    const std::string& fingerprint) {
        const json stored = json::parse(stored_text, nullptr, false);
        if (!stored.is_object() || stored.value("request", "") != fingerprint) {
            rejected("message_id_reused").add();
            return refuse(request,
                          {http::status::conflict, "conflict",
                           "this message_id was already used for a different message in this session"},
                          session);
        }
        if (stored.contains("pending_since")) {
            // Taken by another instance, whose turn has not answered yet, or
            // never will: it stopped between taking the message_id and
            // answering, and a turn is never that slow.
            if (wall_clock_ms() - stored.value("pending_since", std::int64_t{0}) < abandoned_claim_ms) {
                return unavailable(request, session, "this message_id is being answered right now; send it again");
            }
            rejected("message_id_abandoned").add();
            return refuse(request,
                          {http::status::conflict, "conflict",
                           "the server that took this message_id stopped before answering; send the message "
                           "again with a new message_id"},
                          session);
        }
        replays.add();
        const auto status = static_cast<http::status>(stored.value("status", 200u));
        count_status(status);
        auto response = json_response(request, status, stored.value("body", ""));
        response.set("X-Backtalk-Replayed", "true");
        return response;
    }

    const RestSettings settings;
    ConversationService& conversations;
    store::Store& store;
    MetricsRegistry& metrics;
    RecentLedger answers;
    KeyedSerialRunner serial;
    TurnMetrics turn_metrics;
    Counter& replays;
};

RestChannel::RestChannel(const RestSettings& settings, ChannelDependencies dependencies, MetricsRegistry& metrics)
    : impl_(std::make_shared<Impl>(settings, dependencies, metrics)) {}

RestChannel::~RestChannel() = default;

void RestChannel::handle(const Request& request, const RequestContext& context, Respond respond) {
    impl_->handle(request, context, std::move(respond));
}

std::shared_ptr<RestChannel> add_rest_routes(Server& server, const RestSettings& settings,
                                             ChannelDependencies dependencies) {
    auto channel = std::make_shared<RestChannel>(settings, dependencies, server.metrics());
    server.router().add_async(http::verb::post, "/api/v1/chat",
                              [channel](const Request& request, const RequestContext& context, Respond respond) {
                                  channel->handle(request, context, std::move(respond));
                              });
    return channel;
}

}  // namespace backtalk::server
