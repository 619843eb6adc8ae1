#include "adapters/server/channel_routes.hpp"

#include "adapters/server/channel_secrets.hpp"
#include "adapters/server/log.hpp"
#include "adapters/server/rest_chat.hpp"
#include "adapters/server/telegram_webhook.hpp"

#include <stdexcept>

namespace backtalk::server {

void validate(const TelegramSettings& settings) {
    if (!is_valid_telegram_secret(settings.secret)) {
        throw std::invalid_argument(
            "the Telegram webhook secret must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - "
            "(Telegram refuses any other secret_token)");
    }
    if (settings.api.token.empty()) {
        throw std::invalid_argument(
            "the Telegram webhook needs the bot token too: set BACKTALK_TELEGRAM_TOKEN or --telegram-token-file");
    }
    parse_bot_api_base(settings.api.base_url);
}

ChannelConfig load_channel_config(const ChannelOptions& options) {
    ChannelConfig config;
    config.telegram.secret = load_secret("BACKTALK_TELEGRAM_SECRET", options.telegram_secret_file);
    config.telegram.api.token = load_secret("BACKTALK_TELEGRAM_TOKEN", options.telegram_token_file);
    config.telegram.api.base_url = options.telegram_api_base;
    config.rest.secret = load_secret("BACKTALK_REST_SECRET", options.rest_secret_file);
    if (!config.telegram.secret.empty()) validate(config.telegram);
    return config;
}

ChannelRoutes::ChannelRoutes(std::shared_ptr<TelegramChannel> telegram, std::shared_ptr<RestChannel> rest)
    : telegram_(std::move(telegram)), rest_(std::move(rest)) {}

ChannelRoutes::~ChannelRoutes() = default;
ChannelRoutes::ChannelRoutes(ChannelRoutes&&) noexcept = default;
ChannelRoutes& ChannelRoutes::operator=(ChannelRoutes&&) noexcept = default;

void ChannelRoutes::stop(std::chrono::milliseconds grace) {
    if (telegram_) telegram_->stop(grace);
}

ChannelRoutes add_channel_routes(Server& server, const ChannelConfig& config, ChannelDependencies dependencies) {
    auto rest = add_rest_routes(server, config.rest, dependencies);
    log(LogLevel::info, "rest chat on",
        {{"path", "/api/v1/chat"}, {"signed", config.rest.secret.empty() ? "false" : "true"}});
    std::shared_ptr<TelegramChannel> telegram;
    if (!config.telegram.secret.empty()) {
        telegram = add_telegram_routes(server, config.telegram, dependencies);
        log(LogLevel::info, "telegram webhook on", {{"path", "/telegram/webhook"}});
    }
    return ChannelRoutes(std::move(telegram), std::move(rest));
}

}  // namespace backtalk::server
