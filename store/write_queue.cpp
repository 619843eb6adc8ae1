#include "store/write_queue.hpp"

#include <algorithm>
#include <stdexcept>

namespace backtalk::store::detail {

namespace {

constexpr std::size_t batch_time_samples = 255;

bool is_command(const Pending& pending) {
    return std::holds_alternative<std::shared_ptr<Command>>(pending.item);
}

}  // namespace

bool Command::begin() {
    std::lock_guard lock(mutex);
    if (phase != Phase::queued) return false;
    phase = Phase::running;
    return true;
}

bool Command::cancel() {
    std::lock_guard lock(mutex);
    if (phase != Phase::queued) return false;
    phase = Phase::cancelled;
    return true;
}

void fold_conversation(ConversationRecord& folded, const ConversationRecord& later) {
    if (!later.user_hash.empty()) folded.user_hash = later.user_hash;
    folded.last_activity_ms = std::max(folded.last_activity_ms, later.last_activity_ms);
    folded.locale = later.locale;
    if (later.outcome) folded.outcome = later.outcome;
    folded.turns = std::max(folded.turns, later.turns);
    folded.state = later.state;
    folded.asking = later.asking;
}

std::string binding_key(const std::string& scope, const std::string& key) {
    std::string joined = scope;
    joined += '\0';
    joined += key;
    return joined;
}

WriteQueue::WriteQueue(std::size_t capacity, std::size_t batch_rows, std::chrono::milliseconds batch_interval)
    : capacity_(capacity), batch_rows_(batch_rows), batch_interval_(batch_interval) {
    if (batch_rows_ == 0) throw std::invalid_argument("batch_rows must be at least 1");
    if (capacity_ < batch_rows_) throw std::invalid_argument("queue_capacity must be at least batch_rows");
}

bool WriteQueue::enqueue(Item item) {
    std::lock_guard lock(mutex_);
    if (!admit_locked()) return false;
    if (auto* binding = std::get_if<BindingItem>(&item)) {
        binding->version = ++next_version_;
        pending_bindings_[binding_key(binding->scope, binding->key)] = *binding;
    }
    push_locked(std::move(item), Clock::now());
    return true;
}

bool WriteQueue::enqueue_session(std::string id, std::shared_ptr<const Session> session, std::int64_t updated_ms) {
    std::shared_ptr<const Session> replaced;  // freed after the lock is released
    std::lock_guard lock(mutex_);
    if (!admit_locked()) return false;
    queue_session_locked(std::move(id), std::move(session), updated_ms, Clock::now(), replaced);
    return true;
}

bool WriteQueue::enqueue_turn(TurnLog turn) {
    std::shared_ptr<const Session> replaced;  // freed after the lock is released
    std::string session_id = turn.session ? turn.conversation.id : std::string();
    std::lock_guard lock(mutex_);
    const Clock::time_point now = Clock::now();
    bool all_queued = true;
    // Takes the record itself, not an Item: building the variant here, in
    // place, keeps GCC 12 at -O3 from a false -Wmaybe-uninitialized on the
    // variant's other alternatives when a temporary is moved.
    const auto push = [&](auto&& record) {
        if (admit_locked()) {
            push_locked(Item(std::forward<decltype(record)>(record)), now);
        } else {
            all_queued = false;
        }
    };
    push(std::move(turn.conversation));
    for (auto& message : turn.messages) push(std::move(message));
    if (turn.session) {
        if (admit_locked()) {
            queue_session_locked(std::move(session_id), std::move(turn.session), turn.now_ms, now, replaced);
        } else {
            all_queued = false;
        }
    }
    return all_queued;
}

// With the mutex held and the item admitted: only the newest state of a
// session waits; `replaced` takes the one it replaces.
void WriteQueue::queue_session_locked(std::string id, std::shared_ptr<const Session> session,
                                      std::int64_t updated_ms, Clock::time_point now,
                                      std::shared_ptr<const Session>& replaced) {
    const std::uint64_t version = ++next_version_;
    auto& pending = pending_sessions_[id];
    replaced = std::exchange(pending.session, std::move(session));
    pending.updated_ms = updated_ms;
    pending.version = version;
    push_locked(SessionItem{std::move(id), version}, now);
}

bool WriteQueue::admit_locked() {
    if (!stopping_ && queue_.size() < capacity_) return true;
    ++counters_.dropped;
    return false;
}

void WriteQueue::push_locked(Item item, Clock::time_point now) {
    queue_.push_back(Pending{std::move(item), now});
    ++items_queued_;
    // Wake the writer to start its batch timer, or when a batch is full.
    if (queue_.size() == 1 || queue_.size() >= batch_rows_) work_ready_.notify_one();
}

void WriteQueue::run_command(std::function<void()> run, std::chrono::milliseconds limit) {
    auto command = std::make_shared<Command>();
    command->run = std::move(run);
    std::future<void> done = command->done.get_future();
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw std::runtime_error("the store is closed");
        queue_.push_back(Pending{command, Clock::now()});
        ++commands_queued_;
        ++items_queued_;
        work_ready_.notify_one();
    }
    if (done.wait_for(limit) == std::future_status::timeout && command->cancel()) {
        std::lock_guard lock(mutex_);
        throw std::runtime_error("the database is not writable: " +
                                 (counters_.last_error.empty() ? std::string("timed out") : counters_.last_error));
    }
    done.get();
}

