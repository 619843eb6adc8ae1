#include "adapters/server/texts_route.hpp"

#include "adapters/core/conversations.hpp"
#include "adapters/core/wording.hpp"
#include "adapters/server/router.hpp"
#include "adapters/server/server_context.hpp"

#include <nlohmann/json.hpp>

namespace backtalk::server {

void add_texts_route(Router& router, const ConversationService& conversations,
                     std::shared_ptr<const ServerContext> context) {
    router.add(http::verb::get, "/api/v1/texts",
               [&conversations, context](const Request& request, const RequestContext&) {
                   nlohmann::json body = nlohmann::json::parse(texts_json(conversations.engine()->rules()));
                   // No Origin: not a page, so nothing a page could be refused.
                   const auto origin = request[http::field::origin];
                   body["origin_allowed"] = origin.empty() || context->origin_allowed(origin);
                   auto response = make_response(request, http::status::ok,
                                                  body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                                  "application/json");
                   // The answer depends on the rules in use and on Origin.
                   response.set(http::field::cache_control, "no-cache");
                   response.set(http::field::vary, "Origin");
                   response.set(http::field::access_control_allow_origin, "*");
                   return response;
               });
}

}  // namespace backtalk::server
