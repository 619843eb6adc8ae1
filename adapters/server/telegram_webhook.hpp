// The Telegram channel: POST /telegram/webhook, per the Bot API. It only
// translates: an update becomes a PROTOCOL.md client object for the
// conversation service, and the replies become Bot API calls.
//
// - Every request must carry the webhook secret in
//   X-Telegram-Bot-Api-Secret-Token (compared in constant time), else 401
//   and nothing is read.
// - Text messages are `message` objects; /start is `start` (resuming the
//   chat's conversation); any other command is its word as a message, so
//   /help and /restart reach the engine's help and start-over intents;
//   button presses are `choice` objects and are always answered with
//   answerCallbackQuery. Edits and messages without text get a short polite
//   reply and no turn; other update kinds are acknowledged and ignored.
// - An update_id is handled at most once: ids are remembered (and kept in
//   the database) for at least 24 hours, so Telegram's retries and restarts
//   of ours cannot repeat a turn. One chat's updates are handled one at a
//   time, in the order they arrive.
// - A chat has one conversation, found again after a restart through a
//   binding from the chat's keyed hash to the session id; the raw chat id is
//   never stored or logged.
// - A turn that fits one message is answered in the webhook response (one
//   Bot API call, no token needed); answerCallbackQuery and turns of several
//   messages go through the Bot API client, one chat's calls in order.
#pragma once

#include "adapters/server/channel_routes.hpp"
#include "adapters/server/http_types.hpp"

#include <chrono>
#include <memory>

namespace backtalk::server {

class MetricsRegistry;
class Server;

// The webhook's handler and everything it keeps: the seen update ids, the
// per-chat order, the Bot API client.
class TelegramChannel {
public:
    // Throws std::invalid_argument for a secret Telegram would refuse, a
    // missing token or a bad Bot API base.
    TelegramChannel(const TelegramSettings& settings, ChannelDependencies dependencies, MetricsRegistry& metrics);
    ~TelegramChannel();
    TelegramChannel(const TelegramChannel&) = delete;
    TelegramChannel& operator=(const TelegramChannel&) = delete;

    // POST /telegram/webhook. Answers through `respond`, possibly from
    // another thread when an earlier update of the same chat is in progress.
    void handle(const Request& request, const RequestContext& context, Respond respond);

    // Lets queued Bot API calls finish for up to `grace`, then drops the rest.
    void stop(std::chrono::milliseconds grace);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// Makes the channel and registers POST /telegram/webhook. Call after
// Server::listen(), before Server::run(); stop the channel after run()
// returns.
std::shared_ptr<TelegramChannel> add_telegram_routes(Server& server, const TelegramSettings& settings,
                                                     ChannelDependencies dependencies);

}  // namespace backtalk::server