bool WriteQueue::flush(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = items_queued_;
    flush_through_ = std::max(flush_through_, target);
    work_ready_.notify_all();
    return batch_done_.wait_for(lock, limit, [&] { return items_settled_ >= target; });
}

bool WriteQueue::close(std::chrono::milliseconds limit) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    stopping_ = true;
    closed_ = true;
    close_deadline_ = Clock::now() + limit;
    work_ready_.notify_all();
    return true;
}

std::shared_ptr<const Session> WriteQueue::pending_session(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto found = pending_sessions_.find(id);
    return found == pending_sessions_.end() ? nullptr : found->second.session;
}

std::optional<std::string> WriteQueue::pending_binding(const std::string& scope, const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto found = pending_bindings_.find(binding_key(scope, key));
    if (found == pending_bindings_.end()) return std::nullopt;
    return found->second.value;
}

void WriteQueue::forget_sessions_before(std::int64_t cutoff_ms) {
    std::lock_guard lock(mutex_);
    std::erase_if(pending_sessions_, [&](const auto& entry) { return entry.second.updated_ms < cutoff_ms; });
}

void WriteQueue::forget_conversation(const std::string& id) {
    std::lock_guard lock(mutex_);
    pending_sessions_.erase(id);
    std::erase_if(pending_bindings_, [&](const auto& entry) { return entry.second.value == id; });
}

Work WriteQueue::next_work() {
    std::unique_lock lock(mutex_);
    work_ready_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return std::monostate{};
    if (!stopping_ && commands_queued_ == 0 && !is_command(queue_.front())) {
        const auto deadline = queue_.front().enqueued + batch_interval_;
        work_ready_.wait_until(lock, deadline, [&] {
            return stopping_ || commands_queued_ > 0 || flush_through_ > items_settled_ ||
                   queue_.size() >= batch_rows_;
        });
    }
    if (is_command(queue_.front())) {
        auto command = std::get<std::shared_ptr<Command>>(std::move(queue_.front().item));
        queue_.pop_front();
        --commands_queued_;
        in_flight_ = 1;
        return command;
    }
    Batch batch;
    if (commands_queued_ == 0 && queue_.size() <= batch_rows_) {
        // The whole queue in O(1): callers wait for this mutex to queue
        // their records, and moving thousands of records one by one held it
        // for hundreds of microseconds.
        batch.swap(queue_);
    } else {
        while (!queue_.empty() && batch.size() < batch_rows_ && !is_command(queue_.front())) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
    }
    in_flight_ = batch.size();
    return batch;
}

void WriteQueue::newest_sessions(std::unordered_map<std::string_view, PendingSession>& wanted) const {
    if (wanted.empty()) return;
    std::lock_guard lock(mutex_);
    for (auto& [id, newest] : wanted) {
        if (auto found = pending_sessions_.find(std::string(id)); found != pending_sessions_.end()) {
            newest = found->second;
        }
    }
}

