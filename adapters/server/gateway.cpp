#include "adapters/server/gateway.hpp"

#include "adapters/core/conversations.hpp"
#include "adapters/server/log.hpp"
#include "adapters/server/rules_status.hpp"
#include "adapters/server/server.hpp"
#include "adapters/server/server_context.hpp"
#include "adapters/server/static_files.hpp"
#include "adapters/server/texts_route.hpp"
#include "adapters/server/websocket_session.hpp"

#include <nlohmann/json.hpp>

namespace backtalk::server {

namespace {

void add_health_route(Router& router, std::function<HealthReport()> health, std::function<RulesStatus()> rules) {
    router.add(http::verb::get, "/healthz",
               [health = std::move(health), rules = std::move(rules)](const Request& request, const RequestContext&) {
                   const HealthReport report = health ? health() : HealthReport{};
                   nlohmann::json body{{"status", report.database_ok ? "ok" : "degraded"},
                                       {"server", "ok"},
                                       {"database", report.database_ok ? "ok" : "degraded"}};
                   if (!report.database_detail.empty()) body["database_detail"] = report.database_detail;
                   if (rules) body["rules"] = rules_health(rules());
                   // The server answers, so it is alive: 200 either way; a
                   // degraded database still lets people chat.
                   auto response = make_response(request, http::status::ok, body.dump() + '\n',
                                                 "application/json");
                   response.set(http::field::cache_control, "no-store");
                   return response;
               });
}

void add_metrics_route(Router& router, const MetricsRegistry& metrics) {
    router.add(http::verb::get, "/metrics", [&metrics](const Request& request, const RequestContext&) {
        auto response = make_response(request, http::status::ok, metrics.render(),
                                      "text/plain; version=0.0.4; charset=utf-8");
        response.set(http::field::cache_control, "no-store");
        return response;
    });
}

void add_conversation_metrics(MetricsRegistry& metrics, const ConversationService& conversations) {
    metrics.add_collector([&conversations](std::string& out) {
        out += "# HELP backtalk_live_conversations Conversations held in memory (idle ones leave after --memory-idle)\n"
               "# TYPE backtalk_live_conversations gauge\n"
               "backtalk_live_conversations " +
               std::to_string(conversations.live_conversations()) + '\n';
    });
}

// The widget on a site that is not allowed only shows that it cannot
// connect; the operator learns why from this line. The origin is the
// site's, never the person's.
void log_refused_origin(ChatShared& shared, std::string_view origin) {
    const auto held_back = shared.refused_origin_log.admit(LogThrottle::Clock::now());
    if (!held_back) return;
    const std::string count = std::to_string(*held_back);
    log(LogLevel::warn, "websocket origin refused",
        {{"origin", origin}, {"refused_since_last_line", count}, {"hint", "add it with --allowed-origin"}});
}

void add_chat_route(Router& router, const std::shared_ptr<ChatShared>& shared) {
    Router::WebSocketRoute route;
    route.admit = [shared](const Request& request, const RequestContext&) -> std::optional<Response> {
        // Browsers always send Origin; a client without one is not a web
        // page, and the allow-list exists to protect people's browsers.
        const auto origin = request[http::field::origin];
        if (!origin.empty() && !shared->context->origin_allowed(origin)) {
            shared->counters.refused_origin.add();
            log_refused_origin(*shared, origin);
            return error_response(request, http::status::forbidden,
                                  "this origin may not open the chat; see --allowed-origin");
        }
        return std::nullopt;
    };
    route.open = [shared](boost::beast::tcp_stream stream, Request request, ConnectionLease lease,
                          RequestContext) {
        std::make_shared<WebSocketSession>(std::move(stream), std::move(lease), shared)->run(std::move(request));
    };
    router.add_websocket("/ws", std::move(route));
}

}  // namespace

void add_gateway_routes(Server& server, const GatewayDependencies& dependencies) {
    auto& router = server.router();
    add_static_routes(router, dependencies.web_dir);
    add_health_route(router, dependencies.health, dependencies.rules);
    add_metrics_route(router, server.metrics());
    add_conversation_metrics(server.metrics(), dependencies.conversations);
    auto shared = std::make_shared<ChatShared>(dependencies.conversations, server.context(),
                                               TurnMetrics(server.metrics(), "websocket"),
                                               WebSocketMetrics(server.metrics()));
    add_chat_route(router, shared);
    add_texts_route(router, dependencies.conversations, server.context());
}

}  // namespace backtalk::server
