// Load generator for `backtalk serve` (and, with --echo, for any WebSocket
// echo server): a Beast WebSocket client with a few threads.
//
//   bench_load --url ws://HOST:PORT/ws [--origin URL] [--threads T] MODE...
//     --mode closed --connections C --duration D --warmup W
//         C connections each play whole conversations back to back (see
//         person.hpp): every turn is sent as soon as the previous one ended.
//     --mode open --rate R --connections C --duration D --warmup W
//         R turns per second spread evenly over C connections. Latency runs
//         from the time a turn was scheduled, not from when it could be
//         sent, so a server that falls behind is not hidden (no coordinated
//         omission).
//     --mode idle --connections N --server-pid PID [--settle S]
//         Opens N connections, each with a start, holds them and reports the
//         growth of the server's VmRSS divided by N.
//     --mode startup -- COMMAND ARGS...
//         Runs the server COMMAND (which prints "listening on http://HOST:PORT"),
//         connects as soon as it can and reports the time from the start to
//         the first accepted connection and to the first answered turn.
//
// A turn is one client object until the frame with "end_of_turn":true; with
// --echo every frame ends a turn. It prints turns/s, p50 / p99 / p99.9 per
// turn, errors by kind and connections, then one "RESULT key=value ..." line
// for scripts.
#include "tests/bench/load/child_process.hpp"
#include "tests/bench/load/latency_histogram.hpp"
#include "tests/bench/load/person.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using backtalk::bench::LatencyHistogram;

enum class Mode { closed, open, idle, startup };

struct Options {
    Mode mode = Mode::closed;
    std::string url = "ws://127.0.0.1:8080/ws";
    std::string origin;  // default: http://HOST:PORT of the url
    std::size_t connections = 100;
    double duration_s = 10;
    double warmup_s = 2;
    double rate = 0;  // open loop: turns per second in all
    unsigned threads = 2;
    bool echo = false;
    int server_pid = 0;    // idle: whose memory to read
    double settle_s = 2;   // idle: wait before reading the memory again
    double turn_timeout_s = 10;
    std::size_t connect_concurrency = 200;  // handshakes in flight at once
    std::vector<std::string> command;       // startup: the server to run
};

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr,
                 "bench_load: %s\n"
                 "usage: bench_load [--url ws://HOST:PORT/ws] [--origin URL] [--threads T] [--echo]\n"
                 "                  [--mode closed|open|idle|startup] [--connections N] [--duration S]\n"
                 "                  [--warmup S] [--rate TURNS_PER_S] [--server-pid PID] [--settle S]\n"
                 "                  [--turn-timeout S] [-- SERVER COMMAND...]\n",
                 problem.c_str());
    std::exit(2);
}

double positive_number(const std::string& flag, const char* text, bool zero_allowed = false) {
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end == text || *end != '\0' || value < 0 || (value == 0 && !zero_allowed)) {
        usage(flag + " wants a positive number, got '" + text + "'");
    }
    return value;
}

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") {
            options.command.assign(argv + i + 1, argv + argc);
            break;
        }
        if (arg == "--echo") {
            options.echo = true;
            continue;
        }
        if (i + 1 >= argc) usage(arg + " wants a value");
        const char* value = argv[++i];
        if (arg == "--mode") {
            const std::string mode = value;
            if (mode == "closed") options.mode = Mode::closed;
            else if (mode == "open") options.mode = Mode::open;
            else if (mode == "idle") options.mode = Mode::idle;
            else if (mode == "startup") options.mode = Mode::startup;
            else usage("unknown mode '" + mode + "'");
        } else if (arg == "--url") {
            options.url = value;
        } else if (arg == "--origin") {
            options.origin = value;
        } else if (arg == "--connections") {
            options.connections = static_cast<std::size_t>(positive_number(arg, value));
        } else if (arg == "--duration") {
            options.duration_s = positive_number(arg, value);
        } else if (arg == "--warmup") {
            options.warmup_s = positive_number(arg, value, true);
        } else if (arg == "--rate") {
            options.rate = positive_number(arg, value);
        } else if (arg == "--threads") {
            options.threads = static_cast<unsigned>(positive_number(arg, value));
        } else if (arg == "--server-pid") {
            options.server_pid = static_cast<int>(positive_number(arg, value));
        } else if (arg == "--settle") {
            options.settle_s = positive_number(arg, value, true);
        } else if (arg == "--turn-timeout") {
            options.turn_timeout_s = positive_number(arg, value);
        } else {
            usage("unknown option '" + arg + "'");
        }
    }
    if (options.mode == Mode::open && options.rate == 0) usage("--mode open wants --rate");
    if (options.mode == Mode::idle && options.server_pid == 0) usage("--mode idle wants --server-pid");
    if (options.mode == Mode::startup && options.command.empty()) usage("--mode startup wants -- COMMAND");
    if (options.connections == 0) usage("--connections must be at least 1");
    return options;
}

