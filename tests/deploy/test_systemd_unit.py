"""deploy/backtalk.service: systemd accepts it without a warning, its sandbox
is the one docs/operations.md promises, and its command line starts the
built binary."""

import os
import re
import shlex
import signal
import subprocess
import time
import unittest

import deploy_support as support

UNIT = support.source_path("deploy", "backtalk.service")
CREDENTIALS_DROP_IN = support.source_path("deploy", "backtalk.service.d", "credentials.conf")
INSTALLED_BINARY = "/usr/local/bin/backtalk"


def read_unit():
    """(section, key) -> list of values, continuation lines joined."""
    with open(UNIT) as unit_file:
        text = unit_file.read().replace("\\\n", " ")
    settings = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault((section, key.strip()), []).append(value.strip())
    return settings


class SystemdUnitTest(unittest.TestCase):
    def setUp(self):
        support.require_binary(self)
        self.temp = support.TempDir()
        self.addCleanup(self.temp.cleanup)
        self.settings = read_unit()

    def service(self, key):
        values = self.settings.get(("Service", key))
        self.assertIsNotNone(values, "backtalk.service sets no %s=" % key)
        return values

    def render_with_built_binary(self):
        """The unit as installed, but starting the binary built here, so that
        verify can check the command exists."""
        with open(UNIT) as unit_file:
            text = unit_file.read()
        self.assertIn(INSTALLED_BINARY, text)
        rendered = self.temp.join("backtalk.service")
        with open(rendered, "w") as out:
            out.write(text.replace(INSTALLED_BINARY, support.BINARY))
        return rendered

    def verify(self, rendered):
        """systemd-analyze verify, reading drop-ins beside the unit; returns
        (exit code, output, the lines about backtalk)."""
        env = dict(os.environ, SYSTEMD_UNIT_PATH=self.temp.path + ":")
        result = subprocess.run(["systemd-analyze", "verify", rendered], capture_output=True, text=True,
                                timeout=60, cwd=self.temp.path, env=env)
        output = result.stdout + result.stderr
        return result.returncode, output, [line for line in output.splitlines() if "backtalk" in line]

    def test_systemd_analyze_verify_reports_nothing_about_the_unit(self):
        code, output, about_unit = self.verify(self.render_with_built_binary())
        self.assertEqual(code, 0, output)
        self.assertEqual(about_unit, [], output)

    def test_the_credentials_drop_in_verifies_and_names_known_variables(self):
        rendered = self.render_with_built_binary()
        os.makedirs(self.temp.join("backtalk.service.d"))
        with open(CREDENTIALS_DROP_IN) as drop_in:
            text = drop_in.read()
        with open(self.temp.join("backtalk.service.d", "credentials.conf"), "w") as out:
            out.write(text)
        code, output, about_unit = self.verify(rendered)
        self.assertEqual(code, 0, output)
        self.assertEqual(about_unit, [], output)

        known = set(re.findall(r"\(Env:([A-Z0-9_]+)\)", support.run_backtalk(["serve", "--help"]).stdout))
        credentials = dict(re.findall(r"^LoadCredential=([a-z-]+):(\S+)$", text, re.M))
        variables = re.findall(r"^Environment=([A-Z0-9_]+)=%d/([a-z-]+)$", text, re.M)
        self.assertTrue(variables)
        for variable, credential in variables:
            self.assertIn(variable, known, "backtalk serve has no option read from " + variable)
            self.assertIn(credential, credentials, variable + " names a credential that is not loaded")

    def test_offline_security_exposure_is_low(self):
        rendered = self.render_with_built_binary()
        result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", rendered],
                                capture_output=True, text=True, timeout=60, cwd=self.temp.path)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        match = re.search(r"Overall exposure level for backtalk\.service: ([0-9.]+)", result.stdout)
        self.assertIsNotNone(match, result.stdout)
        # 0 is a fully locked down unit, 10 an unprotected one; what stays
        # open is the network (it is a server) and the host's file tree.
        self.assertLessEqual(float(match.group(1)), 2.0, result.stdout)

    def test_sandbox_settings(self):
        expected = {
            "User": "backtalk", "StateDirectory": "backtalk", "ProtectSystem": "strict", "ProtectHome": "yes",
            "PrivateTmp": "yes", "PrivateDevices": "yes", "NoNewPrivileges": "yes",
            "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "CapabilityBoundingSet": "",
            "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes", "ProtectKernelTunables": "yes",
            "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "RestrictNamespaces": "yes",
            "UMask": "0077", "EnvironmentFile": "-/etc/backtalk/backtalk.env",
            "ExecReload": "/bin/kill -HUP $MAINPID", "Restart": "on-failure",
        }
        for key, value in expected.items():
            self.assertIn(value, self.service(key), key)
        self.assertIn("@system-service", self.service("SystemCallFilter"))

    def test_stop_timeout_covers_the_graceful_stop(self):
        # The server gives WebSockets 3 s to close and the log up to 5 s to
        # commit (server_options.hpp, store.hpp); SIGKILL must come later.
        timeout = self.service("TimeoutStopSec")[0]
        self.assertRegex(timeout, r"^\d+s$")
        self.assertGreater(int(timeout[:-1]), 8)

    def test_database_lives_in_the_state_directory(self):
        args = shlex.split(self.service("ExecStart")[0])
        self.assertEqual(args[0], INSTALLED_BINARY)
        db = args[args.index("--db") + 1]
        state_dir = "/var/lib/" + self.service("StateDirectory")[0]
        self.assertEqual(os.path.dirname(db), state_dir)
        self.assertEqual(args[args.index("--rules") + 1], "/usr/local/share/backtalk/rules")

    def exec_start_here(self):
        """ExecStart's arguments with the installed paths swapped for this
        checkout's and a state directory of the test's own."""
        args = shlex.split(self.service("ExecStart")[0])
        replacements = {
            "--listen": "127.0.0.1:0",
            "--db": self.temp.join("state", "backtalk.db"),
            "--rules": support.source_path("rules"),
            "--web-dir": support.source_path("adapters", "web"),
        }
        for flag, value in replacements.items():
            self.assertIn(flag, args)
            args[args.index(flag) + 1] = value
        return args[1:]

    def test_the_command_line_starts_the_built_server(self):
        """So a renamed or removed flag fails here rather than on a server."""
        server = support.Server(self.exec_start_here())
        try:
            status, _, body = support.http_get(server.port, "/healthz", "127.0.0.1")
            self.assertEqual(status, 200, body)
        finally:
            self.assertEqual(server.stop(), 0, server.log())
        self.assertTrue(os.path.exists(self.temp.join("state", "backtalk.db")))

    def test_the_database_credential_wins_over_the_units_db(self):
        """The credentials drop-in's BACKTALK_DB_FILE beside ExecStart's --db:
        the server opens the location the file names. A SQLite path stands in
        for the postgresql:// URL a real credential holds."""
        with open(CREDENTIALS_DROP_IN) as drop_in:
            self.assertIn("Environment=BACKTALK_DB_FILE=%d/database", drop_in.read().splitlines())
        credential = self.temp.join("credentials", "database")
        os.makedirs(os.path.dirname(credential))
        with open(credential, "w") as out:
            out.write(self.temp.join("from-credential.db") + "\n")
        env = dict(os.environ, BACKTALK_DB_FILE=credential)
        server = support.Server(self.exec_start_here(), env=env)
        try:
            status, _, body = support.http_get(server.port, "/healthz", "127.0.0.1")
            self.assertEqual(status, 200, body)
        finally:
            self.assertEqual(server.stop(), 0, server.log())
        self.assertTrue(os.path.exists(self.temp.join("from-credential.db")))
        self.assertFalse(os.path.exists(self.temp.join("state", "backtalk.db")))

    def test_a_database_credential_of_no_known_kind_is_refused_without_its_password(self):
        credential = self.temp.join("database")
        with open(credential, "w") as out:
            out.write("mysql://backtalk:s3cret-password@db.example.org/backtalk\n")
        result = support.run_backtalk(["serve"] + self.exec_start_here(),
                                      env=dict(os.environ, BACKTALK_DB_FILE=credential))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("the database file " + credential, result.stderr)
        self.assertNotIn("s3cret-password", result.stdout + result.stderr)

    def test_exec_reload_reloads_the_rules_and_keeps_serving(self):
        """What `systemctl reload` does: ExecReload's SIGHUP to the main
        process, which must stay up and say that the rules were reloaded."""
        self.assertEqual(self.service("ExecReload"), ["/bin/kill -HUP $MAINPID"])
        server = support.Server(self.exec_start_here())
        try:
            server.process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 20
            while '"event":"rules reloaded"' not in server.log() and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertIn('"event":"rules reloaded"', server.log())
            self.assertIsNone(server.process.poll(), "SIGHUP ended the server")
            status, _, body = support.http_get(server.port, "/healthz", "127.0.0.1")
            self.assertEqual(status, 200, body)
        finally:
            self.assertEqual(server.stop(), 0, server.log())


if __name__ == "__main__":
    unittest.main()
