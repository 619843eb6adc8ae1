// The routes of the web chat: the demo page and widget files, the WebSocket
// of PROTOCOL.md, /healthz and /metrics.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace backtalk {
class ConversationService;
struct RulesStatus;
}

namespace backtalk::server {

class Server;

struct HealthReport {
    bool database_ok = true;
    std::string database_detail;  // why it is degraded; empty when ok
};

struct GatewayDependencies {
    ConversationService& conversations;
    std::filesystem::path web_dir;  // holds index.html, widget.js, widget.css
    // Polled by /healthz; may be empty when there is no database.
    std::function<HealthReport()> health;
    // The rules for /healthz (adapters/server/rules_status.hpp); may be empty.
    std::function<RulesStatus()> rules;
};

// Registers /, /widget.js, /widget.css, /ws, /api/v1/texts, /healthz and
// /metrics. Throws std::runtime_error naming the file when a web file is
// missing or escapes web_dir. Call after Server::listen(), before Server::run().
void add_gateway_routes(Server& server, const GatewayDependencies& dependencies);

}  // namespace backtalk::server
