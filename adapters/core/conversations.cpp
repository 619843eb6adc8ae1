#include "adapters/core/conversations.hpp"

#include "adapters/core/turn_log.hpp"
#include "adapters/core/wording.hpp"
#include "bot/overloaded.hpp"
#include "bot/ruleset.hpp"
#include "store/store.hpp"
#include "store/user_hash.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>

namespace backtalk {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Sweeping the table of live conversations at most once a minute (or a
// quarter of the time they are kept, if shorter) keeps the sweep off the
// per-turn path.
constexpr std::int64_t max_sweep_interval_ms = 60'000;

// A turn whose session write keeps losing to other instances' writes gives
// up after this many computations, with "unavailable" and nothing changed:
// the client sends it again. Each lost write is another turn that won, so
// this only bounds how long one turn waits behind a busy conversation.
constexpr int max_turn_attempts = 10;

// One live conversation. Its mutex makes two turns of the same conversation
// run one after the other, logging included, so the log keeps their order.
// The session is immutable and shared: a turn replaces it, and the store's
// snapshot queue and the turn's log record hold the old or new one without
// copying it.
struct LiveConversation {
    std::mutex mutex;
    SharedSession session;
    // With a shared store: the stored version `session` is at (0: not stored yet).
    std::uint64_t version = 0;
    bool forgotten = false;  // removed from the table; a turn must not continue it
};

// At most `limit` bytes, cut on a UTF-8 character boundary.
std::string utf8_prefix(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return std::string(text);
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return std::string(text.substr(0, end));
}

}  // namespace

struct ConversationService::Impl {
    store::Store* store;
    ConversationOptions options;
    std::function<std::int64_t()> now_ms;
    std::function<std::string()> new_session_id;

    mutable std::mutex engine_mutex;
    std::shared_ptr<const Engine> engine;

    AdviceListener advice_listener;

    mutable std::mutex table_mutex;
    std::unordered_map<std::string, std::shared_ptr<LiveConversation>> live;
    // Conversations with turns waiting on the store's reader thread, and how
    // many: their next turns queue there too, so that they keep their order.
    std::unordered_map<std::string, std::size_t> reading;
    std::condition_variable reads_settled;  // `reading` became empty
    std::atomic<std::int64_t> next_sweep_ms{0};

    std::shared_ptr<const Engine> current_engine() const {
        std::lock_guard lock(engine_mutex);
        return engine;
    }

    // An error as the person sees it: worded by the rules.
    protocol::Error worded(const protocol::Error& error) const {
        return worded_error(current_engine()->rules(), error.code);
    }

    static std::int64_t milliseconds(std::chrono::seconds duration) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
    }

    bool expired(const Session& session, std::int64_t now) const {
        return now - session.last_active_ms > milliseconds(options.idle_expiry);
    }

    // How long an idle conversation stays in memory. While the store cannot
    // write, its snapshots may be missing, so memory keeps everything.
    std::int64_t kept_in_memory_ms() const {
        const auto expiry = milliseconds(options.idle_expiry);
        if (!store || !store->health().ok) return expiry;
        return std::min(expiry, milliseconds(options.memory_idle));
    }

    // Drops conversations idle past kept_in_memory_ms() from memory; their
    // snapshots stay in the store (until purged), and find() reads them back.
    // `turn_for` is kept: the turn about to run found it in memory (a network
    // thread's turn must not read it back from the store).
    void sweep(std::int64_t now, const std::string& turn_for) {
        if (now < next_sweep_ms.load(std::memory_order_relaxed)) return;
        std::lock_guard lock(table_mutex);
        if (now < next_sweep_ms.load(std::memory_order_relaxed)) return;
        const std::int64_t kept_ms = kept_in_memory_ms();
        next_sweep_ms.store(now + std::clamp<std::int64_t>(kept_ms / 4, 1, max_sweep_interval_ms),
                            std::memory_order_relaxed);
        std::erase_if(live, [&](const auto& entry) {
            std::unique_lock conversation(entry.second->mutex, std::try_to_lock);
            // A conversation in a turn right now is not idle.
            return conversation.owns_lock() && entry.first != turn_for &&
                   now - entry.second->session->last_active_ms > kept_ms;
        });
    }

