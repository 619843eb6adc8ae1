// How fast the log writer commits: producers on several threads queue
// message rows as the conversation service does, and the writer commits them
// in batches. Prints rows per second from the first row queued to the last
// committed, the median batch commit time, and what queuing costs a caller.
//
// usage: store_writer_bench [ROWS] [PRODUCERS] [BATCH_ROWS] [DB_DIR]
//        defaults: 200000 rows, 2 producers, batches of 100, a temp folder
#include "store/store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::size_t argument(int argc, char** argv, int index, std::size_t fallback) {
    return argc > index ? std::stoul(argv[index]) : fallback;
}

backtalk::store::MessageRecord sample_row(std::size_t producer, std::size_t i) {
    backtalk::store::MessageRecord record;
    record.conversation = "bench-" + std::to_string(producer) + "-" + std::to_string(i / 20);
    record.time_ms = static_cast<std::int64_t>(i);
    record.direction = i % 2 == 0 ? backtalk::store::Direction::in : backtalk::store::Direction::out;
    record.kind = i % 2 == 0 ? "message" : "reply";
    record.text = i % 2 == 0 ? "my lower back hurts since I lifted boxes at work, write to me at a@b.org"
                             : "Thank you. Do you have any numbness around your bottom or genitals?";
    record.intents = {"pain", "lower_back", "lifting"};
    record.confidence = 0.8;
    record.understood = true;
    record.state = "screening";
    record.asking = "saddle_numbness";
    record.rules_version = "bench";
    record.channel = "websocket";
    record.processing_us = 40;
    return record;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t rows = argument(argc, argv, 1, 200000);
    const std::size_t producers = std::max<std::size_t>(1, argument(argc, argv, 2, 2));
    const std::size_t batch_rows = argument(argc, argv, 3, 100);
    std::filesystem::path dir;
    if (argc > 4) {
        dir = argv[4];
    } else {
        std::string pattern = (std::filesystem::temp_directory_path() / "backtalk-bench-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            std::perror("mkdtemp");
            return 1;
        }
        dir = pattern;
    }

    backtalk::store::StoreOptions options;
    options.path = dir / "bench.db";
    options.batch_rows = batch_rows;
    options.queue_capacity = rows + batch_rows;  // measure the writer, not the drop policy
    options.hash_key_file = dir / "hash.key";
    backtalk::store::Store log(options);

    // Rows are built before the clock starts: the figure is the store's.
    const std::size_t per_producer = rows / producers;
    std::vector<std::vector<backtalk::store::MessageRecord>> prepared(producers);
    for (std::size_t p = 0; p < producers; ++p) {
        prepared[p].reserve(per_producer);
        for (std::size_t i = 0; i < per_producer; ++i) prepared[p].push_back(sample_row(p, i));
    }

    std::vector<double> enqueue_ns(producers);
    const auto started = Clock::now();
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            const auto begin = Clock::now();
            for (auto& record : prepared[p]) log.log_message(std::move(record));
            enqueue_ns[p] = std::chrono::duration<double, std::nano>(Clock::now() - begin).count() /
                            static_cast<double>(per_producer);
        });
    }
    for (auto& thread : threads) thread.join();
    const auto counters = log.close();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

    double mean_enqueue_ns = 0;
    for (double ns : enqueue_ns) mean_enqueue_ns += ns / static_cast<double>(producers);
    std::cout << "rows " << counters.rows_written << " (dropped " << counters.dropped << ") from " << producers
              << " producers, batches of up to " << batch_rows << '\n'
              << "writer: " << static_cast<long long>(static_cast<double>(counters.rows_written) / seconds)
              << " rows/s, " << counters.batches << " batches, median batch commit " << counters.median_batch_us
              << " us\n"
              << "caller: " << static_cast<long long>(mean_enqueue_ns) << " ns per row queued (redaction included)\n";

    if (argc <= 4) std::filesystem::remove_all(dir);
    return counters.dropped == 0 ? 0 : 1;
}