struct Target {
    std::string host;
    std::string port;
    std::string path;
};

Target parse_url(const std::string& url) {
    constexpr std::string_view scheme = "ws://";
    if (url.rfind(scheme, 0) != 0) usage("--url must start with ws://, got '" + url + "'");
    const auto rest = url.substr(scheme.size());
    const auto slash = rest.find('/');
    const auto authority = rest.substr(0, slash);
    const auto colon = authority.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == authority.size()) {
        usage("--url needs HOST:PORT, got '" + url + "'");
    }
    return {authority.substr(0, colon), authority.substr(colon + 1),
            slash == std::string::npos ? std::string("/") : rest.substr(slash)};
}

// What one connection saw; merged once every thread has stopped.
struct Stats {
    LatencyHistogram latency;
    std::uint64_t turns = 0;        // inside the measured window
    std::uint64_t all_turns = 0;    // warm-up included
    std::uint64_t frames = 0;
    std::uint64_t behind_schedule = 0;  // open loop: sent over 1 ms after its time
    std::map<std::string, std::uint64_t> errors;
    backtalk::bench::Person::Outcomes outcomes;

    void merge(const Stats& other) {
        latency.merge(other.latency);
        turns += other.turns;
        all_turns += other.all_turns;
        frames += other.frames;
        behind_schedule += other.behind_schedule;
        for (const auto& [kind, count] : other.errors) errors[kind] += count;
        outcomes.emergency += other.outcomes.emergency;
        outcomes.urgent += other.outcomes.urgent;
        outcomes.gp_soon += other.outcomes.gp_soon;
        outcomes.self_care += other.outcomes.self_care;
        outcomes.unfinished += other.outcomes.unfinished;
    }
};

// Read by every connection; written by main before the connections use it.
struct Run {
    Options options;
    tcp::endpoint endpoint;
    std::string host_header;
    std::string path;
    std::string origin;
    Clock::time_point schedule_from;  // open loop: turn 0 of connection 0
    Clock::time_point measure_from;
    Clock::time_point measure_until;
    std::chrono::nanoseconds interval{};  // open loop: between turns of one connection

    std::atomic<std::size_t> ready{0};     // opened and answered their start
    std::atomic<std::size_t> finished{0};  // closed or failed, counted once each
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(net::io_context& io_context, Run& run, std::size_t index)
        : ws_(net::make_strand(io_context)),
          timer_(ws_.get_executor()),
          run_(run),
          index_(index),
          person_(index),
          echo_talker_(index) {}

    // Connects, handshakes and plays the start; then waits for go().
    void open() {
        beast::get_lowest_layer(ws_).async_connect(
            run_.endpoint, beast::bind_front_handler(&Connection::on_connect, shared_from_this()));
    }
    void go() { net::post(ws_.get_executor(), beast::bind_front_handler(&Connection::on_go, shared_from_this())); }
    // Stops after the turn in progress and closes.
    void finish() {
        net::post(ws_.get_executor(), beast::bind_front_handler(&Connection::on_finish, shared_from_this()));
    }
    bool in_turn() const { return in_turn_; }
    const backtalk::bench::Person::Outcomes& outcomes() const { return person_.outcomes(); }
    Stats& stats() { return stats_; }
    const Stats& stats() const { return stats_; }

private:
    void fail(std::string kind, const beast::error_code& error) {
        ++stats_.errors[kind + ": " + error.message()];
        done();
    }
    // Counted once, whether the connection closed cleanly or failed.
    void done() {
        if (done_) return;
        done_ = true;
        in_turn_ = false;
        if (!ready_) ++run_.ready;  // so that nobody waits for it
        ready_ = true;
        ++run_.finished;
    }