    // The live conversation `id`, from memory or else from the store; null
    // when unknown or expired.
    std::shared_ptr<LiveConversation> find(const std::string& id, std::int64_t now) {
        if (id.empty()) return nullptr;
        {
            std::lock_guard lock(table_mutex);
            if (auto found = live.find(id); found != live.end()) return found->second;
        }
        if (!store) return nullptr;
        auto loaded = std::make_shared<LiveConversation>();
        if (store->shared()) {
            std::optional<store::VersionedSession> stored = store->load_versioned_session(id);
            if (!stored || expired(stored->session, now)) return nullptr;
            loaded->session = std::make_shared<const Session>(std::move(stored->session));
            loaded->version = stored->version;
        } else {
            std::optional<Session> stored = store->load_session(id);
            if (!stored || expired(*stored, now)) return nullptr;
            loaded->session = std::make_shared<const Session>(std::move(*stored));
        }
        std::lock_guard lock(table_mutex);
        // Another thread may have loaded it meanwhile: keep theirs.
        return live.try_emplace(id, std::move(loaded)).first->second;
    }

    std::shared_ptr<LiveConversation> open(const std::string& id, Session session) {
        auto conversation = std::make_shared<LiveConversation>();
        conversation->session = std::make_shared<const Session>(std::move(session));
        std::lock_guard lock(table_mutex);
        live.insert_or_assign(id, conversation);
        return conversation;
    }

    // With a shared store, writes the turn's new session, committed before
    // the reply goes out; false when another instance wrote the session
    // since this one read it. Without one, the session goes with the log.
    bool commit(LiveConversation& conversation, const std::string& id, const Session& next, std::int64_t now) {
        if (!store || !store->shared()) return true;
        const std::optional<std::uint64_t> version = store->commit_session(id, next, now, conversation.version);
        if (!version) return false;
        conversation.version = *version;
        return true;
    }

    // After a lost write: the session as the instance that won left it, for
    // the turn to compute again. StoreUnavailable after too many attempts or
    // when the session is gone (deleted or purged meanwhile).
    void reload_after_conflict(LiveConversation& conversation, const std::string& id, int attempt) {
        if (attempt >= max_turn_attempts) {
            throw store::StoreUnavailable("session " + id + " kept changing under this turn");
        }
        std::optional<store::VersionedSession> stored = store->load_versioned_session(id);
        if (!stored) throw store::StoreUnavailable("session " + id + " is gone");
        conversation.session = std::make_shared<const Session>(std::move(stored->session));
        conversation.version = stored->version;
    }

    // With a shared store, another instance may have moved the session on
    // since this one read it: true, with the stored session in its place (or
    // the conversation forgotten, if it was erased), if so. A write would
    // notice (commit), but an answer that writes nothing (bad_choice, a
    // conversation that looks expired, the buttons on offer) must be checked
    // here, or it is given on a stale session.
    bool moved_on(LiveConversation& conversation, const std::string& id) {
        // Version 0: not stored yet, so no other instance knows it.
        if (!store || !store->shared() || conversation.version == 0) return false;
        std::optional<store::VersionedSession> stored = store->load_versioned_session(id);
        if (!stored) {
            conversation.forgotten = true;
            return true;
        }
        if (stored->version == conversation.version) return false;
        conversation.session = std::make_shared<const Session>(std::move(stored->session));
        conversation.version = stored->version;
        return true;
    }

    // Whether a conversation whose turn lock is held can go on: not forgotten
    // and not expired, as stored.
    bool can_go_on(LiveConversation& conversation, const std::string& id, std::int64_t now) {
        if (conversation.forgotten) return false;
        return !expired(*conversation.session, now) ||
               (moved_on(conversation, id) && !conversation.forgotten && !expired(*conversation.session, now));
    }

