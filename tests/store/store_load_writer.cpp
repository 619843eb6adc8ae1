// A test helper: writes log rows at a steady rate into one conversation until
// it is killed or told to stop (SIGTERM), so the crash test can check what a
// hard kill loses and that a graceful stop loses nothing.
//
// usage: store_load_writer DB COUNTER_FILE ROWS_PER_SECOND BATCH_ROWS
// After each row it queues it writes the number queued so far (8 bytes) to
// COUNTER_FILE.
#include "store/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) { stop_requested = 1; }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: store_load_writer DB COUNTER_FILE ROWS_PER_SECOND BATCH_ROWS\n";
        return 2;
    }
    const int counter_fd = ::open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (counter_fd < 0) {
        std::perror("counter file");
        return 1;
    }
    const long rows_per_second = std::stol(argv[3]);
    std::signal(SIGTERM, request_stop);

    backtalk::store::StoreOptions options;
    options.path = argv[1];
    options.batch_rows = std::stoul(argv[4]);
    options.batch_interval = std::chrono::milliseconds(50);
    options.hash_key_file = std::string(argv[1]) + ".key";
    backtalk::store::Store log(options);

    const auto period = std::chrono::nanoseconds(1'000'000'000 / rows_per_second);
    auto next = std::chrono::steady_clock::now();
    std::uint64_t queued = 0;
    while (!stop_requested) {
        backtalk::store::MessageRecord record;
        record.conversation = "load";
        record.time_ms = static_cast<std::int64_t>(queued);
        record.direction = backtalk::store::Direction::in;
        record.kind = "message";
        record.text = "row " + std::to_string(queued + 1);
        if (!log.log_message(std::move(record))) {
            std::cerr << "store_load_writer: the store refused a row\n";
            return 1;
        }
        ++queued;
        if (::pwrite(counter_fd, &queued, sizeof queued, 0) != static_cast<ssize_t>(sizeof queued)) {
            std::perror("counter file");
            return 1;
        }
        next += period;
        std::this_thread::sleep_until(next);
    }
    const auto counts = log.close();
    ::close(counter_fd);
    std::cout << "queued " << queued << " written " << counts.rows_written << " dropped " << counts.dropped << '\n';
    return counts.dropped == 0 && counts.rows_written == queued ? 0 : 1;
}
