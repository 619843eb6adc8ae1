#!/usr/bin/env bash
# The load figures of docs/performance.md in one go, on this machine:
#   - backtalk serve with logging on, closed loop (C connections playing whole
#     conversations) and open loop (a fixed rate: half the closed-loop figure);
#   - backtalk serve with logging off (--no-log), closed loop;
#   - the Node `ws` echo server (tests/bench/ws_echo), closed loop, the same
#     client counting each echoed frame as a turn;
#   - memory per idle connection with N connections held open;
#   - server start to first accepted connection;
#   - the engine benchmark (tests/bench/engine): median and p99 per turn,
#     rules load time.
# Then a table of the figures, the ratios and the targets.
#
#   tests/bench/run_load_bench.sh
#
# Settings (environment): BENCH_CONNECTIONS (100), BENCH_DURATION seconds
# (10), BENCH_WARMUP seconds (3), BENCH_IDLE_CONNECTIONS (10000),
# BENCH_CLIENT_THREADS (2), BENCH_ROUNDS (3: the closed loops of echo, logging
# on and logging off take turns this many times), BENCH_BUILD_DIR (build-perf).
#
# The servers' per-connection rate limit (--rate 5/s, --burst 10) and
# connection caps (10,000 in all, 100 per address) exist to stop abuse; a
# load test from one address must lift them, so every backtalk run here gets
# --rate/--burst 1000000 and caps of 20000. Servers listen on 127.0.0.1 port 0
# and are stopped on exit, whatever happens.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BENCH_BUILD_DIR:-$root/build-perf}
connections=${BENCH_CONNECTIONS:-100}
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-3}
idle_connections=${BENCH_IDLE_CONNECTIONS:-10000}
client_threads=${BENCH_CLIENT_THREADS:-2}
rounds=${BENCH_ROUNDS:-3}

say() { printf '\n== %s\n' "$*"; }

say "build (Release) in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBACKTALK_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target backtalk bench_load bench_engine
(cd "$root/tests/bench/ws_echo" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

backtalk=$build/adapters/backtalk
bench_load=$build/tests/bench/load/bench_load
bench_engine=$build/tests/bench/engine/bench_engine

# Each idle connection is a descriptor in the client and one in the server.
hard_limit=$(ulimit -Hn)
if [[ $hard_limit != unlimited && $hard_limit -lt $((idle_connections + 200)) ]]; then
    echo "run_load_bench: ulimit -Hn is $hard_limit; $idle_connections idle connections need $((idle_connections + 200))" >&2
    exit 1
fi
ulimit -n "$hard_limit"

work=$(mktemp -d)
server_pids=()
cleanup() {
    for pid in "${server_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_pid=
server_address=
# start_server NAME COMMAND...: runs it, waits for "listening on http://HOST:PORT".
start_server() {
    local name=$1
    shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    server_pid=$!
    server_pids+=("$server_pid")
    for _ in $(seq 1 1000); do
        local line
        line=$(grep -o 'listening on http://[^ /]*' "$work/$name.out" || true)
        if [[ -n $line ]]; then
            server_address=${line#listening on http://}
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "run_load_bench: $name did not start:" >&2
            cat "$work/$name.err" >&2
            exit 1
        fi
        sleep 0.01
    done
    echo "run_load_bench: $name printed no listening line in 10 s" >&2
    exit 1
}
stop_server() {
    kill -TERM "$server_pid"
    wait "$server_pid" || true
}

# store_counter NAME: a backtalk_store_* counter from the running server's
# /metrics. Log records the writer could not keep up with are dropped, not
# queued without end, so a logging-on figure means nothing without this.
store_counter() {
    curl -sf "http://$server_address/metrics" | awk -v name="backtalk_store_$1" '$1 == name { print $2 }'
}

backtalk_serve() {
    local db=$1
    shift
    echo "$backtalk" serve --listen 127.0.0.1:0 --db "$db" --rules "$root/rules" --web-dir "$root/adapters/web" \
        --rate 1000000 --burst 1000000 --max-connections 20000 --max-connections-per-address 20000 "$@"
}

# median_result RESULT...: the RESULT line with the median turns/s.
median_result() {
    printf '%s\n' "$@" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^turns_per_s=/) print substr($i, 13) "\t" $0 }' |
        sort -n | awk -F '\t' -v n=$# 'NR == int((n + 1) / 2) { print $2 }'
}
# field LINE KEY: the value of KEY=... in a RESULT line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# check VALUE OP LIMIT: "met" or "MISSED".
check() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
    ok = (op == "<") ? v < l : (op == ">=") ? v >= l : 0; print ok ? "met" : "MISSED" }'; }