    void log_turn(const std::string& id, const ChannelInfo& channel, const TurnRecord& turn,
                  const std::vector<OutObject>& out, const SharedSession& after, bool session_changed,
                  std::uint64_t session_version, std::int64_t now, SteadyClock::time_point started) {
        if (!store) return;
        const std::int64_t processing_us =
            std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started).count();
        // A shared store has the session already (commit).
        const bool with_session = session_changed && !store->shared();
        store->log_turn(turn_log(id, channel, turn, out, after, with_session, session_version, now, processing_us));
    }

    // A conversation opened for a client that sent no (usable) start: the
    // session object first, then the answer to what it sent.
    std::vector<OutObject> open_and_step(std::string& session_id, const protocol::ClientObject& object,
                                         const ChannelInfo& channel, const Engine& current, std::int64_t now,
                                         SteadyClock::time_point started) {
        const std::string id = new_session_id();
        auto conversation = open(id, current.begin(now).session);
        std::lock_guard turn_lock(conversation->mutex);
        session_id = id;
        std::vector<OutObject> out{SessionOpened{id, false}};
        step(*conversation, id, object, channel, current, now, started, out);
        return out;
    }

    // A message or choice in a conversation whose turn lock is held. With a
    // shared store, another instance may have moved the session on: the turn
    // is computed again (the engine is pure) on the session as stored, until
    // its write wins.
    void step(LiveConversation& conversation, const std::string& id, const protocol::ClientObject& object,
              const ChannelInfo& channel, const Engine& current, std::int64_t now, SteadyClock::time_point started,
              std::vector<OutObject>& out) {
        for (int attempt = 1;; ++attempt) {
            TurnRecord turn{inbound_kind(object), inbound_text(object), conversation.session, {}, false};
            TurnResult result;
            try {
                result = std::visit(Overloaded{[&](const protocol::Message& message) {
                                                   return current.step(*conversation.session, message, now);
                                               },
                                               [&](const protocol::Choice& choice) {
                                                   return current.step(*conversation.session, choice, now);
                                               },
                                               [&](const protocol::Start&) -> TurnResult {
                                                   throw std::logic_error("start is not a step");
                                               }},
                                    object);
            } catch (const std::exception&) {
                // The conversation stays as it was; the person can go on.
                out.emplace_back(worded_error(current.rules(), "internal"));
                log_turn(id, channel, turn, out, conversation.session, false, conversation.version, now, started);
                return;
            }
            turn.notes = std::move(result.notes);
            if (result.error) {
                // bad_choice and the like change nothing, unless it was the
                // session that was out of date.
                if (attempt < max_turn_attempts && moved_on(conversation, id)) {
                    if (conversation.forgotten) throw store::StoreUnavailable("session " + id + " is gone");
                    continue;
                }
                out.emplace_back(worded_error(current.rules(), result.error->code));
                log_turn(id, channel, turn, out, conversation.session, false, conversation.version, now, started);
                return;
            }
            auto next = std::make_shared<const Session>(std::move(result.session));
            if (!commit(conversation, id, *next, now)) {
                reload_after_conflict(conversation, id, attempt);
                continue;
            }
            conversation.session = std::move(next);
            for (Reply& reply : result.replies) out.emplace_back(std::move(reply));
            log_turn(id, channel, turn, out, conversation.session, true, conversation.version, now, started);
            if (!turn.notes.basis.empty() && conversation.session->triage && advice_listener) {
                advice_listener(AdviceGiven{id, channel.channel, conversation.session->triage->level,
                                            turn.notes.basis, now, turn.text});
            }
            return;
        }
    }

    std::vector<OutObject> start(std::string& session_id, const protocol::Start& request, const ChannelInfo& channel,
                                 const Engine& current, std::int64_t now, SteadyClock::time_point started) {
        const TurnRecord turn{"start", "", nullptr, {}, true};
        if (auto conversation = find(request.session, now)) {
            std::lock_guard turn_lock(conversation->mutex);
            for (int attempt = 1; can_go_on(*conversation, request.session, now); ++attempt) {
                TurnResult result = current.resume(*conversation->session, now);
                TurnRecord resumed = turn;
                resumed.before = conversation->session;
                auto next = std::make_shared<const Session>(std::move(result.session));
                if (!commit(*conversation, request.session, *next, now)) {
                    reload_after_conflict(*conversation, request.session, attempt);
                    continue;
                }
                conversation->session = std::move(next);
                session_id = request.session;
                std::vector<OutObject> out{SessionOpened{request.session, true}};
                for (Reply& reply : result.replies) out.emplace_back(std::move(reply));
                log_turn(request.session, channel, resumed, out, conversation->session, true, conversation->version, now,
                         started);
                return out;
            }
        }
        const std::string id = new_session_id();
        TurnResult result = current.begin(now);
        auto conversation = open(id, std::move(result.session));
        std::lock_guard turn_lock(conversation->mutex);
        // 80 random bits: a conflict here means the id was not new.
        if (!commit(*conversation, id, *conversation->session, now)) {
            throw store::StoreUnavailable("a new session id " + id + " was taken");
        }
        session_id = id;
        std::vector<OutObject> out{SessionOpened{id, false}};
        for (Reply& reply : result.replies) out.emplace_back(std::move(reply));
        log_turn(id, channel, turn, out, conversation->session, true, conversation->version, now, started);
        return out;
    }

    std::vector<OutObject> handle(std::string& session_id, const protocol::ClientObject& object,
                                  const ChannelInfo& channel) {
        try {
            return handle_turn(session_id, object, channel);
        } catch (const store::StoreUnavailable&) {
            // The conversation may exist but cannot be read right now: the
            // client tries again rather than being started over.
            return {worded(protocol::make_error("unavailable"))};
        } catch (const std::exception&) {
            // Opening or resuming failed; whatever was said before stays.
            return {worded(protocol::make_error("internal"))};
        }
    }

    std::vector<OutObject> handle_turn(std::string& session_id, const protocol::ClientObject& object,
                                       const ChannelInfo& channel) {
        const auto started = SteadyClock::now();
        const std::int64_t now = now_ms();
        const auto* request = std::get_if<protocol::Start>(&object);
        sweep(now, request ? request->session : session_id);
        const std::shared_ptr<const Engine> current = current_engine();
        if (request) {
            return start(session_id, *request, channel, *current, now, started);
        }
        if (auto conversation = find(session_id, now)) {
            std::unique_lock turn_lock(conversation->mutex);
            if (can_go_on(*conversation, session_id, now)) {
                std::vector<OutObject> out;
                step(*conversation, session_id, object, channel, *current, now, started, out);
                return out;
            }
        }
        // No start yet, or the conversation expired while the client was away.
        return open_and_step(session_id, object, channel, *current, now, started);
    }

    // Runs `turn` here when the conversation it continues needs no read from
    // the store (none, or in memory); otherwise on the store's reader thread,
    // behind the turns of that conversation already waiting there.
    void run_async(std::string session_id, std::string conversation,
                   std::function<std::vector<OutObject>(std::string& session_id)> turn,
                   ConversationService::TurnDone done) {
        bool in_memory = true;
        // A shared store is read and written by every turn (commit): none
        // runs on the caller's (network) thread.
        if (store && (store->shared() || !conversation.empty())) {
            std::lock_guard lock(table_mutex);
            in_memory = !store->shared() && !reading.count(conversation) && live.count(conversation);
            if (!in_memory) ++reading[conversation];
        }
        if (in_memory) {
            auto objects = turn(session_id);
            return done(std::move(session_id), std::move(objects));
        }
        // Counted down once the turn has run, before it is answered: the
        // turn's effect is in memory by then, and each channel sends its
        // answers in order.
        const auto read_done = [this, conversation] {
            std::lock_guard lock(table_mutex);
            if (auto found = reading.find(conversation); found != reading.end() && --found->second == 0) {
                reading.erase(found);
                if (reading.empty()) reads_settled.notify_all();
            }
        };
        const std::string unchanged_session = session_id;
        const bool posted = store->post_read(
            [this, session_id = std::move(session_id), turn = std::move(turn), done, read_done]() mutable {
                std::vector<OutObject> objects;
                try {
                    objects = turn(session_id);
                } catch (const std::exception&) {
                    // The caller waits for an answer whatever happened.
                    objects = {worded_error(current_engine()->rules(), "internal")};
                }
                read_done();
                done(std::move(session_id), std::move(objects));
            });
        if (!posted) {
            // The store is closing: the conversation cannot be read now.
            read_done();
            done(unchanged_session, {worded_error(current_engine()->rules(), "unavailable")});
        }
    }

    // A client object that could not be parsed: logged in its conversation,
    // if there is one, which it leaves as it was.
    std::vector<OutObject> reject(const std::string& session_id, std::string_view raw, protocol::Error error,
                                  const ChannelInfo& channel) {
        const auto started = SteadyClock::now();
        const std::int64_t now = now_ms();
        std::vector<OutObject> out{worded(error)};
        std::shared_ptr<LiveConversation> conversation;
        try {
            conversation = find(session_id, now);
        } catch (const store::StoreUnavailable&) {
            return out;  // the answer stands; only its log entry is lost
        }
        if (conversation) {
            std::lock_guard turn_lock(conversation->mutex);
            if (!conversation->forgotten && !expired(*conversation->session, now)) {
                const TurnRecord turn{"invalid", utf8_prefix(raw, protocol::max_text_chars), conversation->session,
                                      {}, false};
                log_turn(session_id, channel, turn, out, conversation->session, false, conversation->version, now,
                         started);
            }
        }
        return out;
    }
};

