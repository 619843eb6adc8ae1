// The Store: the queue (write_queue), the writer thread that commits it
// through the backend, the reader thread (session_reader), and the reads
// that see queued records before the backend has them.
#include "store/store.hpp"

#include "store/backend.hpp"
#include "store/postgresql/pg_backend.hpp"
#include "store/session_reader.hpp"
#include "store/sqlite/sqlite_backend.hpp"
#include "store/user_hash.hpp"
#include "store/write_queue.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <iostream>
#include <mutex>
#include <pthread.h>
#include <thread>

namespace backtalk::store {

std::string_view to_string(Direction direction) { return direction == Direction::in ? "in" : "out"; }

namespace {

using detail::Clock;

constexpr auto drop_report_interval = std::chrono::seconds(5);

std::int64_t elapsed_us(Clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - since).count();
}

StoreOptions with_defaults(StoreOptions options) {
    if (!options.report) {
        options.report = [](std::string_view line) { std::cerr << "backtalk store: " << line << '\n'; };
    }
    return options;
}

std::unique_ptr<detail::StoreBackend> make_backend(const StoreOptions& options) {
    if (!options.postgresql_url.empty()) return std::make_unique<pg::PgBackend>(options);
    return std::make_unique<detail::SqliteBackend>(options);
}

}  // namespace

struct Store::Impl {
    StoreOptions options;
    UserHasher hasher;
    detail::WriteQueue queue;
    std::unique_ptr<detail::StoreBackend> backend;
    detail::SessionReader reader;

    // A read, or a session commit, on a caller's thread that failed, until
    // one succeeds: the database cannot be reached, though the writer, with
    // nothing to write (every turn refused), does not know it.
    std::atomic<bool> unreachable{false};
    mutable std::mutex unreachable_mutex;
    std::string unreachable_reason;
    std::atomic<bool> probe_posted{false};

    // Writer thread only.
    std::uint64_t reported_dropped = 0;
    std::uint64_t dropped_at_close = 0;
    Clock::time_point last_drop_report;
    std::thread writer;

    explicit Impl(StoreOptions opts)
        : options(with_defaults(std::move(opts))),
          hasher(UserHasher::from_environment(options.hash_key_file.empty()
                                                  ? options.path.parent_path() / "hash.key"
                                                  : options.hash_key_file)),
          queue(options.queue_capacity, options.batch_rows, options.batch_interval),
          backend(make_backend(options)),
          reader(options.report) {}

    // Only what people type is scrubbed: the bot's own text comes from the
    // rules and never quotes them, and scrubbing it would garble numbers the
    // rules give on purpose.
    void scrub(MessageRecord& record) const {
        if (options.redact && record.direction == Direction::in) {
            record.text = redact(record.text, options.redaction);
        }
    }

    void note_failure(const std::string& error) {
        backend->reset_writer();  // reopen on the next attempt: permissions or the file may have changed
        if (queue.note_failure(error)) options.report("cannot write the conversation log, retrying: " + error);
    }

    // Both also record the reason as the last error (counters()).
    StoreUnavailable note_unreachable(const std::string& reason) {
        queue.note_error(reason);
        std::lock_guard lock(unreachable_mutex);
        unreachable_reason = reason;
        unreachable.store(true);
        return StoreUnavailable(reason);
    }

    void note_reachable() {
        if (!unreachable.load(std::memory_order_relaxed)) return;
        std::lock_guard lock(unreachable_mutex);
        unreachable.store(false);
        unreachable_reason.clear();
    }

    // Why the database cannot be reached, if so. Asks the reader thread to
    // try it again (one attempt at a time), so that health recovers once
    // the database is back even if no turn comes to find out.
    std::optional<std::string> unreachable_now() {
        if (!unreachable.load()) return std::nullopt;
        if (!probe_posted.exchange(true)) {
            const bool posted = reader.post([this] {
                try {
                    backend->session_snapshot("");  // no session has this id: as cheap as a read gets
                    note_reachable();
                } catch (const std::exception& error) {
                    note_unreachable(std::string("reading: ") + error.what());
                }
                probe_posted.store(false);
            });
            if (!posted) probe_posted.store(false);
        }
        std::lock_guard lock(unreachable_mutex);
        if (!unreachable.load()) return std::nullopt;
        return unreachable_reason;
    }

