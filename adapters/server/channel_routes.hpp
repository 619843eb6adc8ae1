// The messaging channels of `backtalk serve`: Telegram (POST
// /telegram/webhook, off unless its secret is set) and REST (POST
// /api/v1/chat). Their settings, where the secrets come from, and one call
// that registers both.
#pragma once

#include "adapters/server/bot_api_client.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace backtalk {
class ConversationService;
namespace store {
class Store;
}
}  // namespace backtalk

namespace backtalk::server {

class Server;
class TelegramChannel;
class RestChannel;

// What the channels talk to. Both outlive the server's run().
struct ChannelDependencies {
    ConversationService& conversations;
    store::Store& store;
};

struct TelegramSettings {
    std::string secret;  // empty: the webhook is off
    BotApiOptions api;   // base_url and token
    std::size_t remembered_updates = 200000;  // update ids kept for dedup, at most
};

struct RestSettings {
    std::string secret;  // empty: requests need no signature
    std::size_t max_body_bytes = 32 * 1024;
    std::chrono::seconds max_clock_skew{300};  // of X-Backtalk-Timestamp
    std::size_t remembered_answers = 20000;    // answers kept by message_id, at most
};

// Throws std::invalid_argument naming the problem: a secret Telegram would
// refuse, no bot token, a bad Bot API base.
void validate(const TelegramSettings& settings);

// What `backtalk serve` was told, before the secrets are read.
struct ChannelOptions {
    std::string telegram_secret_file;  // else BACKTALK_TELEGRAM_SECRET
    std::string telegram_token_file;   // else BACKTALK_TELEGRAM_TOKEN
    std::string telegram_api_base = "https://api.telegram.org";
    std::string rest_secret_file;      // else BACKTALK_REST_SECRET
};

struct ChannelConfig {
    TelegramSettings telegram;
    RestSettings rest;
};

// Reads the secrets and checks them with the rest of the options. Throws
// std::runtime_error or std::invalid_argument naming the problem: an
// unreadable file, a webhook secret Telegram would refuse, a webhook
// without a bot token, a bad Bot API base.
ChannelConfig load_channel_config(const ChannelOptions& options);

class ChannelRoutes {
public:
    ChannelRoutes(std::shared_ptr<TelegramChannel> telegram, std::shared_ptr<RestChannel> rest);
    ~ChannelRoutes();
    ChannelRoutes(ChannelRoutes&&) noexcept;
    ChannelRoutes& operator=(ChannelRoutes&&) noexcept;

    // After Server::run() returns: lets queued Bot API calls finish for up
    // to `grace`.
    void stop(std::chrono::milliseconds grace);

private:
    std::shared_ptr<TelegramChannel> telegram_;  // null when off
    std::shared_ptr<RestChannel> rest_;
};

// Registers the REST route, and the Telegram webhook when its secret is
// set. Call after Server::listen(), before Server::run().
ChannelRoutes add_channel_routes(Server& server, const ChannelConfig& config, ChannelDependencies dependencies);

}  // namespace backtalk::server