namespace {

// The conversation a client object continues: a start names the one to
// resume; anything else (even what cannot be parsed, which is logged there)
// goes on in the connection's own.
std::string conversation_of(const std::string& session_id, std::string_view json_text) {
    auto parsed = protocol::parse_client_object(json_text);
    if (const auto* object = std::get_if<protocol::ClientObject>(&parsed)) {
        if (const auto* start = std::get_if<protocol::Start>(object)) return start->session;
    }
    return session_id;
}

}  // namespace

ConversationService::ConversationService(std::shared_ptr<const Engine> engine, store::Store* store,
                                         ConversationOptions options, std::function<std::int64_t()> now_ms,
                                         std::function<std::string()> new_session_id)
    : impl_(std::make_unique<Impl>()) {
    if (!engine) throw std::invalid_argument("ConversationService needs an engine");
    if (!now_ms || !new_session_id) throw std::invalid_argument("ConversationService needs a clock and an id source");
    impl_->store = store;
    impl_->options = std::move(options);
    impl_->now_ms = std::move(now_ms);
    impl_->new_session_id = std::move(new_session_id);
    impl_->engine = std::move(engine);
}

ConversationService::~ConversationService() {
    // Turns waiting on the store's reader thread use this service: they run
    // (or the store, closing, runs them) before it goes.
    std::unique_lock lock(impl_->table_mutex);
    impl_->reads_settled.wait(lock, [&] { return impl_->reading.empty(); });
}

