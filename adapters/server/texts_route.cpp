#include "adapters/server/texts_route.hpp"

#include "adapters/core/conversations.hpp"
#include "adapters/core/wording.hpp"
#include "adapters/server/router.hpp"

namespace backtalk::server {

void add_texts_route(Router& router, const ConversationService& conversations) {
    router.add(http::verb::get, "/api/v1/texts",
               [&conversations](const Request& request, const RequestContext&) {
                   auto response = make_response(request, http::status::ok,
                                                 texts_json(conversations.engine()->rules()), "application/json");
                   // The answer depends on the rules in use.
                   response.set(http::field::cache_control, "no-cache");
                   response.set(http::field::access_control_allow_origin, "*");
                   return response;
               });
}

}  // namespace backtalk::server