# load ID TITLE ARGS...: one bench_load run against $server_address; prints
# its report and leaves its RESULT line in $result.
result=
load() {
    local id=$1 title=$2
    shift 2
    say "$title"
    "$bench_load" --url "ws://$server_address/ws" --threads "$client_threads" "$@" | tee "$work/$id.txt"
    result=$(grep '^RESULT ' "$work/$id.txt")
}

say "machine"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
compiler=$(c++ --version | head -1)
echo "cores $(nproc), $cpu, Linux $(uname -r), $compiler, Release"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average before: $load_before"

say "engine benchmark"
"$bench_engine" | tee "$work/engine.txt"
engine_median=$(awk '/median per turn/ { print $4 }' "$work/engine.txt")
engine_p99=$(awk '/p99 per turn/ { print $4 }' "$work/engine.txt")
rules_ms=$(awk '/rules load\+check/ { print $3 }' "$work/engine.txt")

say "start to first accepted connection"
# shellcheck disable=SC2046 # the command line is split on purpose
if ! "$bench_load" --mode startup -- $(backtalk_serve "$work/startup.db") >"$work/startup.txt" 2>"$work/startup.err"; then
    cat "$work/startup.err" >&2
    exit 1
fi
cat "$work/startup.txt"
startup=$(grep '^RESULT ' "$work/startup.txt")

closed=(--mode closed --connections "$connections" --duration "$duration" --warmup "$warmup")

# The three closed loops take turns, round after round, so that whatever else
# the machine does during the run falls on all of them alike; each figure is
# the round with the median throughput, and the ratios are of medians.
echo_results=()
on_results=()
off_results=()
on_dropped=0
on_rows=0
for round in $(seq 1 "$rounds"); do
    start_server ws-echo node "$root/tests/bench/ws_echo/server.js" --listen 127.0.0.1:0
    load "echo-$round" "round $round of $rounds: ws echo (Node ws), closed loop" "${closed[@]}" --echo
    echo_results+=("$result")
    stop_server

    # shellcheck disable=SC2046
    start_server backtalk-on $(backtalk_serve "$work/on-$round.db")
    load "on-$round" "round $round of $rounds: backtalk, logging on, closed loop" "${closed[@]}"
    on_results+=("$result")
    dropped=$(store_counter dropped_total)
    rows=$(store_counter rows_written_total)
    echo "log records written $rows, dropped $dropped"
    on_dropped=$((on_dropped + dropped))
    on_rows=$((on_rows + rows))
    stop_server

    # shellcheck disable=SC2046
    start_server backtalk-off $(backtalk_serve "$work/off-$round.db" --no-log)
    load "off-$round" "round $round of $rounds: backtalk, logging off, closed loop" "${closed[@]}"
    off_results+=("$result")
    stop_server
done
echo_result=$(median_result "${echo_results[@]}")
on_result=$(median_result "${on_results[@]}")
off_result=$(median_result "${off_results[@]}")

# shellcheck disable=SC2046
start_server backtalk-open $(backtalk_serve "$work/open.db")
open_rate=$(awk -v r="$(field "$on_result" turns_per_s)" 'BEGIN { printf "%d", r / 2 }')
load open "backtalk, logging on, open loop at $open_rate turns/s" --mode open --rate "$open_rate" \
    --connections "$connections" --duration "$duration" --warmup "$warmup"
open_result=$result
open_dropped=$(store_counter dropped_total)
echo "log records dropped during the open loop: $open_dropped"
stop_server

# shellcheck disable=SC2046
start_server backtalk-idle $(backtalk_serve "$work/idle.db")
load idle "backtalk, logging on, $idle_connections idle connections" --mode idle --connections "$idle_connections" \
    --server-pid "$server_pid" --turn-timeout 60