std::vector<OutObject> ConversationService::handle(std::string& session_id, const protocol::ClientObject& object,
                                                   const ChannelInfo& channel) {
    return impl_->handle(session_id, object, channel);
}

std::vector<OutObject> ConversationService::handle_checked(std::string& session_id, protocol::Checked checked,
                                                           const ChannelInfo& channel, std::string_view raw) {
    if (auto* error = std::get_if<protocol::Error>(&checked)) {
        return impl_->reject(session_id, raw, std::move(*error), channel);
    }
    return impl_->handle(session_id, std::get<protocol::ClientObject>(checked), channel);
}

std::vector<OutObject> ConversationService::handle_json(std::string& session_id, std::string_view json_text,
                                                        const ChannelInfo& channel, std::string_view shown_asking) {
    auto parsed = protocol::parse_client_object(json_text);
    if (auto* error = std::get_if<protocol::Error>(&parsed)) {
        return impl_->reject(session_id, json_text, std::move(*error), channel);
    }
    auto& object = std::get<protocol::ClientObject>(parsed);
    if (auto* choice = std::get_if<protocol::Choice>(&object); choice && choice->asking.empty()) {
        choice->asking = shown_asking;
    }
    return impl_->handle(session_id, object, channel);
}

void ConversationService::handle_json_async(std::string session_id, std::string json_text, ChannelInfo channel,
                                            std::string shown_asking, TurnDone done) {
    std::string conversation = conversation_of(session_id, json_text);
    impl_->run_async(std::move(session_id), std::move(conversation),
                     [this, json_text = std::move(json_text), channel = std::move(channel),
                      shown_asking = std::move(shown_asking)](std::string& session) {
                         return handle_json(session, json_text, channel, shown_asking);
                     },
                     std::move(done));
}

