#!/usr/bin/env bash
# CPU time per turn of each thread of `backtalk serve` at a fixed rate: the
# writer and network-thread costs quoted in docs/performance.md. A fixed
# open-loop rate keeps the work per second equal between two builds, so the
# CPU each thread spends per turn compares them without the noise of
# saturation.
#
#   tests/bench/thread_cpu.sh BACKTALK RATE [serve options...]
#   tests/bench/thread_cpu.sh build-perf/adapters/backtalk 15000
#   tests/bench/thread_cpu.sh build-perf/adapters/backtalk 15000 --no-log
#   tests/bench/thread_cpu.sh build-perf/adapters/backtalk closed
#
# Runs BACKTALK serve on 127.0.0.1 port 0 with a temporary database, then
# bench_load (BENCH_BUILD_DIR, default build-perf) with 100 connections at
# RATE turns/s for 10 s, reads each thread's user+system time from /proc over
# 5 s in the middle, and prints microseconds of CPU per turn by thread name
# (backtalk: the main network thread; backtalk-net, backtalk-log: the log
# writer, ...) and the file bytes the server wrote and read per turn.
# RATE "closed" runs the closed loop of run_load_bench.sh instead: the
# saturated case, where the turns in the window come from the server's
# backtalk_turns_total and the load client's CPU is shown too, since it
# shares the cores.
set -euo pipefail

if (($# < 2)); then
    echo "usage: $0 BACKTALK RATE [serve options...]" >&2
    exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
backtalk=$1
rate=$2
shift 2
bench_load=${BENCH_BUILD_DIR:-$root/build-perf}/tests/bench/load/bench_load
window=5

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$backtalk" serve --listen 127.0.0.1:0 --db "$work/bench.db" --rules "$root/rules" --web-dir "$root/adapters/web" \
    --rate 1000000 --burst 1000000 --max-connections 20000 --max-connections-per-address 20000 "$@" \
    >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
address=
for _ in $(seq 1 1000); do
    address=$(sed -n 's|.*listening on http://\([^ /]*\).*|\1|p' "$work/server.out")
    [[ -n $address ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.01
done
[[ -n $address ]] || { echo "$0: the server printed no listening line" >&2; exit 1; }

if [[ $rate == closed ]]; then
    load_mode=(--mode closed)
else
    load_mode=(--mode open --rate "$rate")
fi
"$bench_load" --url "ws://$address/ws" --threads 2 "${load_mode[@]}" --connections 100 \
    --duration 10 --warmup 1 >"$work/load.txt" &
load_pid=$!

# thread id, name and user+system ticks of every thread of the server (and,
# in the closed loop, of the load client).
snapshot() {
    for task in /proc/"$server_pid"/task/*; do
        printf '%s %s %s\n' "${task##*/}" "$(tr ' ' '_' <"$task/comm")" \
            "$(awk '{ print $14 + $15 }' "$task/stat")"
    done
    if [[ $rate == closed ]]; then
        for task in /proc/"$load_pid"/task/*; do
            printf '%s load-client %s\n' "${task##*/}" "$(awk '{ print $14 + $15 }' "$task/stat")"
        done
    fi
}
turns_total() {
    curl -sf "http://$address/metrics" | awk '$1 ~ /^backtalk_turns_total/ { n += $2 } END { print n + 0 }'
}
io_bytes() { awk '$1 == "rchar:" || $1 == "wchar:" { printf "%s ", $2 }' /proc/"$server_pid"/io; }

sleep 3
turns_before=$(turns_total)
snapshot | sort >"$work/before"
io_before=$(io_bytes)
sleep "$window"
snapshot | sort >"$work/after"
io_after=$(io_bytes)
turns_after=$(turns_total)
wait "$load_pid"
if [[ $rate == closed ]]; then
    turns=$((turns_after - turns_before))
else
    turns=$((rate * window))
fi

ticks_per_second=$(getconf CLK_TCK)
join "$work/before" "$work/after" | awk -v turns="$turns" -v hz="$ticks_per_second" '
    { us[$2] += ($5 - $3) * 1e6 / hz / turns }
    END { for (name in us) { if (name != "load-client") total += us[name]
                             if (us[name] > 0) printf "%-16s %6.1f us CPU per turn\n", name, us[name] }
          printf "%-16s %6.1f us CPU per turn (server)\n", "all threads", total }'
read -r rchar_before wchar_before <<<"$io_before"
read -r rchar_after wchar_after <<<"$io_after"
awk -v r="$((rchar_after - rchar_before))" -v w="$((wchar_after - wchar_before))" -v n="$turns" \
    'BEGIN { printf "file bytes per turn: %.0f written, %.0f read\n", w / n, r / n }'
grep '^RESULT' "$work/load.txt" | grep -o 'turns_per_s=[0-9]* p50_us=[0-9]* p99_us=[0-9]*'
