#!/usr/bin/env python3
"""Scale-out figures of docs/performance.md (issue 18) in one run, on this
machine: the closed loop of run_load_bench.sh (bench_load, 100 connections
playing whole conversations) against

  - one `backtalk serve` on SQLite (the embedded default, for reference),
  - one `backtalk serve` on a throwaway PostgreSQL 15,
  - two `backtalk serve` on that PostgreSQL behind nginx (round robin: the
    load client names no session),

taking turns round after round so that whatever else the machine does falls
on all of them alike. Prints each round and then, per setup, the round with
the median throughput: turns/s, p50 / p99 latency, log records committed per
second (backtalk_store_rows_written_total of every instance, over the
measured window) and records dropped, which must be 0.

    tests/bench/run_pg_bench.py [--build DIR] [--rounds N] [--duration S] [--warmup S]

DIR (default $BENCH_BUILD_DIR or build-perf) holds a Release build of
`backtalk` and `bench_load`. PostgreSQL runs as tests/deploy/postgres_server.py
starts it (unix socket, fsync off) and each setup of each round gets a fresh
database of it. nginx runs a bench site of its own, not deploy/nginx: plain
HTTP (bench_load speaks ws:// only) and no per-client limits (every
connection comes from one address), like the lifted limits of backtalk below.
Everything started is stopped at the end, whatever happens; the exit status
is non-zero when a run counted errors or dropped a record."""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "deploy"))

import deploy_support as support  # noqa: E402
from postgres_server import BIN_DIR, PostgresServer  # noqa: E402

CONNECTIONS = 100
# As run_load_bench.sh: a load test from one address must lift the limits
# that protect a public server.
LIFTED_LIMITS = ["--rate", "1000000", "--burst", "1000000", "--max-connections", "20000",
                 "--max-connections-per-address", "20000"]

NGINX_CONF = """daemon off;
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    map $http_upgrade $backtalk_connection {{
        default upgrade;
        ''      '';
    }}
    upstream backtalk {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backtalk;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $backtalk_connection;
            proxy_buffering off;
            proxy_read_timeout 75s;
        }}
    }}
}}
"""


