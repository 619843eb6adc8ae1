// GET /api/v1/texts?locale=en: the words the web widget shows beside the
// replies (level titles and actions, cause names, error texts), from the
// rules in use, so a reworded cause shows on the next page load after a
// rules reload. The server has one locale; another asked for gets that one,
// and "locale" says which. "origin_allowed" says whether the page asking
// (its Origin header) may open the chat, so the widget can say the chat is
// not available on this site instead of reconnecting forever. Public: any
// page may read it (Access-Control-Allow-Origin: *).
#pragma once

#include <memory>

namespace backtalk {
class ConversationService;
}

namespace backtalk::server {

class Router;
struct ServerContext;

void add_texts_route(Router& router, const ConversationService& conversations,
                     std::shared_ptr<const ServerContext> context);

}  // namespace backtalk::server
