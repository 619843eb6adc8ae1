// How fast the log writer commits: producers on several threads queue
// turns as the conversation service does (the conversation's row, the
// person's message and the bot's reply: one log row), and the writer commits
// them in batches. Prints records (and turns) per second from the first
// queued to the last committed, the median batch commit time, and what
// queuing costs a caller.
//
// usage: store_writer_bench [TURNS] [PRODUCERS] [BATCH_RECORDS] [DB_DIR] [--without-text-index]
//        defaults: 100000 turns, 2 producers, batches of 4000 records (the
//        server's), a temp folder
// --without-text-index leaves out the full-text index (schema 10) to show
// what keeping it costs the writer.
#include "store/store.hpp"

#include <SQLiteCpp/Database.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
namespace store = backtalk::store;

constexpr std::size_t records_per_turn = 3;  // the conversation's row, the message, the reply

// A turn of conversation `i / 10` of `producer`, as the conversation service
// logs it (adapters/core/conversations.cpp).
store::TurnLog sample_turn(std::size_t producer, std::size_t i) {
    const std::string id = "bench-" + std::to_string(producer) + "-" + std::to_string(i / 10);
    const auto now = static_cast<std::int64_t>(i);
    store::TurnLog turn;
    turn.now_ms = now;
    turn.conversation.id = id;
    turn.conversation.channel = "websocket";
    turn.conversation.started_ms = now;
    turn.conversation.last_activity_ms = now;
    turn.conversation.locale = "en";
    turn.conversation.turns = static_cast<int>(i % 10);
    turn.conversation.state = "screening";
    turn.conversation.asking = "saddle_numbness";
    store::MessageRecord& in = turn.messages.emplace_back();
    in.conversation = id;
    in.time_ms = now;
    in.direction = store::Direction::in;
    in.kind = "message";
    in.text = "my lower back hurts since I lifted boxes at work, write to me at a@b.org";
    in.intents = {"pain", "lower_back", "lifting"};
    in.confidence = 0.8;
    in.understood = true;
    in.state = "screening";
    in.asking = "pain_location";
    in.rules_version = "bench";
    in.channel = "websocket";
    in.processing_us = 40;
    store::MessageRecord& out = turn.messages.emplace_back();
    out.conversation = id;
    out.time_ms = now;
    out.direction = store::Direction::out;
    out.kind = "reply";
    out.text = "Thank you. Do you have any numbness around your bottom or genitals?";
    out.state = "screening";
    out.asking = "saddle_numbness";
    out.rules_version = "bench";
    out.channel = "websocket";
    out.processing_us = 40;
    return turn;
}

std::size_t argument(int argc, char** argv, int index, std::size_t fallback) {
    return argc > index ? std::stoul(argv[index]) : fallback;
}

// Opens the log once (so that its schema is created), then replaces the
// full-text index with a view whose inserts do nothing: the writer runs as
// it does, less the index's work.
void drop_text_index(const store::StoreOptions& options) {
    { store::Store created(options); }
    SQLite::Database db(options.path.string(), SQLite::OPEN_READWRITE);
    db.exec(R"sql(
        DROP TRIGGER turns_text_delete;
        DROP TABLE turns_text;
        CREATE VIEW turns_text (rowid, person, bot) AS SELECT 0, '', '' WHERE 0;
        CREATE TRIGGER turns_text_discard INSTEAD OF INSERT ON turns_text BEGIN SELECT 1; END;
    )sql");
}

}  // namespace

int main(int argc, char** argv) {
    bool with_text_index = true;
    if (argc > 1 && std::strcmp(argv[argc - 1], "--without-text-index") == 0) {
        with_text_index = false;
        --argc;
    }
    const std::size_t turns = argument(argc, argv, 1, 100000);
    const std::size_t producers = std::max<std::size_t>(1, argument(argc, argv, 2, 2));
    const std::size_t batch_records = argument(argc, argv, 3, 4000);
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

    store::StoreOptions options;
    options.path = dir / "bench.db";
    options.batch_rows = batch_records;
    // Measure the writer, not the drop policy.
    options.queue_capacity = turns * records_per_turn + batch_records;
    options.hash_key_file = dir / "hash.key";
    if (!with_text_index) drop_text_index(options);
    store::Store log(options);

    // Turns are built before the clock starts: the figure is the store's.
    const std::size_t per_producer = turns / producers;
    std::vector<std::vector<store::TurnLog>> prepared(producers);
    for (std::size_t p = 0; p < producers; ++p) {
        prepared[p].reserve(per_producer);
        for (std::size_t i = 0; i < per_producer; ++i) prepared[p].push_back(sample_turn(p, i));
    }

    std::vector<double> enqueue_ns(producers);
    const auto started = Clock::now();
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            const auto begin = Clock::now();
            for (auto& turn : prepared[p]) log.log_turn(std::move(turn));
            enqueue_ns[p] = std::chrono::duration<double, std::nano>(Clock::now() - begin).count() /
                            static_cast<double>(per_producer);
        });
    }
    for (auto& thread : threads) thread.join();
    const auto counters = log.close();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

    double mean_enqueue_ns = 0;
    for (double ns : enqueue_ns) mean_enqueue_ns += ns / static_cast<double>(producers);
    const auto per_second = [&](double count) { return static_cast<long long>(count / seconds); };
    std::cout << "records " << counters.rows_written << " (dropped " << counters.dropped << ") of "
              << per_producer * producers << " turns from " << producers << " producers, batches of up to "
              << batch_records << " records, text index " << (with_text_index ? "on" : "off") << '\n'
              << "writer: " << per_second(static_cast<double>(counters.rows_written)) << " records/s, "
              << per_second(static_cast<double>(counters.rows_written) / records_per_turn) << " turns/s, "
              << counters.batches << " batches, median batch commit " << counters.median_batch_us << " us\n"
              << "caller: " << static_cast<long long>(mean_enqueue_ns) << " ns per turn queued (redaction included)\n";

    if (argc <= 4) std::filesystem::remove_all(dir);
    return counters.dropped == 0 ? 0 : 1;
}