idle_result=$result
stop_server

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

on_tps=$(field "$on_result" turns_per_s)
off_tps=$(field "$off_result" turns_per_s)
echo_tps=$(field "$echo_result" turns_per_s)
on_echo=$(ratio "$on_tps" "$echo_tps")
on_off=$(ratio "$on_tps" "$off_tps")
on_p99_ms=$(awk -v u="$(field "$on_result" p99_us)" 'BEGIN { printf "%.2f", u / 1000 }')
kib=$(field "$idle_result" kib_per_connection)
first_accept=$(field "$startup" first_accept_ms)
latencies() { echo "$(field "$1" p50_us) / $(field "$1" p99_us) / $(field "$1" p999_us) us"; }
# rounds RESULTS...: every round's turns/s, in run order.
rounds_tps() {
    local r out=()
    for r in "$@"; do out+=("$(field "$r" turns_per_s)"); done
    local IFS=,
    echo "${out[*]}"
}

# round_ratios A_RESULTS B_RESULTS: each round's A/B, in run order, then
# their median. The two runs of a round are seconds apart, so on this shared
# machine a round's ratio is steadier than the ratio of two medians.
round_ratios() {
    local -n a_results=$1 b_results=$2
    local i list=()
    for i in "${!a_results[@]}"; do
        list+=("$(ratio "$(field "${a_results[$i]}" turns_per_s)" "$(field "${b_results[$i]}" turns_per_s)")")
    done
    local median
    median=$(printf '%s\n' "${list[@]}" | sort -n | awk -v n="${#list[@]}" 'NR == int((n + 1) / 2)')
    local IFS=,
    echo "rounds: ${list[*]}; median $median"
}

say "figures (one run of $rounds rounds; load average $load_before before, $load_after after)"
cat <<EOF
| what | figure | target | |
| --- | --- | --- | --- |
| backtalk, logging on, $connections connections, closed loop (median round) | $on_tps turns/s (rounds: $(rounds_tps "${on_results[@]}")), p50 / p99 / p99.9 $(latencies "$on_result") | p99 < 2 ms | $(check "$on_p99_ms" "<" 2) |
| backtalk, logging off, same | $off_tps turns/s (rounds: $(rounds_tps "${off_results[@]}")), $(latencies "$off_result") | | |
| Node \`ws\` echo, same client | $echo_tps turns/s (rounds: $(rounds_tps "${echo_results[@]}")), $(latencies "$echo_result") | | |
| log records dropped by the writer during the logging-on rounds | $on_dropped of $((on_rows + on_dropped)) | 0 | $(check "$on_dropped" "<" 1) |
| ratio logging on / ws echo | $on_echo ($(round_ratios on_results echo_results)) | >= 1.0 | $(check "$on_echo" ">=" 1.0) |
| ratio logging on / logging off | $on_off ($(round_ratios on_results off_results)) | >= 0.90 | $(check "$on_off" ">=" 0.90) |
| backtalk, logging on, open loop at $open_rate turns/s | $(field "$open_result" turns_per_s) turns/s, $(latencies "$open_result") from the scheduled time; $open_dropped log records dropped | | |
| server memory per idle connection ($(field "$idle_result" held) held) | $kib KiB | <= 16 KiB | $(check "$kib" "<" 16.001) |
| server start to first accepted connection | $first_accept ms | < 200 ms | $(check "$first_accept" "<" 200) |
| engine, median / p99 per turn | $engine_median / $engine_p99 us | median < 20 us | $(check "$engine_median" "<" 20) |
| rules load and check | $rules_ms ms | < 50 ms | $(check "$rules_ms" "<" 50) |
EOF
errors=0
for r in "${echo_results[@]}" "${on_results[@]}" "${off_results[@]}" "$open_result" "$idle_result"; do
    errors=$((errors + $(field "$r" errors)))
done
if ((errors > 0 || on_dropped > 0 || open_dropped > 0)); then
    echo "run_load_bench: the runs counted $errors errors and $((on_dropped + open_dropped)) dropped log records; see the reports above" >&2
    exit 1
fi
