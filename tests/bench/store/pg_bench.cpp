// PostgreSQL figures for docs/performance.md: turns per second through the
// conversation service (each turn's session write committed before its
// answer, UPDATE ... WHERE version = $v) and log rows per second through
// the store's COPY batches, and claims per second (a REST message_id or a
// Telegram update id taken in the database, INSERT ... ON CONFLICT DO
// NOTHING). Against a throwaway PostgreSQL 15 it starts
// (tests/store/postgres_server.hpp: fsync off, unix socket), or the URL given.
//
// usage: pg_bench [TURNS] [THREADS] [LOG_ROWS] [URL]
//        defaults: 4000 turns on 2 threads (one conversation each at a
//        time, 10 turns per conversation), 200000 log rows
#include "adapters/core/conversations.hpp"
#include "bot/rules.hpp"
#include "store/store.hpp"
#include "tests/store/postgres_server.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace backtalk;

std::size_t argument(int argc, char** argv, int index, std::size_t fallback) {
    return argc > index ? std::stoul(argv[index]) : fallback;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

store::StoreOptions options_for(const std::string& url, const std::filesystem::path& dir) {
    store::StoreOptions options;
    options.postgresql_url = url;
    options.path = dir / "unused.db";
    options.hash_key_file = dir / "hash.key";
    return options;
}

void bench_turns(const std::string& url, const std::filesystem::path& dir, std::size_t turns, std::size_t threads) {
    RuleLoad load = load_rules(std::filesystem::path(BACKTALK_SOURCE_DIR) / "rules" / "en");
    if (!load.errors.empty()) throw std::runtime_error("rules/en does not load");
    const auto engine = std::make_shared<const Engine>(load.rules, EngineOptions{"112"});
    store::Store log(options_for(url, dir));
    std::atomic<int> ids{0};
    ConversationService service(engine, &log, ConversationOptions{}, [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    }, [&ids] { return "bench" + std::to_string(++ids); });
    const ChannelInfo channel{"websocket", ""};
    const std::vector<std::string> said{"my lower back hurts", "no", "since three days", "no", "I lifted a box",
                                        "no fever", "it is a 5", "no", "not really", "thanks"};
    std::vector<std::vector<double>> latencies(threads);
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::string session;
            for (std::size_t i = 0; i < turns / threads; ++i) {
                const auto began = Clock::now();
                if (i % said.size() == 0) {
                    session.clear();
                    service.handle(session, protocol::Start{}, channel);
                }
                service.handle(session, protocol::Message{said[i % said.size()]}, channel);
                latencies[t].push_back(seconds_since(began) * 1e6);
            }
        });
    }
    for (auto& worker : workers) worker.join();
    const double elapsed = seconds_since(start);
    std::vector<double> all;
    for (const auto& some : latencies) all.insert(all.end(), some.begin(), some.end());
    std::sort(all.begin(), all.end());
    const auto counts = log.close();
    std::printf("turns: %zu on %zu threads in %.2f s: %.0f turns/s (a tenth of them with a start), "
                "p50 %.0f us, p99 %.0f us; log records written %llu, dropped %llu\n",
                all.size(), threads, elapsed, all.size() / elapsed, all[all.size() / 2],
                all[all.size() * 99 / 100], static_cast<unsigned long long>(counts.rows_written),
                static_cast<unsigned long long>(counts.dropped));
}

void bench_log_rows(const std::string& url, const std::filesystem::path& dir, std::size_t rows) {
    store::StoreOptions options = options_for(url, dir);
    options.queue_capacity = rows + options.batch_rows;  // measure the writer, not the drop policy
    store::Store log(options);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < rows; ++i) {
        store::MessageRecord record;
        record.conversation = "rows-" + std::to_string(i / 10);
        record.time_ms = static_cast<std::int64_t>(i);
        record.direction = i % 2 == 0 ? store::Direction::in : store::Direction::out;
        record.kind = i % 2 == 0 ? "message" : "reply";
        record.text = i % 2 == 0 ? "my lower back hurts since I lifted boxes at work"
                                 : "Thank you. Do you have any numbness around your bottom or genitals?";
        record.intents = {"pain", "lower_back", "lifting"};
        record.state = "screening";
        record.asking = "saddle_numbness";
        record.rules_version = "bench";
        record.channel = "websocket";
        log.log_message(std::move(record));
    }
    log.flush(std::chrono::minutes(10));
    const double elapsed = seconds_since(start);
    const auto counts = log.close();
    std::printf("log: %llu records (one person's object, one reply: a turn row each) in %.2f s: %.0f records/s, "
                "median batch commit %lld us, dropped %llu\n",
                static_cast<unsigned long long>(counts.rows_written), elapsed, counts.rows_written / elapsed,
                static_cast<long long>(counts.median_batch_us), static_cast<unsigned long long>(counts.dropped));
}

// Each thread claims `claims / threads` keys, every key by every thread:
// one claim of each key inserts, the others conflict and read the value.
void bench_claims(const std::string& url, const std::filesystem::path& dir, std::size_t claims, std::size_t threads) {
    store::Store log(options_for(url, dir));
    std::vector<std::vector<double>> latencies(threads);
    std::atomic<std::size_t> taken{0};
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (std::size_t i = 0; i < claims / threads; ++i) {
                const auto began = Clock::now();
                if (!log.claim_binding("bench_claim", std::to_string(i), "x", 1)) ++taken;
                latencies[t].push_back(seconds_since(began) * 1e6);
            }
        });
    }
    for (auto& worker : workers) worker.join();
    const double elapsed = seconds_since(start);
    std::vector<double> all;
    for (const auto& some : latencies) all.insert(all.end(), some.begin(), some.end());
    std::sort(all.begin(), all.end());
    std::printf("claims: %zu on %zu threads (each key by each thread) in %.2f s: %.0f claims/s, p50 %.0f us, "
                "p99 %.0f us; keys taken %zu of %zu\n",
                all.size(), threads, elapsed, all.size() / elapsed, all[all.size() / 2], all[all.size() * 99 / 100],
                taken.load(), claims / threads);
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t turns = argument(argc, argv, 1, 4000);
    const std::size_t threads = argument(argc, argv, 2, 2);
    const std::size_t rows = argument(argc, argv, 3, 200000);
    std::optional<test::PostgresServer> server;
    const std::string url = argc > 4 ? argv[4] : (server.emplace(), server->url());
    // The stores' hash key lives here, removed at the end.
    std::string pattern = (std::filesystem::temp_directory_path() / "pg-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    const std::filesystem::path dir = pattern;
    bench_turns(url, dir, turns, threads);
    bench_log_rows(url, dir, rows);
    bench_claims(url, dir, turns, threads);
    std::filesystem::remove_all(dir);
}
