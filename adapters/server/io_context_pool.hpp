// The network threads: one io_context per thread. A connection is placed on
// one context when it is accepted and stays there, so its handlers run on
// the thread that polled its socket: no thread wakes another to run a
// handler, and the contexts share no scheduler lock (with one io_context run
// by every thread, handing completions between threads cost the network
// threads about a quarter of their CPU per turn at 15,000 turns/s;
// docs/performance.md).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace backtalk::server {

class IoContextPool {
public:
    explicit IoContextPool(unsigned threads);  // at least 1
    IoContextPool(const IoContextPool&) = delete;
    IoContextPool& operator=(const IoContextPool&) = delete;

    // The context of the listener, signals and the stop sequence.
    boost::asio::io_context& first() { return *contexts_.front(); }
    // The context for the next connection, round robin; from any thread.
    boost::asio::io_context& next();

    // Runs each context on a thread of its own, the first on the calling
    // thread, until stop(), or until release() and each has no work left.
    void run();
    // Lets each context's run() return once its work is done (the stop
    // sequence, after it has closed the listener and the connections).
    void release();
    // Stops every context now, with whatever work is left.
    void stop();

private:
    using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<WorkGuard> work_;
    std::atomic<std::size_t> next_{0};
};

}  // namespace backtalk::server
