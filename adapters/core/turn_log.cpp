#include "adapters/core/turn_log.hpp"

#include "bot/overloaded.hpp"

#include <algorithm>

namespace backtalk {

std::string inbound_kind(const protocol::ClientObject& object) {
    return std::visit(Overloaded{[](const protocol::Start&) { return std::string("start"); },
                                 [](const protocol::Message&) { return std::string("message"); },
                                 [](const protocol::Choice&) { return std::string("choice"); }},
                      object);
}

std::string inbound_text(const protocol::ClientObject& object) {
    return std::visit(Overloaded{[](const protocol::Start&) { return std::string(); },
                                 [](const protocol::Message& message) { return message.text; },
                                 [](const protocol::Choice& choice) { return choice.id; }},
                      object);
}

store::TurnLog turn_log(const std::string& id, const ChannelInfo& channel, const TurnRecord& turn,
                        const std::vector<OutObject>& out, const SharedSession& after_shared, bool with_session,
                        std::uint64_t session_version, std::int64_t now, std::int64_t processing_us) {
    const Session& after = *after_shared;
    const std::string& rules_version = after.rules_version;

    store::TurnLog logged;
    logged.now_ms = now;
    if (with_session) logged.session = after_shared;
    store::ConversationRecord& conversation = logged.conversation;
    conversation.id = id;
    conversation.channel = channel.channel;
    conversation.user_hash = channel.user_hash;
    conversation.started_ms = after.started_ms;
    conversation.last_activity_ms = now;
    conversation.locale = after.locale;
    conversation.outcome = after.triage;
    conversation.turns = after.turns;
    conversation.state = after.state;
    conversation.asking = after.asking;
    logged.messages.reserve(1 + out.size());

    store::MessageRecord& inbound = logged.messages.emplace_back();
    inbound.conversation = id;
    inbound.time_ms = now;
    inbound.direction = store::Direction::in;
    inbound.kind = turn.kind;
    inbound.text = turn.text;
    inbound.intents = turn.notes.intents;
    inbound.confidence = turn.notes.confidence;
    inbound.understood = turn.notes.understood || turn.understood_default;
    if (turn.before) {
        inbound.state = turn.before->state;
        inbound.asking = turn.before->asking;
    }
    inbound.rules_version = rules_version;
    inbound.channel = channel.channel;
    inbound.processing_us = processing_us;
    inbound.session_version = session_version;

    for (const OutObject& object : out) {
        store::MessageRecord& outbound = logged.messages.emplace_back();
        outbound.conversation = id;
        outbound.time_ms = now;
        outbound.direction = store::Direction::out;
        outbound.rules_version = rules_version;
        outbound.channel = channel.channel;
        outbound.processing_us = processing_us;
        outbound.session_version = session_version;
        std::visit(Overloaded{
                       [&](const SessionOpened& opened) {
                           outbound.kind = "session";
                           outbound.text = opened.resumed ? "resumed" : "new";
                           outbound.state = after.state;
                       },
                       [&](const Reply& reply) {
                           outbound.kind = "reply";
                           outbound.text = reply.text;
                           outbound.state = reply.state;
                           outbound.asking = reply.asking;
                           outbound.triage = reply.triage;
                       },
                       [&](const protocol::Error& error) {
                           outbound.kind = "error";
                           outbound.text = error.message;
                           outbound.code = error.code;
                           outbound.state = after.state;
                           outbound.asking = after.asking;
                       },
                   },
                   object);
    }
    if (!turn.notes.basis.empty()) {
        const auto advice = std::find_if(logged.messages.begin() + 1, logged.messages.end(),
                                         [](const store::MessageRecord& record) { return record.triage.has_value(); });
        (advice != logged.messages.end() ? *advice : logged.messages.front()).basis = turn.notes.basis;
    }
    return logged;
}

}  // namespace backtalk
