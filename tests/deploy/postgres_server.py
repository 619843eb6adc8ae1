"""A throwaway PostgreSQL 15 for one test, as tests/store/postgres_server.hpp
starts for the C++ tests: initdb and pg_ctl as the postgres user in a
temporary folder, listening only on a unix socket there, stopped
(immediate) and removed at the end. A machine without the server fails the
test, naming the package."""

import os
import pwd
import shlex
import subprocess

import deploy_support as support

BIN_DIR = "/usr/lib/postgresql/15/bin"


class PostgresServer:
    def __init__(self):
        if not os.path.exists(os.path.join(BIN_DIR, "initdb")):
            raise AssertionError("no PostgreSQL server in %s: install postgresql-15 "
                                 "(deploy/install-deps.sh test)" % BIN_DIR)
        self.temp = support.TempDir(prefix="backtalk-pg-")
        self.data = self.temp.join("data")
        self.running = False
        # initdb refuses root: the server runs as postgres, which must own
        # the folder its socket lives in.
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.temp.path, postgres.pw_uid, postgres.pw_gid)
        # The port only names the socket file; a free TCP port number keeps
        # runs apart.
        self.port = support.free_port()
        try:
            self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")
            self.start()
        except BaseException:
            self.temp.cleanup()
            raise

    def _run(self, program, *args):
        command = shlex.join([os.path.join(BIN_DIR, program)] + list(args))
        if os.geteuid() == 0:
            command = shlex.join(["su", "postgres", "-s", "/bin/sh", "-c", command])
        result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError("PostgreSQL test server: %s failed:\n%s%s" % (program, result.stdout, result.stderr))

    def start(self):
        options = "-c listen_addresses='' -c fsync=off -k %s -p %d" % (self.temp.path, self.port)
        self._run("pg_ctl", "-D", self.data, "-w", "-l", self.temp.join("server.log"), "-o", options, "start")
        self.running = True

    def stop(self, mode="immediate"):
        if self.running:
            self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")
            self.running = False

    def session(self, database="postgres"):
        """psql as the postgres user on `database`, running each statement
        written to its stdin as it arrives: a connection that stays while it
        changes what other connections may do. Close its stdin to end it."""
        command = [os.path.join(BIN_DIR, "psql"), "-X", "-q", "-h", self.temp.path, "-p", str(self.port),
                   "-U", "postgres", database]
        if os.geteuid() == 0:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)

    def sql(self, statement, database="postgres"):
        """Runs one SQL statement through psql on the server's socket."""
        self._run("psql", "-h", self.temp.path, "-p", str(self.port), "-d", database, "-v", "ON_ERROR_STOP=1",
                  "-c", statement)

    def url(self, database="postgres"):
        return "postgresql://postgres@/%s?host=%s&port=%d" % (database, self.temp.path, self.port)

    def cleanup(self):
        try:
            self.stop()
        finally:
            self.temp.cleanup()
