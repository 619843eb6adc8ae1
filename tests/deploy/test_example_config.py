"""deploy/backtalk.example.toml and docs/configuration.md never go stale:
every key of the example is an option of its subcommand, every option of
every subcommand is in the example and in the reference with its
environment variable, and backtalk runs from the example file alone (with
its installed paths pointed at this checkout)."""

import json
import os
import re
import subprocess
import unittest

import deploy_support as support

EXAMPLE = support.source_path("deploy", "backtalk.example.toml")
REFERENCE = support.source_path("docs", "configuration.md")
ORIGIN = "https://chat.example.org"

OPTION_LINE = re.compile(r"^  (?:-\w,)?--([a-z0-9-]+)")
ENV_NAME = re.compile(r"\(Env:([A-Z0-9_]+)\)")
# Options that are not settings: they print and exit.
NOT_SETTINGS = {"help", "version", "config"}


def clean_environment():
    """The caller's environment without BACKTALK_* settings, so only the file
    and the flags a test passes decide."""
    return {name: value for name, value in os.environ.items() if not name.startswith("BACKTALK_")}


def read_example():
    """section -> {key: raw value}; commented-out keys ("# key = value") are
    returned separately, as documented but not set."""
    sections, commented = {}, {}
    section = None
    with open(EXAMPLE) as example:
        for line in example:
            line = line.strip()
            header = re.match(r"^\[([a-z.]+)\]$", line)
            if header:
                section = header.group(1)
                sections[section], commented[section] = {}, set()
                continue
            setting = re.match(r"^(#\s*)?([a-z][a-z0-9-]*)\s*=\s*(.+)$", line)
            if setting and section:
                if setting.group(1):
                    commented[section].add(setting.group(2))
                else:
                    sections[section][setting.group(2)] = setting.group(3)
    return sections, commented


def help_text(path):
    result = support.run_backtalk(list(path) + ["--help"], env=clean_environment())
    if result.returncode != 0:
        raise AssertionError("backtalk %s --help failed:\n%s" % (" ".join(path), result.stderr))
    return result.stdout


def subcommands(path=()):
    """Every leaf subcommand path, e.g. ("serve",), ("rules", "check")."""
    text = help_text(path)
    names = []
    if "\nSubcommands:\n" in text:
        for line in text.split("\nSubcommands:\n", 1)[1].splitlines():
            match = re.match(r"^  ([a-z][a-z0-9-]*)\s", line + " ")
            if match:
                names.append(match.group(1))
            elif line.strip() == "" and names:
                break
    if not names:
        return [tuple(path)]
    leaves = []
    for name in names:
        leaves.extend(subcommands(tuple(path) + (name,)))
    return leaves


def options(path):
    """{option name: environment variable or None} for one subcommand."""
    found = {}
    for line in help_text(path).splitlines():
        match = OPTION_LINE.match(line)
        if match and match.group(1) not in NOT_SETTINGS:
            env = ENV_NAME.search(line)
            found[match.group(1)] = env.group(1) if env else None
    return found


class ExampleConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not support.BINARY or not os.access(support.BINARY, os.X_OK):
            raise AssertionError("BACKTALK_BINARY does not name the built backtalk binary")
        cls.leaves = subcommands()

    def setUp(self):
        self.temp = support.TempDir()
        self.addCleanup(self.temp.cleanup)

    def render_for_checkout(self):
        """The example with the installed paths replaced by this checkout's
        and a state directory of the test's own, listening on port 0."""
        with open(EXAMPLE) as example:
            text = example.read()
        replacements = [
            ("/usr/local/share/backtalk/rules", support.source_path("rules")),
            ("/usr/local/share/backtalk/web", support.source_path("adapters", "web")),
            ("/var/lib/backtalk/", self.temp.join("state") + "/"),
            ('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1:0"'),
        ]
        for installed, here in replacements:
            self.assertIn(installed, text)
            text = text.replace(installed, here)
        rendered = self.temp.join("backtalk.toml")
        with open(rendered, "w") as out:
            out.write(text)
        return rendered

    def test_every_key_is_an_option_of_its_subcommand(self):
        sections, commented = read_example()
        self.assertIn("serve", sections)
        for section, keys in sections.items():
            path = tuple(section.split("."))
            self.assertIn(path, self.leaves, "[%s] is not a subcommand" % section)
            known = options(path)
            for key in set(keys) | commented[section]:
                self.assertIn(key, known, "[%s] %s is not an option of backtalk %s" % (section, key, " ".join(path)))

    def test_every_option_of_serve_chat_and_rules_check_is_in_the_example(self):
        sections, commented = read_example()
        for path in [("serve",), ("chat",), ("rules", "check")]:
            section = ".".join(path)
            documented = set(sections.get(section, {})) | commented.get(section, set())
            missing = set(options(path)) - documented
            self.assertEqual(missing, set(), "options of backtalk %s missing from the example" % " ".join(path))

    def test_every_option_is_in_the_reference_with_its_variable(self):
        with open(REFERENCE) as reference:
            text = reference.read()
        for path in self.leaves:
            for name, env in options(path).items():
                # In a table cell: `--name`, `--name VALUE` or `-o`, `--name`.
                self.assertTrue(re.search(r"`--%s[ `]" % re.escape(name), text),
                                 "docs/configuration.md lacks --%s (backtalk %s)" % (name, " ".join(path)))
                if env:
                    self.assertTrue("`%s`" % env in text, "docs/configuration.md lacks %s" % env)

    def test_rules_check_runs_from_the_file_alone(self):
        config = self.render_for_checkout()
        # From an empty directory: the rules can only come from the file.
        result = support.run_backtalk(["--config", config, "rules", "check"], env=clean_environment(),
                                      cwd=self.temp.path)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(support.source_path("rules", "en"), result.stdout)

    def test_chat_runs_from_the_file_alone(self):
        config = self.render_for_checkout()
        result = subprocess.run([support.BINARY, "--config", config, "chat", "--json"], cwd=self.temp.path,
                                input=json.dumps({"type": "message", "text": support.COMPLAINT}) + "\n",
                                capture_output=True, text=True, timeout=60, env=clean_environment())
        self.assertEqual(result.returncode, 0, result.stderr)
        objects = [json.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual(objects[0]["type"], "session", result.stdout)
        self.assertTrue(any(obj["type"] == "reply" for obj in objects), result.stdout)
        # The [logs.list] section points at the same database.
        listed = support.run_backtalk(["--config", config, "logs", "list", "--json"], env=clean_environment(),
                                      cwd=self.temp.path)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        conversations = json.loads(listed.stdout)
        self.assertEqual([c["id"] for c in conversations], [objects[0]["session"]])
        self.assertEqual(conversations[0]["channel"], "terminal")

    def test_serve_runs_from_the_file_alone(self):
        config = self.render_for_checkout()
        server = support.Server(["--config", config, "serve"], env=clean_environment(), cwd=self.temp.path)
        try:
            status, headers, body = support.http_get(server.port, "/", "127.0.0.1")
            self.assertEqual(status, 200, body)
            self.assertIn("frame-ancestors 'self'", headers.get("content-security-policy", ""))
            # The file's allowed-origin is allowed beside the server's own
            # origin; any other is refused.
            for origin in (ORIGIN, "http://127.0.0.1:%d" % server.port):
                ws = support.WebSocket(server.port, "127.0.0.1", origin=origin)
                try:
                    ws.send({"type": "message", "text": support.COMPLAINT})
                    self.assertTrue(any(obj.get("type") == "reply" for obj in ws.receive_turn()))
                finally:
                    ws.close()
            with self.assertRaisesRegex(RuntimeError, "403"):
                support.WebSocket(server.port, "127.0.0.1", origin="https://elsewhere.example")
        finally:
            self.assertEqual(server.stop(), 0, server.log())
        self.assertTrue(os.path.exists(self.temp.join("state", "backtalk.db")))

    def test_a_flag_wins_over_the_file(self):
        config = self.render_for_checkout()
        db = self.temp.join("flag.db")
        server = support.Server(["--config", config, "serve", "--db", db], env=clean_environment(),
                                cwd=self.temp.path)
        self.assertEqual(server.stop(), 0, server.log())
        self.assertTrue(os.path.exists(db))
        self.assertFalse(os.path.exists(self.temp.join("state", "backtalk.db")))

    def test_a_missing_config_file_is_a_clear_error(self):
        missing = self.temp.join("nowhere.toml")
        result = support.run_backtalk(["--config", missing, "rules", "check"], env=clean_environment())
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(missing, result.stdout + result.stderr)

    def test_a_variable_wins_over_the_file_and_a_flag_over_both(self):
        config = self.render_for_checkout()
        from_variable, from_flag = self.temp.join("variable.db"), self.temp.join("flag.db")
        environment = dict(clean_environment(), BACKTALK_DB=from_variable)
        server = support.Server(["--config", config, "serve"], env=environment, cwd=self.temp.path)
        self.assertEqual(server.stop(), 0, server.log())
        self.assertTrue(os.path.exists(from_variable))
        self.assertFalse(os.path.exists(self.temp.join("state", "backtalk.db")))
        server = support.Server(["--config", config, "serve", "--db", from_flag], env=environment,
                                cwd=self.temp.path)
        self.assertEqual(server.stop(), 0, server.log())
        self.assertTrue(os.path.exists(from_flag))

    def test_the_example_states_the_order_the_test_above_shows(self):
        with open(EXAMPLE) as example:
            header = " ".join(line.lstrip("# ").strip() for line in example if line.startswith("#"))
        self.assertIn("a flag on the command line, then a BACKTALK_* variable, then this file, then the default",
                      header)
        self.assertNotIn("this file over the BACKTALK_*", header)

    def test_backtalk_config_names_the_file(self):
        config = self.render_for_checkout()
        result = support.run_backtalk(["rules", "check"], env=dict(clean_environment(), BACKTALK_CONFIG=config),
                                      cwd=self.temp.path)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(support.source_path("rules", "en"), result.stdout)
        missing = self.temp.join("nowhere.toml")
        result = support.run_backtalk(["rules", "check"], env=dict(clean_environment(), BACKTALK_CONFIG=missing),
                                      cwd=self.temp.path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(missing, result.stdout + result.stderr)

    def test_an_unknown_key_or_section_is_named(self):
        for text, named in [('[serve]\nlistn = "127.0.0.1:0"\n', "[serve] listn"),
                            ('[serv]\nlisten = "127.0.0.1:0"\n', "[serv]"),
                            ('verbose = true\n', "verbose")]:
            config = self.temp.join("typo.toml")
            with open(config, "w") as out:
                out.write(text)
            result = support.run_backtalk(["--config", config, "rules", "check"], env=clean_environment(),
                                          cwd=self.temp.path)
            self.assertNotEqual(result.returncode, 0, text)
            self.assertIn(named, result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
