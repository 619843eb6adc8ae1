#include "store/postgresql/pg_rules_publications.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace backtalk::store::pg {

namespace {

constexpr const char* channel = "backtalk_rules";

PublishedRules publication_at(const PgResult& result, int row) {
    return {std::stoull(result.text(row, 0)), result.text(row, 1), std::stoll(result.text(row, 2)),
            result.text(row, 3)};
}

// An eventfd that wakes the watch's poll when it is to stop.
class Wakeup {
public:
    Wakeup() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~Wakeup() { ::close(fd_); }
    Wakeup(const Wakeup&) = delete;
    Wakeup& operator=(const Wakeup&) = delete;

    void wake() const {
        const std::uint64_t one = 1;
        // Fails only when the counter is full: it is awake already.
        [[maybe_unused]] const auto written = ::write(fd_, &one, sizeof one);
    }
    int fd() const { return fd_; }

private:
    int fd_;
};

enum class Wait { woken, readable, timed_out };

// Waits for `socket` (none when negative) to be readable, the wakeup, or
// `timeout`.
Wait wait_for(int socket, const Wakeup& wakeup, std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{wakeup.fd(), POLLIN, 0}, {socket, POLLIN, 0}};
    const nfds_t count = socket >= 0 ? 2 : 1;
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        const int ready = ::poll(fds, count, static_cast<int>(std::max<std::int64_t>(0, left.count())));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) throw std::system_error(errno, std::generic_category(), "poll");
        if (ready == 0) return Wait::timed_out;
        if (fds[0].revents != 0) return Wait::woken;
        return Wait::readable;  // data, or the server hung up: consume_notifications tells
    }
}

class PgRulesWatch final : public RulesWatch {
public:
    PgRulesWatch(std::string url, RulesWatchOptions options)
        : url_(std::move(url)), options_(std::move(options)), thread_([this] { run(); }) {}

    ~PgRulesWatch() override {
        stopping_ = true;
        wakeup_.wake();
        thread_.join();
    }

    bool listening() const override { return listening_; }

private:
    void run() {
        pthread_setname_np(pthread_self(), "backtalk-rules");
        auto delay = options_.retry;
        bool reported_loss = false;
        while (!stopping_) {
            try {
                PgConnection connection(url_);
                // LISTEN before reading: a publication from here on is either
                // in what we read or notified after it.
                connection.exec(std::string("LISTEN ") + channel);
                listening_ = true;
                if (reported_loss) options_.report("listening for rules publications again");
                reported_loss = false;
                delay = options_.retry;
                deliver_newest(connection);
                listen(connection);
            } catch (const std::exception& error) {
                listening_ = false;
                if (!reported_loss) {
                    options_.report(std::string("not listening for rules publications, retrying: ") + error.what());
                }
                reported_loss = true;
            }
            if (stopping_ || wait_for(-1, wakeup_, delay) == Wait::woken) return;
            delay = std::min(delay * 2, options_.max_retry);
        }
    }

    // Until the stop, or an error (thrown) ends the connection.
    void listen(PgConnection& connection) {
        for (;;) {
            // A notice that arrived with a query's result (the newest
            // publication's, just read) waits in libpq's queue, not on the
            // socket: looked for before every wait, or a publication made
            // while that query ran is heard only at the next recheck.
            if (connection.consume_notifications()) {
                deliver_newest(connection);
                continue;
            }
            switch (wait_for(connection.socket(), wakeup_, options_.recheck)) {
                case Wait::woken: return;
                case Wait::readable: break;  // consumed at the top
                case Wait::timed_out: deliver_newest(connection); break;
            }
        }
    }

    void deliver_newest(PgConnection& connection) {
        const auto newest = newest_publication(connection);
        if (!newest || newest->generation <= delivered_) return;
        delivered_ = newest->generation;
        options_.on_published(*newest);
    }

    const std::string url_;
    const RulesWatchOptions options_;
    Wakeup wakeup_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> listening_{false};
    std::uint64_t delivered_ = 0;  // the watch's thread only
    std::thread thread_;           // last: starts once the rest is ready
};

}  // namespace

PublishedRules publish_rules(PgConnection& connection, const std::string& version, const std::string& origin,
                             std::int64_t now_ms) {
    const PgResult result = connection.exec(
        "WITH published AS (INSERT INTO rules_publications (version, time, origin) VALUES ($1, $2::bigint, $3) "
        "RETURNING generation, version, time, origin) "
        "SELECT generation, version, time, origin, pg_notify('" + std::string(channel) +
            "', generation::text) FROM published",
        {version, std::to_string(now_ms), origin});
    return publication_at(result, 0);
}

std::optional<PublishedRules> newest_publication(PgConnection& connection) {
    const PgResult result = connection.exec(
        "SELECT generation, version, time, origin FROM rules_publications ORDER BY generation DESC LIMIT 1");
    if (result.rows() == 0) return std::nullopt;
    return publication_at(result, 0);
}

std::unique_ptr<RulesWatch> watch_rules(std::string url, RulesWatchOptions options) {
    if (!options.on_published) throw std::invalid_argument("a rules watch needs on_published");
    if (!options.report) throw std::invalid_argument("a rules watch needs report");
    return std::make_unique<PgRulesWatch>(std::move(url), std::move(options));
}

}  // namespace backtalk::store::pg
