"""docs/operations.md's backup and restore, done as an operator would: a live
server writes conversations while `backtalk logs backup` copies its
database; the copy passes PRAGMA integrity_check, `backtalk logs show` reads
the conversation back from it, and a server started on the restored file
resumes the conversation."""

import os
import shutil
import subprocess
import threading
import time
import unittest

import deploy_support as support


def integrity(db):
    result = subprocess.run(["sqlite3", db, "PRAGMA integrity_check;"], capture_output=True, text=True, timeout=60)
    return result.stdout.strip() + result.stderr.strip()


class BackgroundChatter:
    """A second conversation that keeps the server writing while the backup
    runs: a bounded number of messages, then it stops by itself."""

    def __init__(self, port, origin, messages=20):
        self.ws = support.WebSocket(port, "127.0.0.1", origin=origin)
        self.turns = 0
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(messages,), daemon=True)
        self.thread.start()

    def _run(self, messages):
        try:
            for index in range(messages):
                self.ws.send({"type": "message", "text": "still sore, message %d" % index})
                self.ws.receive_turn()
                self.turns += 1
                time.sleep(support.ANSWER_PAUSE_SECONDS)
        except Exception as error:  # reported by join()
            self.error = error

    def join(self):
        self.thread.join(60)
        self.ws.close()
        if self.error:
            raise self.error
        return self.turns


class BackupRestoreTest(unittest.TestCase):
    def setUp(self):
        support.require_binary(self)
        self.temp = support.TempDir()
        self.addCleanup(self.temp.cleanup)
        os.makedirs(self.temp.join("live"))
        self.live_db = self.temp.join("live", "backtalk.db")

    def logs(self, *args, db):
        return support.run_backtalk(["logs"] + list(args) + ["--db", db])

    def wait_until_logged(self, session, db, expected_text, timeout=15):
        """The writer commits in batches; poll the live file like a reviewer."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.logs("show", session, db=db)
            if shown.returncode == 0 and expected_text in shown.stdout:
                return shown.stdout
            if time.monotonic() > deadline:
                self.fail("conversation %s not readable from %s:\n%s%s" % (session, db, shown.stdout, shown.stderr))
            time.sleep(0.2)

    def test_backup_of_a_live_database_restores_and_resumes(self):
        server = support.Server(["serve", "--listen", "127.0.0.1:0", "--db", self.live_db])
        try:
            origin = "http://127.0.0.1:%d" % server.port
            ws = support.WebSocket(server.port, "127.0.0.1", origin=origin)
            try:
                session, outcome, _ = support.converse_to_outcome(ws)
            finally:
                ws.close()
            level = outcome["triage"]["level"]
            self.wait_until_logged(session, self.live_db, level)

            backup = self.temp.join("backups", "backtalk-backup.db")
            os.makedirs(os.path.dirname(backup))
            chatter = BackgroundChatter(server.port, origin)
            result = self.logs("backup", backup, db=self.live_db)
            self.assertGreater(chatter.join(), 0)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertEqual(integrity(backup), "ok")

            # Backups never overwrite: a second one to the same path is refused
            # and the first is left as it was.
            size = os.path.getsize(backup)
            again = self.logs("backup", backup, db=self.live_db)
            self.assertNotEqual(again.returncode, 0)
            self.assertIn("exists", again.stdout + again.stderr)
            self.assertEqual(os.path.getsize(backup), size)
        finally:
            self.assertEqual(server.stop(), 0, server.log())

        # Restore into a fresh path and read the conversation back.
        restored = self.temp.join("restored", "backtalk.db")
        os.makedirs(os.path.dirname(restored))
        shutil.copyfile(backup, restored)
        shown = self.logs("show", session, db=restored)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn(support.COMPLAINT, shown.stdout)
        self.assertIn(level, shown.stdout)

        # The operator's restore: server stopped, the file replaced, its old
        # WAL and shared-memory files removed, checked, server started.
        for leftover in (self.live_db + "-wal", self.live_db + "-shm"):
            if os.path.exists(leftover):
                os.remove(leftover)
        shutil.copyfile(backup, self.live_db)
        self.assertEqual(integrity(self.live_db), "ok")
        server = support.Server(["serve", "--listen", "127.0.0.1:0", "--db", self.live_db])
        try:
            ws = support.WebSocket(server.port, "127.0.0.1", origin="http://127.0.0.1:%d" % server.port)
            try:
                ws.send({"type": "start", "session": session})
                turn = ws.receive_turn()
                self.assertEqual(turn[0].get("session"), session, turn)
                self.assertTrue(turn[0].get("resumed"), turn)
            finally:
                ws.close()
        finally:
            self.assertEqual(server.stop(), 0, server.log())

    def test_backup_of_a_missing_database_is_a_clear_error(self):
        missing = self.temp.join("nothing-here", "backtalk.db")
        backup = self.temp.join("backup.db")
        result = self.logs("backup", backup, db=missing)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(missing, result.stdout + result.stderr)
        self.assertFalse(os.path.exists(backup))
        self.assertFalse(os.path.exists(missing), "a backup must not create the database it reads")


if __name__ == "__main__":
    unittest.main()