void ConversationService::handle_checked_async(std::string session_id, protocol::Checked checked,
                                               ChannelInfo channel, std::string raw, TurnDone done) {
    std::string conversation = session_id;
    if (const auto* object = std::get_if<protocol::ClientObject>(&checked)) {
        if (const auto* start = std::get_if<protocol::Start>(object)) conversation = start->session;
    }
    impl_->run_async(std::move(session_id), std::move(conversation),
                     [this, checked = std::move(checked), channel = std::move(channel),
                      raw = std::move(raw)](std::string& session) {
                         return handle_checked(session, checked, channel, raw);
                     },
                     std::move(done));
}

void ConversationService::on_advice(AdviceListener listener) { impl_->advice_listener = std::move(listener); }

protocol::Error ConversationService::error(std::string_view code) const {
    return worded_error(impl_->current_engine()->rules(), code);
}

void ConversationService::replace_engine(std::shared_ptr<const Engine> engine) {
    if (!engine) throw std::invalid_argument("replace_engine needs an engine");
    std::lock_guard lock(impl_->engine_mutex);
    impl_->engine = std::move(engine);
}

std::shared_ptr<const Engine> ConversationService::engine() const { return impl_->current_engine(); }

bool ConversationService::log_backlogged() const { return impl_->store && impl_->store->backlogged(); }

std::size_t ConversationService::live_conversations() const {
    std::lock_guard lock(impl_->table_mutex);
    return impl_->live.size();
}

OfferedChoices ConversationService::offered(const std::string& session_id) {
    const std::int64_t now = impl_->now_ms();
    const auto conversation = impl_->find(session_id, now);
    if (!conversation) return {};
    std::lock_guard turn_lock(conversation->mutex);
    // The buttons as stored: another instance may have moved the conversation on.
    impl_->moved_on(*conversation, session_id);
    if (!impl_->can_go_on(*conversation, session_id, now)) return {};
    return {conversation->session->offered, conversation->session->asking};
}

bool ConversationService::forget(const std::string& session_id) {
    std::shared_ptr<LiveConversation> conversation;
    {
        std::lock_guard lock(impl_->table_mutex);
        auto found = impl_->live.find(session_id);
        if (found == impl_->live.end()) return false;
        conversation = std::move(found->second);
        impl_->live.erase(found);
    }
    std::lock_guard turn_lock(conversation->mutex);
    conversation->forgotten = true;
    return true;
}

std::vector<std::string> to_json_objects(const std::vector<OutObject>& objects) {
    std::vector<std::string> lines;
    lines.reserve(objects.size());
    for (std::size_t i = 0; i < objects.size(); ++i) {
        const bool end_of_turn = i + 1 == objects.size();
        lines.push_back(std::visit(
            Overloaded{
                [&](const SessionOpened& opened) {
                    return protocol::session_json(opened.session, opened.resumed, end_of_turn);
                },
                [&](const Reply& reply) { return protocol::to_json(reply, end_of_turn); },
                [&](const protocol::Error& error) { return protocol::to_json(error, end_of_turn); },
            },
            objects[i]));
    }
    return lines;
}

std::string random_session_id() { return session_id_at(std::chrono::system_clock::now()); }

std::string session_id_at(std::chrono::system_clock::time_point now) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    char started[13];
    std::snprintf(started, sizeof started, "%012llx", static_cast<unsigned long long>(std::max<std::int64_t>(ms, 0)));
    return std::string(started, 12) + store::random_hex(10);
}

}  // namespace backtalk