    void on_connect(beast::error_code error) {
        if (error) return fail("connect", error);
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), error);
        beast::get_lowest_layer(ws_).expires_never();
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
        ws_.set_option(websocket::stream_base::decorator(
            [origin = run_.origin](websocket::request_type& request) { request.set(beast::http::field::origin, origin); }));
        // The masking key needs no cryptographic strength here, and the
        // cheaper generator keeps the client out of the measurement.
        ws_.secure_prng(false);
        ws_.text(true);
        ws_.async_handshake(run_.host_header, run_.path,
                            beast::bind_front_handler(&Connection::on_handshake, shared_from_this()));
    }

    void on_handshake(beast::error_code error) {
        if (error) return fail("handshake", error);
        send(run_.options.echo ? echo_talker_.opening() : person_.opening(), Clock::now());
        do_read();
    }

    void send(std::string_view object, Clock::time_point origin) {
        in_turn_ = true;
        turn_origin_ = origin;
        next_out_.assign(object);
        write_queued_ = true;
        if (!writing_) do_write();
    }

    void do_write() {
        writing_ = true;
        write_queued_ = false;
        out_.swap(next_out_);
        ws_.async_write(net::buffer(out_), beast::bind_front_handler(&Connection::on_write, shared_from_this()));
    }

    void on_write(beast::error_code error, std::size_t) {
        writing_ = false;
        if (error) return finishing_ ? done() : fail("write", error);
        // A reply can arrive before this handler runs; a turn queued then
        // goes now.
        if (write_queued_) do_write();
    }

    void do_read() {
        ws_.async_read(buffer_, beast::bind_front_handler(&Connection::on_read, shared_from_this()));
    }

    void on_read(beast::error_code error, std::size_t) {
        if (error) {
            if (closing_ || error == websocket::error::closed) {
                if (!closing_ && !run_.options.echo) ++stats_.errors["closed by the server"];
                return done();
            }
            return fail("read", error);
        }
        ++stats_.frames;
        const auto data = buffer_.cdata();
        const std::string_view json(static_cast<const char*>(data.data()), data.size());
        bool end_of_turn = true;
        if (!run_.options.echo) {
            const auto frame = backtalk::bench::scan_frame(json);
            if (!frame.error_code.empty()) ++stats_.errors["server error " + std::string(frame.error_code)];
            person_.hear(frame);
            end_of_turn = frame.end_of_turn;
        }
        buffer_.consume(buffer_.size());
        if (end_of_turn && in_turn_) end_turn();
        do_read();
    }

    void end_turn() {
        const auto now = Clock::now();
        in_turn_ = false;
        ++stats_.all_turns;
        if (now >= run_.measure_from && now < run_.measure_until && ready_) {
            ++stats_.turns;
            stats_.latency.record(static_cast<std::uint64_t>((now - turn_origin_).count()));
        }
        if (!ready_) {
            ready_ = true;
            ++run_.ready;
            return;  // until go()
        }
        if (finishing_) return close();
        const auto next = run_.options.echo ? echo_talker_.next() : person_.next();
        if (run_.options.mode == Mode::closed) return send(next, now);
        schedule(next, now);
    }

    // Open loop: the next turn goes at its scheduled time, or now if that
    // has passed, and its latency counts from the scheduled time.
    void schedule(std::string_view next, Clock::time_point now) {
        ++sequence_;
        const auto due = run_.schedule_from + run_.interval * sequence_ +
                         run_.interval * static_cast<std::int64_t>(index_) /
                             static_cast<std::int64_t>(run_.options.connections);
        if (due <= now) {
            if (now - due > std::chrono::milliseconds(1)) ++stats_.behind_schedule;
            return send(next, due);
        }
        scheduled_.assign(next);
        timer_.expires_at(due);
        timer_.async_wait([self = shared_from_this(), due](beast::error_code error) {
            if (error || self->finishing_) return;
            self->send(self->scheduled_, due);
        });
    }

    void on_go() {
        if (done_) return;
        const auto next = run_.options.echo ? echo_talker_.next() : person_.next();
        if (run_.options.mode == Mode::closed) return send(next, Clock::now());
        sequence_ = -1;
        schedule(next, Clock::now());
    }

    void on_finish() {
        finishing_ = true;
        timer_.cancel();
        if (!in_turn_) close();
    }

    void close() {
        if (closing_ || done_) return;
        closing_ = true;
        ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code error) {
            if (error && error != net::error::operation_aborted) ++self->stats_.errors["close: " + error.message()];
            self->done();
        });
    }

    websocket::stream<beast::tcp_stream> ws_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    Run& run_;
    std::size_t index_;
    backtalk::bench::Person person_;
    backtalk::bench::EchoTalker echo_talker_;
    std::string out_;       // the frame being written
    std::string next_out_;  // the frame to write next
    std::string scheduled_; // open loop: the frame waiting for its time
    Clock::time_point turn_origin_;
    std::int64_t sequence_ = 0;  // open loop: turns scheduled
    bool writing_ = false;
    bool write_queued_ = false;  // next_out_ waits for the write in flight
    bool in_turn_ = false;
    bool ready_ = false;
    bool finishing_ = false;
    bool closing_ = false;
    bool done_ = false;
    Stats stats_;
};

