#include "adapters/server/admin_routes.hpp"

#include "adapters/core/rules_sync.hpp"
#include "adapters/server/channel_secrets.hpp"
#include "adapters/server/metrics.hpp"
#include "adapters/server/static_files.hpp"
#include "store/review.hpp"
#include "store/store.hpp"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace backtalk::server {

namespace {

namespace net = boost::asio;
using nlohmann::json;
namespace review = store::review;

constexpr std::string_view bearer_prefix = "Bearer ";
constexpr std::string_view conversations_path = "/api/v1/conversations";

Response json_response(const Request& request, http::status status, const json& body) {
    auto response = make_response(request, status, body.dump() + '\n', "application/json");
    // Conversation logs must not linger in caches.
    response.set(http::field::cache_control, "no-store");
    return response;
}

Response json_error(const Request& request, http::status status, std::string_view code, std::string_view message) {
    return json_response(request, status, json{{"error", {{"code", code}, {"message", message}}}});
}

bool authorised(const Request& request, const std::string& token) {
    const auto header = request[http::field::authorization];
    const std::string_view value(header.data(), header.size());
    if (value.size() <= bearer_prefix.size() || value.substr(0, bearer_prefix.size()) != bearer_prefix) return false;
    return secrets_equal(value.substr(bearer_prefix.size()), token);
}

std::size_t parse_limit(std::string_view text) {
    std::size_t limit = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (error != std::errc{} || end != text.data() + text.size()) {
        throw std::invalid_argument("limit must be a whole number, e.g. limit=50");
    }
    return limit;
}

struct Query {
    review::Filter filter;
    std::string format;  // export only
};

// "since=7d&level=emergency&limit=20". Unknown names are refused so a typo
// does not silently widen what is shown.
Query parse_query(std::string_view query, std::int64_t now_ms, bool accepts_format) {
    Query parsed;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const std::string value(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (value.empty()) continue;  // an empty form field: no filter
        if (name == "since") {
            parsed.filter.since_ms = review::parse_time_ms(value, now_ms);
        } else if (name == "until") {
            parsed.filter.until_ms = review::parse_time_ms(value, now_ms);
        } else if (name == "level") {
            parsed.filter.level = value;
        } else if (name == "channel") {
            parsed.filter.channel = value;
        } else if (name == "reviewed") {
            if (value != "yes" && value != "no") throw std::invalid_argument("reviewed must be yes or no");
            parsed.filter.reviewed = value == "yes";
        } else if (name == "tag") {
            parsed.filter.tag = value;
        } else if (name == "q") {
            parsed.filter.text = value;
        } else if (name == "limit") {
            parsed.filter.limit = parse_limit(value);
        } else if (name == "format" && accepts_format) {
            parsed.format = value;
        } else {
            throw std::invalid_argument("unknown query parameter '" + std::string(name) +
                                        "'; use since, until, level, channel, reviewed, tag, q, limit" +
                                        (accepts_format ? ", format" : ""));
        }
    }
    review::validate(parsed.filter);
    return parsed;
}

// What every API route shares: the token check, the audit row, and turning
// bad filters and unreadable databases into clear answers.
class AdminApi : public std::enable_shared_from_this<AdminApi> {
public:
    AdminApi(std::string token, AdminDependencies dependencies)
        : token_(std::move(token)),
          deps_(std::move(dependencies)),
          // Made now, so that /metrics lists it at 0 and the first wrong
          // token is an increase an alert can see.
          rejected_(deps_.metrics.counter("backtalk_admin_rejected_total",
                                          "Admin API requests refused for a missing or wrong token")) {}

    using Body = std::function<Response(const Request&, const RequestContext&, std::string& audit_detail)>;
    struct Route {
        std::string action;  // the audit table's name for it
        Body body;
    };

    // The token is checked on the network thread; the body runs on the
    // worker and answers from there.
    Router::AsyncHandler guarded(std::string action, Body body) {
        // The handler keeps the API alive: the router outlives add_admin_routes().
        // A queued call keeps its route alive: the router may be cleared first.
        auto route = std::make_shared<const Route>(Route{std::move(action), std::move(body)});
        return [self = shared_from_this(), route](const Request& request, const RequestContext& context,
                                                  Respond respond) {
            if (!authorised(request, self->token_)) {
                self->rejected_.add();
                auto response = json_error(request, http::status::unauthorized, "unauthorized",
                                           "send the admin token as Authorization: Bearer TOKEN");
                response.set(http::field::www_authenticate, "Bearer realm=\"backtalk admin\"");
                return respond(std::move(response));
            }
            // The request lives only during this call.
            net::post(self->deps_.worker,
                      [self, route, request = Request(request), context, respond = std::move(respond)] {
                          respond(self->run(*route, request, context));
                      });
        };
    }

