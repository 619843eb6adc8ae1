// The conversation service: the one place where a channel's client object
// meets the engine, the session table and the conversation log. Every channel
// (terminal, WebSocket, REST, Telegram) calls handle() and only formats what
// comes back, so none of them holds dialogue logic.
#pragma once

#include "bot/engine.hpp"
#include "bot/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace backtalk {

namespace store { class Store; }

struct SessionOpened {
    std::string session;
    bool resumed = false;
};

// One object the bot sends; the last of a turn carries end_of_turn.
using OutObject = std::variant<SessionOpened, Reply, protocol::Error>;

// Serialises a turn's objects as PROTOCOL.md JSON, end_of_turn on the last.
std::vector<std::string> to_json_objects(const std::vector<OutObject>& objects);

struct ChannelInfo {
    std::string channel;    // "terminal", "websocket", "rest", "telegram"
    std::string user_hash;  // keyed hash of the channel's user id, or empty
};

struct ConversationOptions {
    std::chrono::seconds idle_expiry{std::chrono::hours(24)};
    // With a store, a conversation idle this long leaves memory and is read
    // back from the store when it goes on, so memory holds the conversations
    // of the last minutes, not of the last day. Without a store memory is
    // all there is, and conversations stay for idle_expiry.
    std::chrono::seconds memory_idle{std::chrono::minutes(10)};
    std::string locale = "en";
};

// The buttons a conversation's latest reply offered and the question they
// answer (empty when it offered none).
struct OfferedChoices {
    std::vector<QuickReply> quick_replies;
    std::string asking;
};

// Advice a turn gave or raised, and why; for emergency alerts.
struct AdviceGiven {
    std::string conversation;
    std::string channel;
    Level level = Level::self_care;
    std::vector<RuleBasis> basis;  // the rules at the level that hold, with their facts
    std::int64_t at_ms = 0;
    std::string words;  // what the person sent in that turn
};
using AdviceListener = std::function<void(const AdviceGiven&)>;

class ConversationService {
public:
    // `store` may be null (logging and persistence off). `now` and
    // `new_session_id` are injected so tests can replay conversations.
    ConversationService(std::shared_ptr<const Engine> engine, store::Store* store,
                        ConversationOptions options,
                        std::function<std::int64_t()> now_ms,
                        std::function<std::string()> new_session_id);
    ~ConversationService();

    // Handles one client object for the conversation `session_id` (empty:
    // none yet; updated when one opens). Safe to call from several threads;
    // a channel serialises calls for one connection.
    std::vector<OutObject> handle(std::string& session_id, const protocol::ClientObject& object,
                                  const ChannelInfo& channel);
    // A client object a channel built itself (protocol::message_object and
    // choice_object), or the error met building it: the error is answered,
    // and logged in the conversation with `raw` (what the person sent), as
    // handle_json does with a client object it cannot read.
    std::vector<OutObject> handle_checked(std::string& session_id, protocol::Checked checked,
                                          const ChannelInfo& channel, std::string_view raw);
    // The same for raw JSON text: a parse error becomes an error object.
    // `shown_asking`: the question this connection last showed, taken as
    // the one a choice answers when the client does not say (a connection
    // left behind by another window answers the question it shows).
    std::vector<OutObject> handle_json(std::string& session_id, std::string_view json_text,
                                       const ChannelInfo& channel, std::string_view shown_asking = {});

    // handle_json for a network thread, which must never wait on the store:
    // when the conversation has to be read back from the store (it left
    // memory, or is being read back for an earlier turn), the turn runs on
    // the store's reader thread and `done` is called there; otherwise the
    // turn runs here and `done` is called before this returns. Turns of one
    // conversation keep their order. `done` gets the session id (updated
    // when one opens) and the objects to send; post them to your strand.
    using TurnDone = std::function<void(std::string session_id, std::vector<OutObject> objects)>;
    void handle_json_async(std::string session_id, std::string json_text, ChannelInfo channel,
                           std::string shown_asking, TurnDone done);
    // handle_checked, the same way.
    void handle_checked_async(std::string session_id, protocol::Checked checked, ChannelInfo channel,
                              std::string raw, TurnDone done);

    // What the conversation's latest reply offered; empty for an unknown,
    // expired or erased conversation. For a channel whose buttons stay on
    // old messages (Telegram): which option a tap picked, and the buttons to
    // show again after a tap the conversation cannot take. Throws
    // store::StoreUnavailable when the conversation cannot be read now.
    OfferedChoices offered(const std::string& session_id);

    // Called after each turn that gives or raises advice, on the thread of
    // the turn with its conversation locked: it must not block. Set it
    // before the first turn.
    void on_advice(AdviceListener listener);

    // An error object worded by the current rules (texts.json "error_CODE"),
    // for the errors a channel answers itself. The errors handle() and
    // handle_json() return are worded the same way.
    protocol::Error error(std::string_view code) const;

    // Swaps in a new engine (rules reload); conversations keep going.
    void replace_engine(std::shared_ptr<const Engine> engine);
    std::shared_ptr<const Engine> engine() const;

    // The log writer is behind; see store::Store::backlogged(). False
    // without a store.
    bool log_backlogged() const;

    // Conversations held in memory (see memory_idle), for /metrics.
    std::size_t live_conversations() const;
    // Drops a conversation from memory so that it cannot go on (erasure: call
    // it with Store::delete_conversation). False if it was not in memory.
    bool forget(const std::string& session_id);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// 32 hex digits: the start in milliseconds since the epoch (12 digits), then
// 80 random bits from the operating system, still far beyond guessing. Ids
// that sort by start keep the entries of the conversations in progress
// together at the end of the log's (conversation, seq) index, instead of one
// index page per live conversation in every batch the writer commits: that
// halved the bytes the log writes per turn and cut the writer's CPU by a
// third (docs/performance.md).
std::string random_session_id();
std::string session_id_at(std::chrono::system_clock::time_point now);

}  // namespace backtalk
