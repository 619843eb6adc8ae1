"""deploy/Dockerfile, checked without Docker (no daemon runs on the build
machines): the stages copy files that exist and that the build context
keeps, the build stage installs the packages of deploy/install-deps.sh, the
runtime stage has every shared library the built binary needs and nothing
from the build, and the command it runs starts a server that answers the
health check."""

import json
import os
import re
import subprocess
import unittest

import deploy_support as support

DOCKERFILE = support.source_path("deploy", "Dockerfile")
DOCKERIGNORE = support.source_path("deploy", "Dockerfile.dockerignore")
INSTALL_DEPS = support.source_path("deploy", "install-deps.sh")
OPERATIONS = support.source_path("docs", "operations.md")

# Packages every debian:12 image has (Priority: required, or needed by apt
# and dpkg), so the runtime stage need not install them.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
# Commands the recipes of docs/operations.md run in the container (`docker
# exec`), whose packages the build stage installs too.
OPERATOR_TOOLS = {"sqlite3"}
# Linked only by sanitizer builds such as the one the tests run.
SANITIZER_RUNTIMES = re.compile(r"^lib(asan|ubsan|lsan|tsan)\d*$")


def parse_stages():
    """[{name, base, instructions: [(keyword, arguments)]}], continuation
    lines joined, comments dropped."""
    with open(DOCKERFILE) as dockerfile:
        lines = [line for line in dockerfile.read().splitlines() if not line.lstrip().startswith("#")]
    text = "\n".join(lines).replace("\\\n", " ")
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = arguments.split()
            stages.append({"base": parts[0], "name": parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None,
                           "instructions": []})
        else:
            stages[-1]["instructions"].append((keyword, arguments.strip()))
    return stages


def instruction(stage, keyword):
    return [arguments for kw, arguments in stage["instructions"] if kw == keyword]


def bash_array(name):
    """The words of a `name=( ... )` array in install-deps.sh."""
    with open(INSTALL_DEPS) as script:
        match = re.search(r"^%s=\(\s*(.*?)\)" % name, script.read(), re.S | re.M)
    if not match:
        raise AssertionError("install-deps.sh has no %s array" % name)
    return match.group(1).split()


def package_of(library_path):
    """The Debian package that ships a shared library (merged /usr aware)."""
    real = os.path.realpath(library_path)
    candidates = {library_path, real}
    for path in list(candidates):
        if path.startswith("/usr/lib/"):
            candidates.add(path[len("/usr"):])
        elif path.startswith("/lib/"):
            candidates.add("/usr" + path)
    for path in sorted(candidates):
        result = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":")[0].strip()
    raise AssertionError("no Debian package ships %s" % library_path)