    Response run(const Route& route, const Request& request, const RequestContext& context) {
        std::string detail = context.query;
        Response response = [&] {
            try {
                return route.body(request, context, detail);
            } catch (const std::invalid_argument& error) {
                return json_error(request, http::status::bad_request, "bad_request", error.what());
            } catch (const std::exception& error) {
                return json_error(request, http::status::service_unavailable, "database_unavailable",
                                  std::string("the conversation log cannot be read: ") + error.what());
            }
        }();
        deps_.store.record_audit({deps_.now_ms(), "admin-api " + context.client_address, route.action, detail});
        return response;
    }

    Query query(const RequestContext& context, bool accepts_format = false) const {
        return parse_query(context.query, deps_.now_ms(), accepts_format);
    }

    // Reviewers see every message sent before their request: the log
    // writer's queue is committed first (it batches for up to 50 ms). A
    // failing database gets a short wait, so that reviews stay responsive,
    // and the reader then sees what is committed.
    std::unique_ptr<review::ReviewReader> review_committed() {
        deps_.store.flush(std::chrono::milliseconds(250));
        return deps_.store.review();
    }

    // The full id a path names (the id or its first characters); nothing
    // when no conversation matches. A path that is no id, or a prefix
    // several conversations share, is a bad request.
    std::optional<std::string> resolve(const std::string& id_or_prefix) {
        if (id_or_prefix.empty() || id_or_prefix.find('/') != std::string::npos) return std::nullopt;
        return review_committed()->resolve_id(id_or_prefix);
    }

    bool mark_reviewed(review::ReviewMark mark, const RequestContext& context) {
        mark.time_ms = deps_.now_ms();
        mark.reviewer = "admin-api " + context.client_address;
        return deps_.store.mark_reviewed(mark);
    }

    // A reload from here is published to every instance on a shared database.
    SyncedReload reload_rules(const RequestContext& context) {
        return deps_.rules.reload("admin-api " + context.client_address);
    }

