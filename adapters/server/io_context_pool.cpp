#include "adapters/server/io_context_pool.hpp"

#include <pthread.h>
#include <thread>

namespace backtalk::server {

namespace net = boost::asio;

IoContextPool::IoContextPool(unsigned threads) {
    const unsigned count = threads == 0 ? 1 : threads;
    contexts_.reserve(count);
    work_.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
        // Concurrency hint 1: each context is run by exactly one thread.
        contexts_.push_back(std::make_unique<net::io_context>(1));
        work_.push_back(net::make_work_guard(*contexts_.back()));
    }
}

net::io_context& IoContextPool::next() {
    return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoContextPool::run() {
    std::vector<std::thread> threads;
    threads.reserve(contexts_.size() - 1);
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
        threads.emplace_back([context = contexts_[i].get()] {
            // Named for top -H and tests/bench/thread_cpu.sh; the first thread keeps the process name.
            pthread_setname_np(pthread_self(), "backtalk-net");
            context->run();
        });
    }
    contexts_.front()->run();
    for (auto& thread : threads) thread.join();
}

void IoContextPool::release() {
    for (auto& guard : work_) guard.reset();
}

void IoContextPool::stop() {
    for (auto& context : contexts_) context->stop();
}

}  // namespace backtalk::server
