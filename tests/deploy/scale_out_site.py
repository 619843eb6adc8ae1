"""Two `backtalk serve` instances behind deploy/nginx/backtalk.conf on ports
picked on 127.0.0.1, for the scale-out tests (test_scale_out.py on SQLite,
test_scale_out_postgresql.py on one PostgreSQL); every server is stopped at
the end of each test."""

import json
import os
import signal
import time
import unittest
import uuid

import deploy_support as support
from nginx_site import Nginx, ORIGIN
from postgres_server import PostgresServer

ADMIN_TOKEN = "scale-out-admin-token-" + uuid.uuid4().hex


class TwoInstancesBehindNginx:
    """Instances on ports they pick themselves (port 0, read from their
    "listening" line), then nginx on two free ports in front of them.
    `database(number)` is each instance's --db, `own_args(number)` its
    further flags."""

    def __init__(self, temp, database, extra_args=(), count=2, own_args=lambda number: []):
        self.instances = []
        self.nginx = None
        try:
            for number in range(count):
                self.instances.append(support.Server(
                    ["serve", "--listen", "127.0.0.1:0", "--db", database(number),
                     "--allowed-origin", ORIGIN, "--max-connections-per-address", "10000"] + list(extra_args) +
                    list(own_args(number))))
            self.nginx = Nginx(temp.path, self.ports())
        except BaseException:
            self.stop()
            raise

    def ports(self):
        return [instance.port for instance in self.instances]

    def stop(self):
        """Stops nginx, then every instance still running; returns the exit
        codes of the instances by port."""
        if self.nginx is not None:
            self.nginx.stop()
        return {instance.port: instance.stop() for instance in self.instances}


class TwoInstancesTestCase(unittest.TestCase):
    """Two instances behind nginx for each test; a subclass says where each
    instance's database is."""

    def database(self, number):
        raise NotImplementedError

    def instance_args(self):
        """Further flags of both instances."""
        return []

    def own_args(self, number):
        """Further flags of instance `number` alone."""
        return []

    def setUp(self):
        support.require_binary(self)
        self.temp = support.TempDir()
        self.addCleanup(self.temp.cleanup)
        self.site = TwoInstancesBehindNginx(self.temp, self.database, self.instance_args(), own_args=self.own_args)
        self.nginx = self.site.nginx
        self.killed = set()

    def tearDown(self):
        exits = self.site.stop()
        for port, code in exits.items():
            if port not in self.killed:
                self.assertEqual(code, 0, "the instance on port %d exited %r after SIGTERM" % (port, code))

    def answered_by(self, path, count):
        """The ports that answered the `count` requests for `path`, in order.
        nginx logs a request when it ends (a WebSocket when it closes), so
        this waits a little for the last ones."""
        deadline = time.monotonic() + 10
        while True:
            entries = [(status, port) for uri, status, port in self.nginx.routed() if uri == path]
            if len(entries) >= count or time.monotonic() > deadline:
                self.assertEqual(len(entries), count, entries)
                return entries

    def client(self, number):
        """A loopback address of its own for each simulated client, as
        nginx limits requests per client address (10 a second)."""
        return "127.0.0.%d" % (10 + number)

    def kill(self, instance):
        """kill -9: no graceful stop, no last commit."""
        instance.process.send_signal(signal.SIGKILL)
        instance.process.wait(10)
        self.killed.add(instance.port)


class OnePostgresTestCase(TwoInstancesTestCase):
    """Both instances on one throwaway PostgreSQL, with the admin API on
    (ADMIN_TOKEN): a conversation is the database's, not an instance's."""

    def setUp(self):
        self.postgres = PostgresServer()
        self.addCleanup(self.postgres.cleanup)
        super().setUp()

    def database(self, number):
        return self.postgres.url()

    def instance_args(self):
        token_file = self.temp.join("admin-token")
        if not os.path.exists(token_file):
            with open(token_file, "w") as out:
                out.write(ADMIN_TOKEN)
        return ["--admin-token-file", token_file]

    def admin_request(self, port, method, path):
        """An admin API call straight to the instance on `port`: (status, JSON body)."""
        status, _, body = support.http_request(port, method, path, "127.0.0.1",
                                               extra_headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        return status, json.loads(body)

    def health(self, port):
        status, _, body = support.http_get(port, "/healthz", "127.0.0.1")
        return status, json.loads(body)
