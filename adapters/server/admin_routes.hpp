// The review API and page of `backtalk serve` (docs/admin.md): GET /admin,
// /api/v1/conversations, /api/v1/conversations/ID, /api/v1/stats,
// /api/v1/unmatched, /api/v1/export, DELETE /api/v1/conversations/ID,
// POST /api/v1/conversations/ID/review and POST /api/v1/rules/reload. They exist
// only when an admin token is configured; every API call must carry it as
// `Authorization: Bearer TOKEN`, and every view, export and reload is written
// to the audit table.
#pragma once

#include "adapters/server/router.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace backtalk {
class ConversationService;
class RulesSync;
namespace store {
class Store;
}
}  // namespace backtalk

namespace backtalk::server {

// Shorter tokens are refused at startup: they could be guessed.
constexpr std::size_t min_admin_token_length = 16;

// The token in `file` when one is named, else BACKTALK_ADMIN_TOKEN, else
// empty (the admin routes are off). Throws std::runtime_error naming the file
// when it cannot be read, std::invalid_argument when the token is too short.
std::string load_admin_token(const std::string& file);

class MetricsRegistry;

struct AdminDependencies {
    MetricsRegistry& metrics;  // counts refused requests
    store::Store& store;
    RulesSync& rules;  // reloads, published to every instance on a shared database
    ConversationService& conversations;  // to drop a deleted conversation from memory
    std::filesystem::path web_dir;          // holds admin.html, admin.js, admin.css
    std::function<std::int64_t()> now_ms;   // wall clock, for filters and audit rows
    // Where the API's database work runs (waiting for the log writer,
    // queries, exports, erasure): never a network thread, whose other
    // connections would wait meanwhile. The owner joins it before the
    // store closes.
    boost::asio::any_io_executor worker;
};

// Registers the routes when `token` is not empty; does nothing otherwise.
// Throws std::runtime_error naming a web file that is missing.
void add_admin_routes(Router& router, const std::string& token, AdminDependencies dependencies);

}  // namespace backtalk::server