void WriteQueue::settle(const Batch& batch, const WrittenSessions& written_sessions, std::uint64_t written,
                        std::uint64_t dropped, std::int64_t commit_us) {
    // Callers wait for this mutex to queue their records: look the settled
    // sessions and bindings up before taking it, and free the sessions
    // written after releasing it.
    std::vector<std::string> session_ids;
    session_ids.reserve(written_sessions.size());
    for (const auto& [id, version] : written_sessions) session_ids.emplace_back(id);
    std::vector<std::pair<std::string, std::uint64_t>> bindings;
    for (const Pending& pending : batch) {
        if (const auto* binding = std::get_if<BindingItem>(&pending.item)) {
            bindings.emplace_back(binding_key(binding->scope, binding->key), binding->version);
        }
    }
    std::vector<std::shared_ptr<const Session>> settled_sessions;
    settled_sessions.reserve(written_sessions.size());
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < session_ids.size(); ++i) {
        auto found = pending_sessions_.find(session_ids[i]);
        if (found != pending_sessions_.end() && found->second.version == written_sessions[i].second) {
            settled_sessions.push_back(std::move(found->second.session));
            pending_sessions_.erase(found);
        }
    }
    for (const auto& [key, version] : bindings) {
        auto found = pending_bindings_.find(key);
        if (found != pending_bindings_.end() && found->second.version == version) pending_bindings_.erase(found);
    }
    counters_.rows_written += written;
    counters_.dropped += dropped;
    if (written > 0) {
        ++counters_.batches;
        batch_times_us_.push_back(commit_us);
        if (batch_times_us_.size() > batch_time_samples) batch_times_us_.pop_front();
    }
    in_flight_ = 0;
    items_settled_ += batch.size();
    batch_done_.notify_all();
}

void WriteQueue::command_settled() {
    std::lock_guard lock(mutex_);
    in_flight_ = 0;
    ++items_settled_;
    batch_done_.notify_all();
}

bool WriteQueue::note_recovered() {
    std::lock_guard lock(mutex_);
    return std::exchange(failing_, false);
}

bool WriteQueue::note_failure(const std::string& error) {
    std::lock_guard lock(mutex_);
    ++counters_.write_failures;
    counters_.last_error = error;
    return !std::exchange(failing_, true);
}

void WriteQueue::note_error(const std::string& error) {
    std::lock_guard lock(mutex_);
    counters_.last_error = error;
}

bool WriteQueue::back_off(std::chrono::milliseconds& delay, std::chrono::milliseconds max_backoff) {
    std::unique_lock lock(mutex_);
    if (stopping_ && Clock::now() >= close_deadline_) return false;
    const auto until = stopping_ ? std::min(Clock::now() + delay, close_deadline_) : Clock::now() + delay;
    // Woken early only by close(), which shortens the wait to its deadline.
    work_ready_.wait_until(lock, until, [&] { return stopping_ && Clock::now() >= close_deadline_; });
    delay = std::min(delay * 2, max_backoff);
    return true;
}

std::uint64_t WriteQueue::dropped() const {
    std::lock_guard lock(mutex_);
    return counters_.dropped;
}

StoreHealth WriteQueue::health() const {
    std::lock_guard lock(mutex_);
    if (closed_) return {false, "the store is closed"};
    if (failing_) return {false, "cannot write the conversation log: " + counters_.last_error};
    if (queue_.size() * 10 >= capacity_ * 9) return {false, "the log queue is nearly full"};
    return {true, {}};
}

bool WriteQueue::backlogged() const {
    std::lock_guard lock(mutex_);
    // Two batches waiting keep the writer busy; more only add to what a hard
    // kill would lose.
    const std::size_t high_water = std::min(capacity_ / 2, 2 * batch_rows_);
    return !closed_ && !failing_ && queue_.size() >= high_water;
}

StoreCounters WriteQueue::counters() const {
    std::lock_guard lock(mutex_);
    StoreCounters result = counters_;
    result.queue_depth = queue_.size() + in_flight_;
    if (!batch_times_us_.empty()) {
        std::vector<std::int64_t> times(batch_times_us_.begin(), batch_times_us_.end());
        auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
        std::nth_element(times.begin(), middle, times.end());
        result.median_batch_us = *middle;
    }
    return result;
}

bool WriteQueue::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

}  // namespace backtalk::store::detail
