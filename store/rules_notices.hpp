// The rules every instance sharing a database should run (issue 18): a
// reload that takes on one instance publishes its rules version; the others
// hear it (LISTEN/NOTIFY on PostgreSQL) or catch up from the stored
// publications when they connect again, and reload their own rules
// directory. Only the version travels: the rules themselves are files on
// each machine.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace backtalk::store {

struct PublishedRules {
    std::uint64_t generation = 0;  // raised by every publication
    std::string version;           // the rules version published
    std::int64_t time_ms = 0;
    std::string origin;            // who asked: e.g. "SIGHUP on host", "cli on host"
};

struct RulesWatchOptions {
    // Called with each publication newer than the last one it was called
    // with: the newest one when the watch first connects (or reconnects after
    // missing notices), then each one as it is published. Runs on the watch's
    // own thread, one call at a time; it may block (a reload) but must not
    // throw.
    std::function<void(const PublishedRules&)> on_published;
    // The watch lost its connection (and retries) or has it back. Empty: the
    // store's report.
    std::function<void(std::string_view)> report;
    // Reconnect after this, doubling up to max_retry.
    std::chrono::milliseconds retry{250};
    std::chrono::milliseconds max_retry{5000};
    // Read the publications even without a notice this often: a connection
    // that died silently shows up here.
    std::chrono::milliseconds recheck{30000};
};

// Watches publications on a database connection and a thread of its own,
// never a network thread. Destroying it wakes the thread and joins it (a
// call of on_published in progress finishes first).
class RulesWatch {
public:
    virtual ~RulesWatch() = default;
    // True while it listens: a publication now reaches on_published at once.
    virtual bool listening() const = 0;
};

}  // namespace backtalk::store