    // Erasure on request: the conversation leaves memory first, so no turn in
    // progress writes it back, then the store deletes it after whatever was
    // queued before.
    bool erase(const std::string& id) {
        const bool live = deps_.conversations.forget(id);
        return deps_.store.delete_conversation(id) || live;
    }

private:
    std::string token_;
    AdminDependencies deps_;
    Counter& rejected_;
};

// {"note": "...", "tags": ["follow-up"] or "follow-up, wording"}; both optional.
review::ReviewMark review_mark_from_body(const std::string& body) {
    const json given = json::parse(body, nullptr, false);
    if (!given.is_object()) throw std::invalid_argument("send a JSON object: {\"note\": \"...\", \"tags\": [\"...\"]}");
    review::ReviewMark mark;
    if (given.contains("note")) {
        if (!given["note"].is_string()) throw std::invalid_argument("note must be text");
        mark.note = given["note"].get<std::string>();
    }
    if (given.contains("tags")) {
        const json& tags = given["tags"];
        if (tags.is_string()) {
            mark.tags = review::parse_tags(tags.get<std::string>());
        } else if (tags.is_array() && std::all_of(tags.begin(), tags.end(), [](const json& t) { return t.is_string(); })) {
            for (const json& tag : tags) mark.tags.push_back(tag.get<std::string>());
        } else {
            throw std::invalid_argument("tags must be a list of words or one text of words separated by commas");
        }
    }
    for (const auto& [name, value] : given.items()) {
        if (name != "note" && name != "tags") throw std::invalid_argument("unknown field '" + name + "'; use note, tags");
    }
    return mark;
}

Response export_response(const Request& request, AdminApi& api, const Query& query) {
    const auto format = review::export_format_from_string(query.format.empty() ? "jsonl" : query.format);
    if (!format) throw std::invalid_argument("format must be jsonl or csv");
    std::ostringstream out;
    api.review_committed()->write_export(query.filter, *format, out);
    const bool csv = *format == review::ExportFormat::csv;
    auto response = make_response(request, http::status::ok, out.str(),
                                  csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
    response.set(http::field::cache_control, "no-store");
    response.set(http::field::content_disposition,
                 csv ? "attachment; filename=\"backtalk-export.csv\"" : "attachment; filename=\"backtalk-export.jsonl\"");
    return response;
}

}  // namespace

std::string load_admin_token(const std::string& file) {
    std::string token = load_secret("BACKTALK_ADMIN_TOKEN", file);
    if (!token.empty() && token.size() < min_admin_token_length) {
        throw std::invalid_argument("the admin token must be at least " + std::to_string(min_admin_token_length) +
                                    " characters long");
    }
    return token;
}

void add_admin_routes(Router& router, const std::string& token, AdminDependencies dependencies) {
    if (token.empty()) return;
    add_admin_pages(router, dependencies.web_dir);
    auto api = std::make_shared<AdminApi>(token, std::move(dependencies));

    router.add_async(http::verb::get, std::string(conversations_path),
               api->guarded("list", [api = api.get()](const Request& request, const RequestContext& context,
                                                           std::string&) {
                   const auto filter = api->query(context).filter;
                   return json_response(request, http::status::ok, json{{"conversations", api->review_committed()->list_conversations(filter)}});
               }));
    router.add_async(http::verb::get, std::string(conversations_path) + "/*",
               api->guarded("show", [api = api.get()](const Request& request, const RequestContext& context,
                                                           std::string& detail) {
                   const std::string given = context.path.substr(conversations_path.size() + 1);
                   detail = given;
                   const auto id = api->resolve(given);
                   if (!id) return json_error(request, http::status::not_found, "not_found", "no conversation " + given);
                   detail = *id;
                   const auto found = api->review_committed()->transcript(*id);
                   if (!found) {
                       return json_error(request, http::status::not_found, "not_found", "no conversation " + given);
                   }
                   return json_response(request, http::status::ok, *found);
               }));
    router.add_async(http::verb::delete_, std::string(conversations_path) + "/*",
               api->guarded("delete", [api = api.get()](const Request& request, const RequestContext& context,
                                                             std::string& detail) {
                   const std::string given = context.path.substr(conversations_path.size() + 1);
                   detail = given;
                   // Only a whole id erases: a short one could name another
                   // conversation than the one the reviewer looked at.
                   if (given.empty() || given.find('/') != std::string::npos || !api->erase(given)) {
                       return json_error(request, http::status::not_found, "not_found", "no conversation " + given);
                   }
                   return json_response(request, http::status::ok, json{{"deleted", given}});
               }));
    router.add_async(http::verb::post, std::string(conversations_path) + "/*",
               api->guarded("review", [api = api.get()](const Request& request, const RequestContext& context,
                                                             std::string& detail) {
                   constexpr std::string_view suffix = "/review";
                   std::string given = context.path.substr(conversations_path.size() + 1);
                   detail = given;
                   if (given.size() <= suffix.size() || given.compare(given.size() - suffix.size(), suffix.size(), suffix) != 0) {
                       return json_error(request, http::status::not_found, "not_found",
                                         "POST /api/v1/conversations/ID/review marks a conversation reviewed");
                   }
                   given.resize(given.size() - suffix.size());
                   review::ReviewMark mark = review_mark_from_body(request.body());
                   const auto id = api->resolve(given);
                   if (!id) return json_error(request, http::status::not_found, "not_found", "no conversation " + given);
                   mark.conversation = *id;
                   if (!api->mark_reviewed(mark, context)) {
                       return json_error(request, http::status::not_found, "not_found", "no conversation " + given);
                   }
                   // The audit row says what was marked; the note stays in the log only.
                   detail = *id + " tags=" + json(mark.tags).dump();
                   const auto marked = api->review_committed()->transcript(*id);
                   return json_response(request, http::status::ok,
                                        json{{"reviewed", *id},
                                             {"review", marked ? marked->at("conversation").value("review", json(nullptr))
                                                               : json(nullptr)}});
               }));
    router.add_async(http::verb::get, "/api/v1/stats",
               api->guarded("stats", [api = api.get()](const Request& request, const RequestContext& context,
                                                            std::string&) {
                   const auto filter = api->query(context).filter;
                   return json_response(request, http::status::ok, api->review_committed()->stats(filter));
               }));
    router.add_async(http::verb::get, "/api/v1/unmatched",
               api->guarded("unmatched", [api = api.get()](const Request& request,
                                                                const RequestContext& context, std::string&) {
                   const auto filter = api->query(context).filter;
                   return json_response(request, http::status::ok, json{{"unmatched", api->review_committed()->unmatched(filter)}});
               }));
    router.add_async(http::verb::get, "/api/v1/export",
               api->guarded("export", [api = api.get()](const Request& request, const RequestContext& context,
                                                             std::string&) {
                   return export_response(request, *api, api->query(context, true));
               }));
    router.add_async(http::verb::post, "/api/v1/rules/reload",
               api->guarded("reload", [api = api.get()](const Request& request, const RequestContext& context,
                                                             std::string& detail) {
                   const SyncedReload result = api->reload_rules(context);
                   const ReloadResult& local = result.local;
                   detail = (local.ok ? "ok " : "refused ") + local.version + (result.published ? " published" : "");
                   json body{{"ok", local.ok}, {"version", local.version}, {"errors", local.errors}};
                   if (result.shared) {
                       body["published"] = result.published;
                       if (!result.publish_error.empty()) body["publish_error"] = result.publish_error;
                   }
                   return json_response(request, local.ok ? http::status::ok : http::status::unprocessable_entity,
                                        body);
               }));
}

}  // namespace backtalk::server