    void note_recovered() {
        if (queue.note_recovered()) options.report("the conversation log is writable again");
    }

    void write_batch(const detail::Batch& batch) {
        auto delay = std::chrono::milliseconds(10);
        detail::WrittenSessions written_sessions;
        for (;;) {
            const auto started = Clock::now();
            try {
                std::uint64_t rejected = 0;
                written_sessions.clear();
                backend->write_batch(batch, queue, rejected, written_sessions);
                queue.settle(batch, written_sessions, batch.size() - rejected, rejected, elapsed_us(started));
                note_recovered();
                backend->after_batch();
                return;
            } catch (const std::exception& error) {
                note_failure(error.what());
            }
            if (!queue.back_off(delay, options.max_backoff)) {
                dropped_at_close += batch.size();
                queue.settle(batch, {}, 0, batch.size(), 0);
                return;
            }
        }
    }

    void run_command(const std::shared_ptr<detail::Command>& command) {
        if (!command->begin()) return;
        try {
            command->run();
            command->done.set_value();
        } catch (const detail::FatalOpenError& error) {
            note_failure(error.what());
            command->done.set_exception(std::current_exception());
        } catch (const std::exception& error) {
            if (!backend->is_record_error(error)) note_failure(error.what());
            command->done.set_exception(std::current_exception());
        } catch (...) {
            command->done.set_exception(std::current_exception());
        }
    }

    void report_queue_drops() {
        const std::uint64_t dropped = queue.dropped();
        const auto now = Clock::now();
        if (dropped > reported_dropped && now - last_drop_report >= drop_report_interval) {
            options.report("dropped " + std::to_string(dropped - reported_dropped) +
                           " log records (queue full or database failing); " + std::to_string(dropped) +
                           " in all");
            reported_dropped = dropped;
            last_drop_report = now;
        }
    }

    void writer_loop() {
        for (;;) {
            detail::Work work = queue.next_work();
            if (std::holds_alternative<std::monostate>(work)) break;
            if (auto* command = std::get_if<std::shared_ptr<detail::Command>>(&work)) {
                run_command(*command);
                queue.command_settled();
                continue;
            }
            write_batch(std::get<detail::Batch>(work));
            report_queue_drops();
            // The batch (thousands of records, and the sessions only they
            // still hold) is freed here, outside the queue's lock.
        }
        if (dropped_at_close > 0) {
            options.report("closing: dropped " + std::to_string(dropped_at_close) +
                           " records the database would not take");
        }
    }

    template <class Result>
    Result run_maintenance(const std::function<Result()>& run) {
        Result result{};
        queue.run_command([&] { result = run(); }, options.close_timeout);
        return result;
    }
};

Store::Store(StoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    // The first open happens on the writer thread too, so that the database
    // is only ever written from there; fatal problems are reported here.
    std::promise<void> opened;
    std::future<void> open_result = opened.get_future();
    impl_->writer = std::thread([impl = impl_.get(), opened = std::move(opened)]() mutable {
        pthread_setname_np(pthread_self(), "backtalk-log");
        try {
            impl->backend->ensure_writer();
            opened.set_value();
        } catch (const detail::FatalOpenError&) {
            opened.set_exception(std::current_exception());
            return;
        } catch (const std::exception& error) {
            impl->note_failure(error.what());
            opened.set_value();
        }
        impl->writer_loop();
    });
    try {
        open_result.get();
    } catch (...) {
        impl_->writer.join();
        impl_->reader.stop();
        throw;
    }
}

Store::~Store() { close(); }

StoreCounters Store::close() { return close(impl_->options.close_timeout); }