class Nginx:
    """nginx on loopback `port` in front of `ports`; stop() ends it."""

    def __init__(self, prefix, port, ports):
        self.prefix = prefix
        self.port = port
        servers = "".join("        server 127.0.0.1:%d;\n" % port for port in ports)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as out:
            out.write(NGINX_CONF.format(prefix=prefix, servers=servers, port=self.port))
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([binary, "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log")],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        support.wait_for_port(self.port)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def store_counter(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as answer:
        for line in answer.read().decode().splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[0] == "backtalk_store_" + name:
                return int(float(fields[1]))
    raise RuntimeError("no backtalk_store_%s on port %d" % (name, port))


def create_database(postgres, name):
    subprocess.run([os.path.join(BIN_DIR, "psql"), "-q", "-v", "ON_ERROR_STOP=1", postgres.url(), "-c",
                    "CREATE DATABASE " + name], check=True, capture_output=True, timeout=60)
    return postgres.url(name)


def run_load(bench_load, port, duration, warmup, instance_ports):
    """A closed loop against 127.0.0.1:port; returns the RESULT fields and
    the log records the instances committed per second over the measured
    window (read from their /metrics after the warmup and at the end)."""
    command = [bench_load, "--url", "ws://127.0.0.1:%d/ws" % port, "--threads", "2", "--mode", "closed",
               "--connections", str(CONNECTIONS), "--duration", str(duration), "--warmup", str(warmup)]
    load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(warmup)
    rows_before = sum(store_counter(p, "rows_written_total") for p in instance_ports)
    window_start = time.monotonic()
    out, err = load.communicate(timeout=duration + warmup + 120)
    window = time.monotonic() - window_start
    rows_after = sum(store_counter(p, "rows_written_total") for p in instance_ports)
    if load.returncode != 0:
        raise RuntimeError("bench_load failed:\n" + out + err)
    result_line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = dict(field.split("=", 1) for field in result_line.split()[1:])
    result["log_records_per_s"] = (rows_after - rows_before) / window
    return result


def instance(backtalk, database, temp, extra_args):
    # One user-hash key for the instances of one database, as deploy/ has them share.
    env = dict(os.environ, BACKTALK_HASH_KEY="0" * 64)
    return support.Server(["serve", "--listen", "127.0.0.1:0", "--db", database, "--rules", os.path.join(ROOT, "rules"),
                           "--web-dir", os.path.join(ROOT, "adapters", "web")] + LIFTED_LIMITS + extra_args,
                          env=env, cwd=temp, program=[backtalk])


def run_setup(databases, backtalk, bench_load, args, temp):
    """Starts one instance per database (behind nginx when there are
    several), drives the closed loop, stops everything; returns the result
    with the records dropped by every instance."""
    servers, proxy = [], None
    proxy_port = support.free_port() if len(databases) > 1 else None
    # The load client's Origin is the address it connects to.
    extra_args = ["--allowed-origin", "http://127.0.0.1:%d" % proxy_port] if proxy_port else []
    try:
        for database in databases:
            servers.append(instance(backtalk, database, temp, extra_args))
        ports = [server.port for server in servers]
        if proxy_port:
            proxy = Nginx(tempfile.mkdtemp(prefix="nginx-", dir=temp), proxy_port, ports)
        result = run_load(bench_load, proxy.port if proxy else ports[0], args.duration, args.warmup, ports)
        result["dropped"] = sum(store_counter(port, "dropped_total") for port in ports)
        return result
    finally:
        if proxy:
            proxy.stop()
        for server in servers:
            code = server.stop()
            if code != 0:
                raise RuntimeError("an instance exited %r:\n%s" % (code, server.log()))


def load_average():
    return " ".join("%.2f" % x for x in os.getloadavg())


def describe(result):
    return "%s turns/s, p50 / p99 %s / %s us, %d log records/s, %s dropped, %s errors" % (
        result["turns_per_s"], result["p50_us"], result["p99_us"], result["log_records_per_s"], result["dropped"],
        result["errors"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.environ.get("BENCH_BUILD_DIR", os.path.join(ROOT, "build-perf")))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    backtalk = os.path.join(build, "adapters", "backtalk")
    bench_load = os.path.join(build, "tests", "bench", "load", "bench_load")
    for binary in (backtalk, bench_load):
        if not os.access(binary, os.X_OK):
            sys.exit("run_pg_bench: no %s; build the targets backtalk and bench_load (Release) in %s"
                     % (binary, args.build))

    print("cores %d, load average before: %s" % (os.cpu_count(), load_average()))
    temp = support.TempDir(prefix="backtalk-pg-bench-")
    postgres = None
    results = {"sqlite": [], "postgresql": [], "postgresql x2 + nginx": []}
    try:
        postgres = PostgresServer()
        for round_number in range(1, args.rounds + 1):
            setups = {
                "sqlite": [os.path.join(temp.path, "round%d.db" % round_number)],
                "postgresql": [create_database(postgres, "one_%d" % round_number)],
            }
            shared = create_database(postgres, "two_%d" % round_number)
            setups["postgresql x2 + nginx"] = [shared, shared]
            for name, databases in setups.items():
                result = run_setup(databases, backtalk, bench_load, args, temp.path)
                results[name].append(result)
                print("round %d of %d, %s: %s" % (round_number, args.rounds, name, describe(result)), flush=True)
    finally:
        if postgres:
            postgres.cleanup()
        temp.cleanup()

    print("\nmedian rounds (load average after: %s)" % load_average())
    failures = 0
    for name, rounds in results.items():
        median = statistics.median_low(float(r["turns_per_s"]) for r in rounds)
        chosen = next(r for r in rounds if float(r["turns_per_s"]) == median)
        print("%-22s %s (rounds: %s)" % (name, describe(chosen), ", ".join(r["turns_per_s"] for r in rounds)))
        failures += sum(int(r["errors"]) + r["dropped"] for r in rounds)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
