"""A rules reload reaches every instance on one PostgreSQL (issue 18, items
5 and 7): two `backtalk serve` instances behind nginx, each with a rules
directory of its own. A reload on one instance (the admin API, SIGHUP, or
`backtalk rules reload --db URL`) is published; the other reloads its own
files and shows the new version in /healthz and /metrics; one that missed
the notice (its connection cut while connections were refused) catches up
when it connects again; a broken rules set is refused everywhere, each
instance keeping and reporting its old version.

Run by hand: BACKTALK_BINARY=build/.../backtalk python3 tests/deploy/test_rules_reload_postgresql.py"""

import json
import os
import re
import shutil
import signal
import time
import unittest

import deploy_support as support
from scale_out_site import OnePostgresTestCase


class RulesReloadAcrossInstancesTest(OnePostgresTestCase):

    def own_args(self, number):
        return ["--rules", self.rules_dir(number)]

    def rules_dir(self, number):
        """Instance `number`'s own copy of rules/, made on first use."""
        path = self.temp.join("rules-%d" % number)
        if not os.path.exists(path):
            shutil.copytree(support.source_path("rules"), path)
        return path

    def set_version(self, number, version):
        """Edits instance `number`'s rules to a valid set of version `version`."""
        shutil.copy(support.source_path("rules", "en", "flow.json"), os.path.join(self.rules_dir(number), "en"))
        meta_file = os.path.join(self.rules_dir(number), "en", "meta.json")
        with open(meta_file) as meta:
            text = meta.read()  # JSON with comments
        text, count = re.subn(r'"version": "[^"]*"', '"version": "%s"' % version, text, count=1)
        self.assertEqual(count, 1, "no version in " + meta_file)
        with open(meta_file, "w") as meta:
            meta.write(text)

    def break_rules(self, number):
        with open(os.path.join(self.rules_dir(number), "en", "flow.json"), "w") as flow:
            flow.write('{ "this is": not json')

    def rules(self, port):
        status, body = self.health(port)
        self.assertEqual(status, 200, body)
        return body["rules"]

    def metrics(self, port):
        status, _, body = support.http_get(port, "/metrics", "127.0.0.1")
        self.assertEqual(status, 200)
        return body.decode()

    def wait_until(self, condition, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, "still not so after %d s: %s" % (timeout, what))
            time.sleep(0.05)

    def log_events(self, instance, event):
        lines = [json.loads(line) for line in instance.log().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("event") == event]

    def reload_through_api(self, instance):
        return self.admin_request(instance.port, "POST", "/api/v1/rules/reload")

    def both_listening(self):
        self.wait_until(lambda: all(self.rules(port)["listening"] for port in self.site.ports()),
                        "both instances listening for rules publications")

    def test_a_reload_on_one_instance_reaches_the_other(self):
        first, second = self.site.instances
        self.both_listening()
        start = self.rules(first.port)["version"]
        for port in self.site.ports():
            self.assertEqual(self.rules(port), {"version": start, "published": None, "in_step": True,
                                                "listening": True})
        for number in (0, 1):
            self.set_version(number, "en-test.2")

        status, body = self.reload_through_api(first)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["ok"], body)
        self.assertTrue(body["published"], body)
        new = body["version"]
        self.assertTrue(new.startswith("en-test.2+"), new)
        self.assertNotEqual(new, start)

        self.wait_until(lambda: self.rules(second.port)["version"] == new, "the other instance at " + new)
        for port in self.site.ports():
            self.assertEqual(self.rules(port), {"version": new, "published": new, "in_step": True, "listening": True})
            metrics = self.metrics(port)
            self.assertIn('backtalk_rules_info{version="%s",published="%s"} 1' % (new, new), metrics)
            self.assertIn("backtalk_rules_in_step 1", metrics)
            self.assertIn("backtalk_rules_reloads_total 1", metrics)
        followed = self.log_events(second, "rules reloaded")
        self.assertEqual([(line["version"], line["cause"]) for line in followed], [(new, "published")])
        self.assertEqual(self.log_events(first, "rules reloaded"), [], "the instance that published reloaded again")

        # SIGHUP on the other instance publishes the same way.
        for number in (0, 1):
            self.set_version(number, "en-test.3")
        second.process.send_signal(signal.SIGHUP)
        self.wait_until(lambda: self.rules(first.port)["version"].startswith("en-test.3+"), "SIGHUP published")
        self.assertEqual(self.rules(first.port)["version"], self.rules(second.port)["version"])
        self.assertTrue(self.rules(first.port)["in_step"])

    def test_a_broken_rules_reload_is_refused_everywhere(self):
        first, second = self.site.instances
        old = self.rules(first.port)["version"]
        self.both_listening()
        for number in (0, 1):
            self.break_rules(number)

        # Refused where it was asked for, and nothing is published.
        status, body = self.reload_through_api(first)
        self.assertEqual(status, 422, body)
        self.assertFalse(body["ok"])
        self.assertFalse(body["published"])
        self.assertEqual(body["version"], old)
        self.assertTrue(any("flow.json" in error for error in body["errors"]), body)
        second.process.send_signal(signal.SIGHUP)
        self.wait_until(lambda: self.log_events(second, "rules reload refused, keeping the old rules"),
                        "SIGHUP refused on the other instance")
        published = support.run_backtalk(["rules", "reload", "--db", self.postgres.url(),
                                          "--rules", self.rules_dir(0)])
        self.assertEqual(published.returncode, 1, published.stdout + published.stderr)
        self.assertIn("flow.json", published.stdout)
        self.assertIn("nothing was published", published.stdout)
        time.sleep(0.5)
        for port in self.site.ports():
            self.assertEqual(self.rules(port), {"version": old, "published": None, "in_step": True,
                                                "listening": True})
            self.assertIn("backtalk_rules_reload_refusals_total 1", self.metrics(port))

        # Good files on the first, still broken on the second: the first
        # publishes, the second refuses, keeps its rules and shows that it
        # is behind.
        self.set_version(0, "en-test.2")
        status, body = self.reload_through_api(first)
        self.assertEqual(status, 200, body)
        new = body["version"]
        self.wait_until(lambda: self.rules(second.port)["published"] == new, "the publication heard")
        self.wait_until(lambda: any(line["cause"] == "published" for line in
                                    self.log_events(second, "rules reload refused, keeping the old rules")),
                        "the refusal logged")
        self.assertEqual(self.rules(second.port), {"version": old, "published": new, "in_step": False,
                                                   "listening": True})
        self.assertIn("backtalk_rules_in_step 0", self.metrics(second.port))
        self.assertIn('backtalk_rules_info{version="%s",published="%s"} 1' % (old, new), self.metrics(second.port))
        differs = self.log_events(second, "rules differ from the version published to every instance")
        self.assertEqual([(line["version"], line["published"]) for line in differs], [(old, new)])
        self.assertEqual(self.rules(first.port)["version"], new)
        # The old rules still answer there.
        status, _, answer = support.http_request(second.port, "POST", "/api/v1/chat", "127.0.0.1",
                                                 body=json.dumps({"text": support.COMPLAINT}).encode())
        self.assertEqual(status, 200, answer)

    def test_an_instance_that_missed_the_notice_catches_up_and_the_cli_publishes(self):
        first, second = self.site.instances
        self.both_listening()
        for number in (0, 1):
            self.set_version(number, "en-test.2")

        # Both instances lose their rules connection, and no new connection
        # is let in; the first still publishes through the connection its
        # log writer holds.
        psql = self.postgres.session("template1")  # a database cannot shut itself
        try:
            psql.stdin.write("ALTER DATABASE postgres ALLOW_CONNECTIONS false;\n"
                             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = 'postgres' AND query LIKE '%FROM rules_publications ORDER BY%';\n")
            psql.stdin.flush()
            self.wait_until(lambda: not any(self.rules(port)["listening"] for port in self.site.ports()),
                            "both instances no longer listening")
            status, body = self.reload_through_api(first)
            self.assertEqual(status, 200, body)
            self.assertTrue(body["published"], body)
            new = body["version"]
            time.sleep(1)
            missed = self.rules(second.port)
            self.assertNotEqual(missed["version"], new)
            self.assertFalse(missed["listening"])
            self.assertIn("backtalk_rules_listening 0", self.metrics(second.port))
            psql.stdin.write("ALTER DATABASE postgres ALLOW_CONNECTIONS true;\n")
            psql.stdin.flush()
        finally:
            psql.stdin.close()
            psql.wait(30)
        self.wait_until(lambda: self.rules(second.port)["version"] == new, "the other instance caught up")
        self.assertEqual(self.rules(second.port), {"version": new, "published": new, "in_step": True,
                                                   "listening": True})
        self.assertTrue(any("not listening for rules publications" in line.get("event", "")
                            for line in [json.loads(l) for l in second.log().splitlines() if l.startswith("{")]))

        # From the command line: the version of the rules it is given.
        for number in (0, 1):
            self.set_version(number, "en-test.3")
        published = support.run_backtalk(["rules", "reload", "--db", self.postgres.url(),
                                          "--rules", self.rules_dir(0)])
        self.assertEqual(published.returncode, 0, published.stdout + published.stderr)
        match = re.search(r"published rules (\S+) \(publication \d+\)", published.stdout)
        self.assertIsNotNone(match, published.stdout)
        cli_version = match.group(1)
        self.assertTrue(cli_version.startswith("en-test.3+"), cli_version)
        for port in self.site.ports():
            self.wait_until(lambda: self.rules(port)["version"] == cli_version, "both at the CLI's version")
            self.assertTrue(self.rules(port)["in_step"])


class RulesReloadCommandTest(unittest.TestCase):
    """`backtalk rules reload` without a PostgreSQL database: refused, saying
    what to do instead, and nothing created."""

    def test_a_sqlite_file_is_refused(self):
        support.require_binary(self)
        temp = support.TempDir()
        self.addCleanup(temp.cleanup)
        database = temp.join("one.db")
        result = support.run_backtalk(["rules", "reload", "--db", database], cwd=temp.path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("is a SQLite file, which one server uses", result.stderr)
        self.assertIn("SIGHUP", result.stderr)
        self.assertIn("POST /api/v1/rules/reload", result.stderr)
        self.assertFalse(os.path.exists(database))


if __name__ == "__main__":
    unittest.main()