StoreCounters Store::close(std::chrono::milliseconds limit) {
    // Reads posted before the close still answer their callers (and may
    // queue their turns' records), so the reader stops first.
    impl_->reader.stop();
    impl_->queue.close(limit);
    if (impl_->writer.joinable()) impl_->writer.join();
    // The writer closes last: SQLite checkpoints the write-ahead log into the
    // file only when the last connection closes, and a read-only one cannot.
    // Closed the other way round, the -wal file stayed behind, and a reader
    // opened read-only afterwards (logs commands, a backup) missed the turns
    // in it.
    impl_->backend->close_readers();
    impl_->backend->reset_writer();
    return counters();
}

bool Store::log_conversation(ConversationRecord record) { return impl_->queue.enqueue(std::move(record)); }

bool Store::log_message(MessageRecord record) {
    impl_->scrub(record);
    return impl_->queue.enqueue(std::move(record));
}

bool Store::log_turn(TurnLog turn) {
    for (auto& message : turn.messages) impl_->scrub(message);
    return impl_->queue.enqueue_turn(std::move(turn));
}

bool Store::save_session(const std::string& id, const Session& session, std::int64_t now_ms) {
    return save_session(id, std::make_shared<const Session>(session), now_ms);
}

bool Store::save_session(const std::string& id, std::shared_ptr<const Session> session, std::int64_t now_ms) {
    if (!session) throw std::invalid_argument("save_session needs a session");
    return impl_->queue.enqueue_session(id, std::move(session), now_ms);
}

bool Store::record_audit(AuditRecord record) { return impl_->queue.enqueue(std::move(record)); }

bool Store::set_binding(const std::string& scope, const std::string& key, const std::string& value,
                        std::int64_t now_ms) {
    return impl_->queue.enqueue(detail::BindingItem{scope, key, value, now_ms, 0});
}

std::optional<Session> Store::load_session(const std::string& id) {
    if (auto pending = impl_->queue.pending_session(id)) return *pending;
    std::optional<std::string> snapshot;
    try {
        snapshot = impl_->backend->session_snapshot(id);
    } catch (const std::exception& error) {
        throw impl_->note_unreachable("reading session " + id + ": " + error.what());
    }
    impl_->note_reachable();
    if (!snapshot) return std::nullopt;
    try {
        return session_from_json(nlohmann::json::parse(*snapshot));
    } catch (const std::exception& error) {
        impl_->queue.note_error("session " + id + " cannot be restored: " + error.what());
        return std::nullopt;
    }
}

bool Store::shared() const { return impl_->backend->shared(); }

std::optional<VersionedSession> Store::load_versioned_session(const std::string& id) {
    std::optional<std::pair<std::string, std::uint64_t>> stored;
    try {
        stored = impl_->backend->versioned_snapshot(id);
    } catch (const std::logic_error&) {
        throw;
    } catch (const std::exception& error) {
        throw impl_->note_unreachable("reading session " + id + ": " + error.what());
    }
    impl_->note_reachable();
    if (!stored) return std::nullopt;
    try {
        return VersionedSession{session_from_json(nlohmann::json::parse(stored->first)), stored->second};
    } catch (const std::exception& error) {
        impl_->queue.note_error("session " + id + " cannot be restored: " + error.what());
        return std::nullopt;
    }
}

std::optional<std::uint64_t> Store::commit_session(const std::string& id, const Session& session, std::int64_t now_ms,
                                                   std::uint64_t expected_version) {
    std::optional<std::uint64_t> version;
    try {
        version = impl_->backend->commit_snapshot(id, session_snapshot(session), now_ms, expected_version);
    } catch (const std::logic_error&) {
        throw;
    } catch (const std::exception& error) {
        throw impl_->note_unreachable("writing session " + id + ": " + error.what());
    }
    impl_->note_reachable();
    return version;
}

std::optional<std::string> Store::binding(const std::string& scope, const std::string& key) {
    if (auto pending = impl_->queue.pending_binding(scope, key)) return pending;
    std::optional<std::string> value;
    try {
        value = impl_->backend->binding(scope, key);
    } catch (const std::exception& error) {
        throw impl_->note_unreachable(std::string("reading a binding: ") + error.what());
    }
    impl_->note_reachable();
    return value;
}