// Kilobytes of resident memory of `pid`, from /proc/PID/status.
std::uint64_t resident_kib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
    }
    throw std::runtime_error("no VmRSS in /proc/" + std::to_string(pid) + "/status (is the server running?)");
}

double micros(std::uint64_t nanos) { return static_cast<double>(nanos) / 1000.0; }

std::string errors_text(const std::map<std::string, std::uint64_t>& errors) {
    if (errors.empty()) return "none";
    std::string text;
    for (const auto& [kind, count] : errors) text += (text.empty() ? "" : ", ") + kind + " x" + std::to_string(count);
    return text;
}

std::uint64_t error_count(const std::map<std::string, std::uint64_t>& errors) {
    std::uint64_t total = 0;
    for (const auto& entry : errors) total += entry.second;
    return total;
}

class LoadClient {
public:
    explicit LoadClient(const Options& options) : io_context_(static_cast<int>(options.threads)) {
        run_.options = options;
        const auto target = parse_url(options.url);
        tcp::resolver resolver(io_context_);
        run_.endpoint = *resolver.resolve(target.host, target.port).begin();
        run_.host_header = target.host + ':' + target.port;
        run_.path = target.path;
        run_.origin = options.origin.empty() ? "http://" + run_.host_header : options.origin;
        // Nothing is measured until the timings are set by measure().
        run_.measure_from = Clock::time_point::max();
        run_.measure_until = Clock::time_point::max();
        for (unsigned i = 0; i < options.threads; ++i) {
            threads_.emplace_back([this] { io_context_.run(); });
        }
    }

    ~LoadClient() {
        work_.reset();
        io_context_.stop();
        for (auto& thread : threads_) thread.join();
    }

    // Opens every connection, a bounded number of handshakes at a time, and
    // waits until each has answered its start or failed.
    void open_all() {
        const auto& options = run_.options;
        for (std::size_t i = 0; i < options.connections; ++i) {
            while (i - run_.ready.load() >= options.connect_concurrency) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            connections_.push_back(std::make_shared<Connection>(io_context_, run_, i));
            connections_.back()->open();
        }
        wait_until([&] { return run_.ready.load() == options.connections; }, options.turn_timeout_s);
    }

    // Plays turns for the warm-up and the measured window.
    void measure() {
        const auto& options = run_.options;
        const auto now = Clock::now();
        run_.schedule_from = now;
        if (options.mode == Mode::open) {
            run_.interval = std::chrono::nanoseconds(
                static_cast<std::int64_t>(1e9 * static_cast<double>(options.connections) / options.rate));
        }
        run_.measure_from = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.warmup_s));
        run_.measure_until = run_.measure_from +
                             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.duration_s));
        for (auto& connection : connections_) connection->go();
        std::this_thread::sleep_until(run_.measure_until);
    }

    // Closes every connection after its turn in progress. Turns still open
    // after the turn timeout are counted as errors.
    void close_all() {
        for (auto& connection : connections_) connection->finish();
        const bool all_closed = wait_until([&] { return run_.finished.load() == connections_.size(); },
                                           run_.options.turn_timeout_s);
        work_.reset();
        io_context_.stop();
        for (auto& thread : threads_) thread.join();
        threads_.clear();
        if (!all_closed) {
            for (auto& connection : connections_) {
                if (connection->in_turn()) ++connection->stats().errors["turn unanswered at the end"];
            }
        }
    }

    Stats totals() const {
        Stats total;
        for (const auto& connection : connections_) {
            Stats stats = connection->stats();
            stats.outcomes = connection->outcomes();
            total.merge(stats);
        }
        return total;
    }

    std::size_t failed_connections() const {
        std::size_t failed = 0;
        for (const auto& connection : connections_) {
            for (const auto& [kind, count] : connection->stats().errors) {
                if (kind.rfind("connect", 0) == 0 || kind.rfind("handshake", 0) == 0) failed += count;
            }
        }
        return failed;
    }

    const Run& run() const { return run_; }

