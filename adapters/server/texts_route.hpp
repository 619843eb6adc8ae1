// GET /api/v1/texts?locale=en: the words the web widget shows beside the
// replies (level titles and actions, cause names, error texts), from the
// rules in use, so a reworded cause shows on the next page load after a
// rules reload. The server has one locale; another asked for gets that one,
// and "locale" says which. Public: any page may read it
// (Access-Control-Allow-Origin: *).
#pragma once

namespace backtalk {
class ConversationService;
}

namespace backtalk::server {

class Router;

void add_texts_route(Router& router, const ConversationService& conversations);

}  // namespace backtalk::server