std::optional<std::string> Store::claim_binding(const std::string& scope, const std::string& key,
                                               const std::string& value, std::int64_t now_ms) {
    std::optional<std::string> taken;
    try {
        taken = impl_->backend->claim_binding(scope, key, value, now_ms);
    } catch (const std::logic_error&) {
        throw;
    } catch (const std::exception& error) {
        throw impl_->note_unreachable("claiming a binding: " + std::string(error.what()));
    }
    impl_->note_reachable();
    return taken;
}

std::size_t Store::forget_claims_before(const std::string& scope, std::int64_t cutoff_ms) {
    try {
        return impl_->backend->forget_claims_before(scope, cutoff_ms);
    } catch (const std::logic_error&) {
        throw;
    } catch (const std::exception& error) {
        throw impl_->note_unreachable("forgetting old claims: " + std::string(error.what()));
    }
}

std::unique_ptr<review::ReviewReader> Store::review() { return impl_->backend->review(); }

std::vector<std::string> Store::binding_values(const std::string& scope) {
    return impl_->backend->binding_values(scope);
}

bool Store::post_read(std::function<void()> job) { return impl_->reader.post(std::move(job)); }

bool Store::flush() { return flush(impl_->options.close_timeout); }

bool Store::flush(std::chrono::milliseconds limit) { return impl_->queue.flush(limit); }

std::size_t Store::purge_before(std::int64_t cutoff_ms) {
    const std::size_t removed =
        impl_->run_maintenance<std::size_t>([&] { return impl_->backend->purge_before(cutoff_ms); });
    impl_->queue.forget_sessions_before(cutoff_ms);
    return removed;
}

bool Store::delete_conversation(const std::string& id) {
    const bool found = impl_->run_maintenance<bool>([&] { return impl_->backend->delete_conversation(id); });
    impl_->queue.forget_conversation(id);
    return found;
}

bool Store::mark_reviewed(const review::ReviewMark& mark) {
    review::validate(mark);
    return impl_->run_maintenance<bool>([&] { return impl_->backend->mark_reviewed(mark); });
}

PublishedRules Store::publish_rules(const std::string& version, const std::string& origin, std::int64_t now_ms) {
    if (!shared()) return impl_->backend->publish_rules(version, origin, now_ms);  // refuses
    return impl_->run_maintenance<PublishedRules>(
        [&] { return impl_->backend->publish_rules(version, origin, now_ms); });
}

std::unique_ptr<RulesWatch> Store::watch_rules(RulesWatchOptions options) {
    if (!options.report) {
        options.report = [report = impl_->options.report](std::string_view line) { report(line); };
    }
    return impl_->backend->watch_rules(std::move(options));
}

void Store::backup_to(const std::filesystem::path& target) {
    // SQLite takes an empty name for a temporary database, gone on close.
    if (target.empty()) throw std::runtime_error("name the file to back up to");
    if (std::filesystem::exists(target)) {
        throw std::runtime_error(target.string() + " exists; backups never overwrite a file");
    }
    if (!flush()) {
        throw std::runtime_error("the log cannot be written (" + counters().last_error +
                                 "); refusing to back up while records are pending");
    }
    impl_->backend->backup_to(target);
}

StoreHealth Store::health() const {
    StoreHealth health = impl_->queue.health();
    if (!health.ok) return health;
    if (auto reason = impl_->unreachable_now()) return {false, "cannot reach the database: " + *reason};
    if (!impl_->hasher.warning().empty()) return {false, impl_->hasher.warning()};
    return health;
}

bool Store::backlogged() const { return impl_->queue.backlogged(); }

StoreCounters Store::counters() const { return impl_->queue.counters(); }

std::string Store::hash_user(std::string_view channel, std::string_view user_id) const {
    return impl_->hasher.hash(channel, user_id);
}

const StoreOptions& Store::options() const { return impl_->options; }

}  // namespace backtalk::store
