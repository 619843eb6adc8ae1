"""deploy/backtalk.env.example means what it says under systemd: every value
in it, once uncommented, reaches backtalk as a shell would read it.

systemd's EnvironmentFile= parser is not a shell: it drops quotes and the
white space between a quoted and an unquoted part, so
`BACKTALK_FRAME_ANCESTORS='self' https://www.example.org` arrived as
`selfhttps://www.example.org`. The machines here have no systemd as PID 1,
so the file is read by systemd's environment.d generator, which uses the
same parser (parse_env_file_internal) and prints what it read; the values
hold no `$`, the one thing the generator treats differently (it expands
variables)."""

import os
import re
import shlex
import subprocess
import unittest

import deploy_support as support

EXAMPLE = support.source_path("deploy", "backtalk.env.example")
GENERATOR = "/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator"
SETTING = re.compile(r"^#?(BACKTALK_[A-Z0-9_]+)=(.*)$")


def example_settings():
    """name -> raw value of every line that sets a variable, commented or
    not, with a value."""
    settings = {}
    with open(EXAMPLE) as example:
        for line in example:
            match = SETTING.match(line.rstrip("\n"))
            if match and match.group(2):
                settings[match.group(1)] = match.group(2)
    return settings


def read_by_systemd(settings, temp):
    """What systemd's parser makes of `settings` written as an env file."""
    folder = temp.join("environment.d")
    os.makedirs(folder)
    with open(os.path.join(folder, "50-backtalk.conf"), "w") as env_file:
        for name, raw in settings.items():
            env_file.write("%s=%s\n" % (name, raw))
    result = subprocess.run([GENERATOR], capture_output=True, text=True, timeout=30,
                            env={"XDG_CONFIG_HOME": temp.path, "HOME": temp.path, "PATH": "/usr/bin:/bin"})
    if result.returncode != 0:
        raise AssertionError("the environment.d generator failed: " + result.stderr)
    values = {}
    for line in result.stdout.splitlines():
        name, _, quoted = line.partition("=")
        if name.startswith("BACKTALK_"):
            # It prints each value quoted for a shell where needed.
            values[name] = shlex.split(quoted)[0] if quoted else ""
    return values


class EnvFileTest(unittest.TestCase):
    def setUp(self):
        if not os.access(GENERATOR, os.X_OK):
            self.skipTest("systemd's environment.d generator is not installed")
        self.temp = support.TempDir()
        self.addCleanup(self.temp.cleanup)

    def test_every_value_reaches_backtalk_as_a_shell_reads_it(self):
        settings = example_settings()
        self.assertIn("BACKTALK_FRAME_ANCESTORS", settings)
        values = read_by_systemd(settings, self.temp)
        for name, raw in settings.items():
            words = shlex.split(raw)
            self.assertEqual(len(words), 1, "%s=%s is more than one word to a shell: quote it whole" % (name, raw))
            self.assertEqual(values.get(name), words[0], "%s=%s" % (name, raw))
        self.assertEqual(values["BACKTALK_FRAME_ANCESTORS"], "'self' https://www.example.org")

    def test_a_server_started_with_it_sends_the_frame_ancestors_it_names(self):
        support.require_binary(self)
        values = read_by_systemd(example_settings(), self.temp)
        environment = {name: value for name, value in os.environ.items() if not name.startswith("BACKTALK_")}
        environment["BACKTALK_FRAME_ANCESTORS"] = values["BACKTALK_FRAME_ANCESTORS"]
        server = support.Server(["serve", "--listen", "127.0.0.1:0", "--db", self.temp.join("env.db")],
                                env=environment)
        try:
            status, headers, body = support.http_get(server.port, "/", "127.0.0.1")
            self.assertEqual(status, 200, body)
            self.assertIn("frame-ancestors 'self' https://www.example.org",
                          headers.get("content-security-policy", ""))
        finally:
            self.assertEqual(server.stop(), 0, server.log())


if __name__ == "__main__":
    unittest.main()
