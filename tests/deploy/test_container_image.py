"""deploy/Dockerfile built for real, once per run: Debian's podman builds it
on a debian:12 base made by Debian's debootstrap (no image registry is
reachable from the build machines; the Debian archive is), and the image's
own backtalk, started from the image's files with chroot (containers cannot
set rlimits in this sandbox), holds a conversation over the WebSocket.

Needs root (debootstrap, podman's storage, mount and chroot): run by anyone
else it exits 77, which ctest reports as skipped, never as passed."""

import json
import os
import subprocess
import sys
import time
import unittest

import deploy_support as support

BASE_IMAGE = "localhost/debian:12"
# Marks the base this test made, so a later run on the same machine reuses it
# (debootstrap is half a minute of downloads) and never mistakes another
# image of that name for it. BACKTALK_REFRESH_BASE=1 makes it again.
BASE_LABEL = "org.backtalk.base=debootstrap-minbase-bookworm"
DEBIAN_MIRROR = os.environ.get("BACKTALK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
IMAGE_NAME = "localhost/backtalk-test"
IMAGE = "%s:%d" % (IMAGE_NAME, os.getpid())


def run(command, **kwargs):
    """Runs a command to the end; fails with its output when it fails."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise AssertionError("%s exited %d:\n%s\n%s" % (" ".join(command), result.returncode,
                                                       result.stdout[-4000:], result.stderr[-4000:]))
    return result.stdout


def timed(what, action):
    started = time.monotonic()
    result = action()
    print("%s: %.0f s" % (what, time.monotonic() - started), file=sys.stderr, flush=True)
    return result


def base_is_ours():
    exists = subprocess.run(["podman", "image", "exists", BASE_IMAGE]).returncode == 0
    if not exists or os.environ.get("BACKTALK_REFRESH_BASE") == "1":
        return False
    labels = json.loads(run(["podman", "image", "inspect", "--format", "{{json .Labels}}", BASE_IMAGE])) or {}
    key, value = BASE_LABEL.split("=", 1)
    return labels.get(key) == value


def make_base_image():
    """debian:12 as Debian's archive has it today: debootstrap's minbase
    variant, imported as an image of one layer."""
    root = support.TempDir(prefix="backtalk-debootstrap-")
    try:
        run(["debootstrap", "--variant=minbase", "bookworm", root.join("rootfs"), DEBIAN_MIRROR])
        tar = subprocess.Popen(["tar", "-C", root.join("rootfs"), "-c", "."], stdout=subprocess.PIPE)
        run(["podman", "import", "--change", "LABEL " + BASE_LABEL, "--change", 'CMD ["bash"]', "-", BASE_IMAGE],
            stdin=tar.stdout)
        if tar.wait() != 0:
            raise AssertionError("tar of the debootstrap tree failed")
    finally:
        root.cleanup()


def remove_images_of_killed_runs():
    """A run stopped before its cleanup (a CI timeout) leaves its image
    behind, mounted perhaps; nothing else uses this name."""
    for image in run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_NAME]).split():
        subprocess.run(["podman", "image", "unmount", "--force", image], capture_output=True)
        run(["podman", "rmi", image])


def image_config(image):
    return json.loads(run(["podman", "image", "inspect", "--format", "{{json .Config}}", image]))


def passwd_ids(root, user):
    with open(os.path.join(root, "etc", "passwd")) as passwd:
        for line in passwd:
            fields = line.split(":")
            if fields[0] == user:
                return int(fields[2]), int(fields[3])
    raise AssertionError("the image has no user %r" % user)


# In a mount namespace of its own, so every mount goes when the server does:
# the data folder on the image's volume, /proc and /dev as a container has
# them; then the image's user, working directory and environment only.
CHROOT_SCRIPT = """
root=$1 data=$2 user=$3 workdir=$4; shift 4
mount --bind "$data" "$root/var/lib/backtalk"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
exec chroot --userspec="$user" "$root" env -i -C "$workdir" "$@"
"""


class ContainerImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        remove_images_of_killed_runs()
        if base_is_ours():
            print("reusing %s made by an earlier run" % BASE_IMAGE, file=sys.stderr)
        else:
            timed("debootstrap and podman import", make_base_image)
        timed("podman build", lambda: run(
            ["podman", "build", "--isolation", "chroot", "--network", "host", "--pull=never", "--layers=false",
             "--file", support.source_path("deploy", "Dockerfile"),
             "--ignorefile", support.source_path("deploy", "Dockerfile.dockerignore"),
             "--tag", IMAGE, support.SOURCE_DIR]))
        cls.root = run(["podman", "image", "mount", IMAGE]).strip()

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["podman", "image", "unmount", IMAGE], capture_output=True)
        subprocess.run(["podman", "rmi", IMAGE], capture_output=True)

    def start_image_server(self):
        """The image's ENTRYPOINT and CMD with its USER, WORKDIR and ENV, the
        listen address changed to a loopback port of this machine's."""
        config = image_config(IMAGE)
        command = config["Entrypoint"] + config["Cmd"]
        self.assertIn("--listen", command)
        command[command.index("--listen") + 1] = "127.0.0.1:0"
        uid, gid = passwd_ids(self.root, config["User"])
        data = support.TempDir(prefix="backtalk-volume-")
        self.addCleanup(data.cleanup)
        os.chown(data.path, uid, gid)
        os.chmod(data.path, 0o700)
        launcher = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-euc", CHROOT_SCRIPT, "sh",
                    self.root, data.path, "%d:%d" % (uid, gid), config["WorkingDir"]] + config["Env"]
        server = support.Server(command[1:], program=launcher + command[:1], env={"PATH": os.environ["PATH"]})
        return server, data

    def test_the_images_own_backtalk_holds_a_conversation(self):
        server, data = self.start_image_server()
        try:
            self.assertEqual(os.readlink("/proc/%d/root" % server.process.pid), self.root,
                             "the server is not running from the image's files")
            status, _, body = support.http_get(server.port, "/healthz", "127.0.0.1")
            self.assertEqual(status, 200, body)
            status, _, body = support.http_get(server.port, "/", "127.0.0.1")
            self.assertEqual(status, 200)
            self.assertIn(b"widget.js", body)
            ws = support.WebSocket(server.port, "127.0.0.1", origin="http://127.0.0.1:%d" % server.port)
            try:
                session, outcome, turns = support.converse_to_outcome(ws)
            finally:
                ws.close()
            self.assertTrue(session)
            self.assertIn("level", outcome["triage"])
            self.assertGreater(len(turns), 3)
        finally:
            self.assertEqual(server.stop(), 0, server.log())
        # The database is where the image's BACKTALK_DB puts it: on the volume.
        self.assertTrue(os.path.exists(data.join("backtalk.db")), os.listdir(data.path))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("skipped: building and running the image needs root (debootstrap, podman, chroot)")
        sys.exit(77)
    unittest.main()