def package_depends(package):
    result = subprocess.run(["dpkg-query", "-W", "-f=${Depends} ${Pre-Depends}", package],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return set()
    return {re.split(r"[\s(:]", alternative.strip())[0] for dep in result.stdout.split(",")
            for alternative in dep.split("|") if alternative.strip()}


def dependency_closure(packages):
    """The packages and everything they depend on, as installed here."""
    closure, pending = set(), list(packages)
    while pending:
        package = pending.pop()
        if package not in closure:
            closure.add(package)
            pending.extend(package_depends(package))
    return closure


class DockerfileTest(unittest.TestCase):
    def setUp(self):
        self.stages = parse_stages()
        self.build = next(stage for stage in self.stages if stage["name"] == "build")
        self.runtime = self.stages[-1]

    def runtime_packages(self):
        for command in instruction(self.runtime, "RUN"):
            match = re.search(r"apt-get install -y --no-install-recommends\s+((?:[a-z0-9.+-]+\s*)+)", command)
            if match:
                return set(match.group(1).split())
        self.fail("the runtime stage installs no packages with apt-get")

    def test_two_stages_on_debian_12(self):
        self.assertEqual([stage["base"] for stage in self.stages], ["debian:12", "debian:12"])
        self.assertEqual(self.runtime["name"], "runtime")

    def test_build_stage_installs_the_projects_packages_and_builds_release(self):
        runs = " ".join(instruction(self.build, "RUN"))
        self.assertIn("deploy/install-deps.sh build", runs)
        self.assertIn("-DCMAKE_BUILD_TYPE=Release", runs)
        self.assertTrue(os.access(INSTALL_DEPS, os.X_OK))

    def test_copied_sources_exist_and_are_in_the_build_context(self):
        with open(DOCKERIGNORE) as ignore:
            kept = {line[1:].strip() for line in ignore if line.startswith("!")}
        copies = [args for stage in self.stages for args in instruction(stage, "COPY")]
        self.assertTrue(copies)
        stage_names = {stage["name"] for stage in self.stages}
        for arguments in copies:
            words = arguments.split()
            flags = [word for word in words if word.startswith("--")]
            sources = [word for word in words if not word.startswith("--")][:-1]
            from_stage = [flag.split("=", 1)[1] for flag in flags if flag.startswith("--from=")]
            if from_stage:
                self.assertIn(from_stage[0], stage_names, arguments)
                continue
            for source in sources:
                self.assertTrue(os.path.exists(support.source_path(source)), "COPY of a missing path: " + source)
                self.assertIn(source.rstrip("/"), kept, "COPY %s, but the .dockerignore drops it" % source)

    def test_the_build_stage_copies_every_source_folder_cmake_builds(self):
        with open(support.source_path("CMakeLists.txt")) as cmake:
            folders = set(re.findall(r"^\s*add_subdirectory\((\S+?)\)", cmake.read(), re.M))
        built = {folder for folder in folders if not folder.startswith("tests")}
        self.assertIn("bot", built)
        copied = {args.split()[0].rstrip("/") for args in instruction(self.build, "COPY")}
        self.assertEqual(built - copied, set(), "the build stage does not copy these folders")

    def test_runtime_stage_has_every_library_the_binary_links(self):
        support.require_binary(self)
        ldd = subprocess.run(["ldd", support.BINARY], capture_output=True, text=True, check=True)
        needed = set()
        for line in ldd.stdout.splitlines():
            match = re.search(r"=>\s*(/\S+)", line)
            if match:
                package = package_of(match.group(1))
                if not SANITIZER_RUNTIMES.match(package):
                    needed.add(package)
        self.assertIn("libc6", needed)
        # ldd lists the libraries of libraries too (libpq5's LDAP, Kerberos
        # and TLS): apt installs those as the runtime packages' dependencies.
        missing = needed - BASE_IMAGE_PACKAGES - dependency_closure(self.runtime_packages())
        self.assertEqual(missing, set(), "the runtime stage lacks the packages of these libraries")

    def test_runtime_libraries_are_the_runtime_halves_of_install_deps(self):
        build_packages = bash_array("build_packages")
        provided = set().union(*(package_depends(package) for package in build_packages))
        libraries = {package for package in self.runtime_packages() if package.startswith("lib")}
        self.assertTrue(libraries)
        self.assertEqual(libraries - provided, set(),
                         "runtime libraries that no package of install-deps.sh depends on")
        self.assertFalse((self.runtime_packages() - OPERATOR_TOOLS) & set(build_packages),
                         "the runtime stage installs build packages")

    def test_runtime_has_the_commands_of_the_restore_recipe(self):
        with open(OPERATIONS) as operations:
            restore = operations.read().split("\n## Restore\n", 1)[1].split("\n## ", 1)[0]
        recipe = restore.split("```sh\n", 1)[1].split("```", 1)[0]
        used = {tool for tool in OPERATOR_TOOLS if re.search(r"(^|\s)%s\s" % tool, recipe, re.M)}
        self.assertEqual(used, OPERATOR_TOOLS, "a tool no recipe uses need not be in the image")
        self.assertEqual(OPERATOR_TOOLS - self.runtime_packages(), set(),
                         "the runtime stage lacks commands the restore recipe runs")

    def test_runtime_runs_unprivileged_with_the_database_on_a_volume(self):
        users = instruction(self.runtime, "USER")
        self.assertEqual(len(users), 1)
        self.assertNotIn(users[0].split(":")[0], ("root", "0"))
        volumes = instruction(self.runtime, "VOLUME")
        self.assertEqual(volumes, ["/var/lib/backtalk"])
        env = dict(entry.split("=", 1) for entry in instruction(self.runtime, "ENV"))
        self.assertEqual(os.path.dirname(env["BACKTALK_DB"]), "/var/lib/backtalk")
        copies = " ".join(instruction(self.runtime, "COPY"))
        self.assertIn("--from=build", copies)

    def test_listen_port_expose_and_healthcheck_agree(self):
        command = json.loads(instruction(self.runtime, "CMD")[0])
        listen = command[command.index("--listen") + 1]
        self.assertEqual(listen, "0.0.0.0:8080")
        self.assertEqual(instruction(self.runtime, "EXPOSE"), ["8080"])
        healthcheck = instruction(self.runtime, "HEALTHCHECK")[0]
        self.assertIn("http://127.0.0.1:8080/healthz", healthcheck)
        self.assertIn("curl", self.runtime_packages())

    def test_the_image_command_starts_a_healthy_server(self):
        """ENTRYPOINT + CMD with this checkout's binary, port 0 on loopback and
        a temporary database: the flags parse and /healthz answers 200."""
        support.require_binary(self)
        entrypoint = json.loads(instruction(self.runtime, "ENTRYPOINT")[0])
        self.assertEqual(entrypoint, ["/usr/local/bin/backtalk"])
        command = json.loads(instruction(self.runtime, "CMD")[0])
        command[command.index("--listen") + 1] = "127.0.0.1:0"
        temp = support.TempDir()
        self.addCleanup(temp.cleanup)
        env = dict(os.environ, BACKTALK_DB=temp.join("backtalk.db"))
        server = support.Server(command, env=env)
        try:
            status, _, body = support.http_get(server.port, "/healthz", "127.0.0.1")
            self.assertEqual(status, 200, body)
        finally:
            self.assertEqual(server.stop(), 0, server.log())
        self.assertTrue(os.path.exists(temp.join("backtalk.db")))

    def test_shell_form_runs_are_valid_shell(self):
        for stage in self.stages:
            for command in instruction(stage, "RUN"):
                result = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
                self.assertEqual(result.returncode, 0, command + "\n" + result.stderr)


if __name__ == "__main__":
    unittest.main()
