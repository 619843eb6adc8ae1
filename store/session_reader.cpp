#include "store/session_reader.hpp"

#include <pthread.h>

#include <exception>
#include <string>

namespace backtalk::store::detail {

SessionReader::SessionReader(std::function<void(std::string_view)> report)
    : report_(std::move(report)), thread_([this] { run(); }) {}

SessionReader::~SessionReader() { stop(); }

bool SessionReader::post(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return false;
        jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
    return true;
}

void SessionReader::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    ready_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void SessionReader::run() {
    pthread_setname_np(pthread_self(), "backtalk-read");
    std::unique_lock lock(mutex_);
    for (;;) {
        ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        try {
            job();
        } catch (const std::exception& error) {
            report_(std::string("a read job failed: ") + error.what());
        } catch (...) {
            report_("a read job failed");
        }
        job = nullptr;  // what it captured is freed outside the lock
        lock.lock();
    }
}

}  // namespace backtalk::store::detail
