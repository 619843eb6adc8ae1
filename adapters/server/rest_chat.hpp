// The REST channel: POST /api/v1/chat (PROTOCOL.md, docs/rest.md). It only
// translates: the request body becomes a client object for the conversation
// service, and the answer is {"session", "new_session", "replies"}.
//
// - {"session", "text"} is a message, {"session", "choice"} a choice, and a
//   body with neither opens (or resumes) the conversation. A missing,
//   unknown or expired session opens a new conversation; its id is in the
//   answer.
// - Errors keep the same shape: "replies" holds one protocol error object,
//   and the HTTP status says what kind (400, 401, 409, 413, 415, 500, 503).
// - With a secret set, every request must be signed: X-Backtalk-Timestamp
//   (unix seconds, within max_clock_skew of ours) and X-Backtalk-Signature:
//   sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>, compared in
//   constant time; else 401 and nothing is read.
// - A "message_id" makes retries safe: the same message_id for the same
//   session gets the stored answer again, without a second turn, for at
//   least 24 hours (bounded, kept in the database across restarts).
// - Requests for one session are handled one at a time, in order.
#pragma once

#include "adapters/server/channel_routes.hpp"
#include "adapters/server/http_types.hpp"

#include <memory>

namespace backtalk::server {

class MetricsRegistry;

class RestChannel {
public:
    RestChannel(const RestSettings& settings, ChannelDependencies dependencies, MetricsRegistry& metrics);
    ~RestChannel();
    RestChannel(const RestChannel&) = delete;
    RestChannel& operator=(const RestChannel&) = delete;

    // POST /api/v1/chat. Answers through `respond`, possibly from another
    // thread when an earlier request of the same session is in progress.
    void handle(const Request& request, const RequestContext& context, Respond respond);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// Why a signed request is refused, or empty when it is fine. `now_seconds`
// is the server's clock in unix seconds.
std::string signature_problem(const Request& request, const std::string& secret, std::int64_t now_seconds,
                              std::chrono::seconds max_clock_skew);

// Makes the channel and registers POST /api/v1/chat. Call after
// Server::listen(), before Server::run().
std::shared_ptr<RestChannel> add_rest_routes(Server& server, const RestSettings& settings,
                                             ChannelDependencies dependencies);

}  // namespace backtalk::server