private:
    template <class Done>
    static bool wait_until(Done done, double timeout_s) {
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
        while (!done()) {
            if (Clock::now() > deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    }

    net::io_context io_context_;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{io_context_.get_executor()};
    std::vector<std::thread> threads_;
    Run run_;
    std::vector<std::shared_ptr<Connection>> connections_;
};

int run_load(const Options& options) {
    LoadClient client(options);
    client.open_all();
    client.measure();
    client.close_all();
    const Stats total = client.totals();
    const double seconds = options.duration_s;
    const double turns_per_s = static_cast<double>(total.turns) / seconds;
    const auto& h = total.latency;
    const char* mode = options.mode == Mode::closed ? "closed" : "open";
    std::printf("bench_load %s loop%s: %s, %zu connections, %u client threads, %.0f s after %.0f s warm-up\n", mode,
                options.echo ? " (echo)" : "", options.url.c_str(), options.connections, options.threads, seconds,
                options.warmup_s);
    if (options.mode == Mode::open) {
        std::printf("  asked rate       %10.0f turns/s; %llu turns sent over 1 ms behind schedule\n", options.rate,
                    static_cast<unsigned long long>(total.behind_schedule));
    }
    std::printf("  turns            %10llu  (%.0f turns/s; %llu in all with the warm-up and the starts, %llu frames in)\n",
                static_cast<unsigned long long>(total.turns), turns_per_s,
                static_cast<unsigned long long>(total.all_turns), static_cast<unsigned long long>(total.frames));
    std::printf("  latency per turn p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us%s\n", micros(h.percentile(0.5)),
                micros(h.percentile(0.99)), micros(h.percentile(0.999)), micros(h.max()),
                options.mode == Mode::open ? " (from the scheduled time)" : "");
    if (!options.echo) {
        const auto& o = total.outcomes;
        std::printf("  outcomes reached emergency %zu, urgent %zu, gp_soon %zu, self_care %zu; started over without one %zu\n",
                    o.emergency, o.urgent, o.gp_soon, o.self_care, o.unfinished);
    }
    std::printf("  connections      %zu asked, %zu failed to open\n", options.connections, client.failed_connections());
    std::printf("  errors           %s\n", errors_text(total.errors).c_str());
    std::printf("RESULT mode=%s echo=%d connections=%zu seconds=%.1f turns=%llu turns_per_s=%.0f p50_us=%.0f p99_us=%.0f "
                "p999_us=%.0f max_us=%.0f errors=%llu\n",
                mode, options.echo ? 1 : 0, options.connections, seconds, static_cast<unsigned long long>(total.turns),
                turns_per_s, micros(h.percentile(0.5)), micros(h.percentile(0.99)), micros(h.percentile(0.999)),
                micros(h.max()), static_cast<unsigned long long>(error_count(total.errors)));
    return total.turns > 0 ? 0 : 1;
}

int run_idle(const Options& options) {
    const auto before_kib = resident_kib(options.server_pid);
    LoadClient client(options);
    const auto started = Clock::now();
    client.open_all();
    const double open_s = std::chrono::duration<double>(Clock::now() - started).count();
    // Let the server's log writer commit what the starts queued.
    std::this_thread::sleep_for(std::chrono::duration<double>(options.settle_s));
    const auto after_kib = resident_kib(options.server_pid);
    const Stats total = client.totals();
    const std::size_t failed = client.failed_connections();
    const std::size_t held = options.connections - failed;
    client.close_all();
    const double per_connection_kib =
        held == 0 ? 0.0 : static_cast<double>(after_kib > before_kib ? after_kib - before_kib : 0) / static_cast<double>(held);
    std::printf("bench_load idle: %s, %zu connections opened in %.1f s, each with a start\n", options.url.c_str(),
                held, open_s);
    std::printf("  server VmRSS     %llu KiB before, %llu KiB holding them: %.1f KiB per connection\n",
                static_cast<unsigned long long>(before_kib), static_cast<unsigned long long>(after_kib),
                per_connection_kib);
    std::printf("  connections      %zu asked, %zu failed to open\n", options.connections, failed);
    std::printf("  errors           %s\n", errors_text(total.errors).c_str());
    std::printf("RESULT mode=idle connections=%zu held=%zu rss_before_kib=%llu rss_after_kib=%llu "
                "kib_per_connection=%.2f errors=%llu\n",
                options.connections, held, static_cast<unsigned long long>(before_kib),
                static_cast<unsigned long long>(after_kib), per_connection_kib,
                static_cast<unsigned long long>(error_count(total.errors)));
    return held > 0 ? 0 : 1;
}

// One synchronous connection: handshake, then a start answered to its end.
// Returns the time the handshake completed, or nothing if it failed.
std::optional<Clock::time_point> first_turn(const std::string& url, Clock::time_point deadline,
                                            Clock::time_point& answered) {
    const auto target = parse_url(url);
    net::io_context io_context;
    tcp::resolver resolver(io_context);
    const auto endpoints = resolver.resolve(target.host, target.port);
    websocket::stream<tcp::socket> ws(io_context);
    beast::error_code error;
    // The port is open once the server printed its line; retry briefly in
    // case the accept loop is not running yet.
    while (true) {
        net::connect(ws.next_layer(), endpoints, error);
        if (!error || Clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (error) return std::nullopt;
    ws.set_option(websocket::stream_base::decorator([origin = "http://" + target.host + ':' + target.port](
                                                        websocket::request_type& request) {
        request.set(beast::http::field::origin, origin);
    }));
    ws.handshake(target.host + ':' + target.port, target.path, error);
    if (error) return std::nullopt;
    const auto accepted = Clock::now();
    ws.text(true);
    ws.write(net::buffer(std::string_view(R"({"type":"start"})")), error);
    beast::flat_buffer buffer;
    while (!error) {
        ws.read(buffer, error);
        if (error) break;
        const std::string_view json(static_cast<const char*>(buffer.cdata().data()), buffer.size());
        if (backtalk::bench::scan_frame(json).end_of_turn) break;
        buffer.consume(buffer.size());
    }
    if (error) return std::nullopt;
    answered = Clock::now();
    ws.close(websocket::close_code::normal, error);
    return accepted;
}

int run_startup(const Options& options) {
    const auto started = Clock::now();
    backtalk::bench::ChildProcess server(options.command);
    const auto deadline = started + std::chrono::seconds(30);
    const auto address = server.wait_for_listening(deadline);
    if (!address) {
        std::fprintf(stderr, "bench_load: the server never printed \"listening on http://HOST:PORT\"\n");
        return 1;
    }
    const auto listening = Clock::now();
    Clock::time_point answered;
    const auto accepted = first_turn("ws://" + *address + "/ws", deadline, answered);
    server.stop();
    if (!accepted) {
        std::fprintf(stderr, "bench_load: could not open a WebSocket on %s\n", address->c_str());
        return 1;
    }
    const auto ms = [&](Clock::time_point at) { return std::chrono::duration<double, std::milli>(at - started).count(); };
    std::printf("bench_load startup: %s\n", options.command.front().c_str());
    std::printf("  listening line   %8.1f ms after the start\n", ms(listening));
    std::printf("  first WebSocket  %8.1f ms after the start (connection accepted and upgraded)\n", ms(*accepted));
    std::printf("  first turn       %8.1f ms after the start (its start answered)\n", ms(answered));
    std::printf("RESULT mode=startup listening_ms=%.1f first_accept_ms=%.1f first_turn_ms=%.1f\n", ms(listening),
                ms(*accepted), ms(answered));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    try {
        switch (options.mode) {
        case Mode::closed:
        case Mode::open:
            return run_load(options);
        case Mode::idle:
            return run_idle(options);
        case Mode::startup:
            return run_startup(options);
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "bench_load: %s\n", error.what());
        return 1;
    }
    return 1;
}
