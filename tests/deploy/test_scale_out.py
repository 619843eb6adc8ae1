"""Two `backtalk serve` instances behind deploy/nginx/backtalk.conf, on ports
the test picks on 127.0.0.1, all stopped at the end: requests without a
session go round robin, a session always reaches the instance it hashes to,
the WebSocket upgrade crosses nginx to either instance, and when one instance
is killed (kill -9) the other serves what comes next.

Each instance has a SQLite file of its own here, so these tests check the
routing only; the conversations that move between instances are
test_scale_out_postgresql.py's."""

import unittest
import uuid

import deploy_support as support
from scale_out_site import TwoInstancesTestCase


class ScaleOutRoutingTest(TwoInstancesTestCase):
    def database(self, number):
        return self.temp.join("instance-%d.db" % number)

    def test_requests_without_a_session_go_round_robin(self):
        for _ in range(6):
            status, _, body = self.nginx.request("GET", "/healthz")
            self.assertEqual(status, 200, body)
        ports = [port for _, port in self.answered_by("/healthz", 6)]
        # One worker process: strictly one instance, then the other.
        self.assertEqual(set(ports), set(self.site.ports()), ports)
        for previous, current in zip(ports, ports[1:]):
            self.assertNotEqual(previous, current, ports)

    def test_a_session_always_reaches_the_instance_it_hashes_to(self):
        sessions = [uuid.uuid4().hex for _ in range(16)]
        for _ in range(3):
            for number, session in enumerate(sessions):
                status, _, body = self.nginx.request("GET", "/healthz?session=" + session,
                                                     source_address=self.client(number))
                self.assertEqual(status, 200, body)
        chosen = {}
        for session in sessions:
            ports = [port for _, port in self.answered_by("/healthz?session=" + session, 3)]
            self.assertEqual(len(set(ports)), 1, "session %s moved between instances: %r" % (session, ports))
            chosen[session] = ports[0]
        # 16 sessions all on one of two instances would be 1 chance in 2**15.
        self.assertEqual(set(chosen.values()), set(self.site.ports()), chosen)

    def test_websockets_reach_both_instances_through_the_upgrade(self):
        for _ in range(2):
            ws = self.nginx.websocket()
            try:
                ws.send({"type": "start"})
                first = ws.receive_turn()
                self.assertEqual(first[0].get("type"), "session", first)
                ws.send({"type": "message", "text": support.COMPLAINT})
                self.assertTrue(any(obj.get("type") == "reply" for obj in ws.receive_turn()))
            finally:
                ws.close()
        upgrades = self.answered_by("/ws", 2)
        self.assertEqual(sorted(upgrades), sorted((101, port) for port in self.site.ports()), upgrades)

    def test_when_an_instance_is_killed_the_other_serves_what_comes_next(self):
        victim = self.site.instances[0]
        self.kill(victim)
        survivor = self.site.instances[1].port
        sessions = [uuid.uuid4().hex for _ in range(8)]
        paths = ["/healthz"] * 4 + ["/healthz?session=" + session for session in sessions]
        for number, path in enumerate(paths):
            status, _, body = self.nginx.request("GET", path, source_address=self.client(number))
            self.assertEqual(status, 200, (path, body))
        answered = [port for uri, status, port in self.nginx.routed()]
        self.assertEqual(set(answered), {survivor}, answered)
        ws = self.nginx.websocket("/ws?session=" + sessions[0])
        try:
            _, outcome, _ = support.converse_to_outcome(ws)
            self.assertIn("level", outcome["triage"])
        finally:
            ws.close()
        # nginx tried the dead one, logged why and passed the request on.
        self.assertIn("connect() failed", self.nginx.error_log())


if __name__ == "__main__":
    unittest.main()
