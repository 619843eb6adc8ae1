"""deploy/nginx/backtalk.conf in front of a real `backtalk serve`: Debian's
nginx runs the site on loopback with its own prefix and a self-signed
certificate, and a whole conversation goes through it over TLS and the
WebSocket upgrade. Only the listen lines, the certificate paths and the
instances file are changed for the test (nginx_site.py)."""

import os
import unittest

import deploy_support as support
from nginx_site import Nginx, ORIGIN, SITE_NAME


class NginxSiteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.temp = support.TempDir()
        cls.server = None
        cls.nginx = None
        try:
            if not support.BINARY or not os.access(support.BINARY, os.X_OK):
                raise AssertionError("BACKTALK_BINARY does not name the built backtalk binary")
            # The origin the pages have in production: what a browser on the
            # site sends, and what the unit's environment file allows.
            cls.server = support.Server(["serve", "--listen", "127.0.0.1:0",
                                         "--db", os.path.join(cls.temp.path, "backtalk.db"),
                                         "--allowed-origin", ORIGIN, "--max-connections-per-address", "10000"])
            cls.nginx = Nginx(cls.temp.path, [cls.server.port])
            cls.http_port = cls.nginx.http_port
            cls.https_port = cls.nginx.https_port
            cls.tls = cls.nginx.tls
        except BaseException:
            cls._stop()
            raise

    @classmethod
    def _stop(cls):
        if cls.nginx is not None:
            cls.nginx.stop()
        cls.server_exit = cls.server.stop() if cls.server is not None else None
        cls.temp.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls._stop()
        if cls.server_exit != 0:
            raise AssertionError("backtalk serve exited with %r after SIGTERM" % cls.server_exit)

    def nginx_log(self):
        return self.nginx.error_log()

    def websocket(self):
        return self.nginx.websocket()

    def https_request(self, method, path, body=b""):
        return self.nginx.request(method, path, body=body)

    def test_plain_http_redirects_to_https(self):
        status, headers, _ = support.http_get(self.http_port, "/widget.js?v=1", SITE_NAME)
        self.assertEqual(status, 301)
        self.assertEqual(headers.get("location"), "https://chat.example.org/widget.js?v=1")

    def test_pages_pass_through_with_backtalks_security_headers(self):
        status, headers, body = self.https_request("GET", "/")
        self.assertEqual(status, 200, body)
        self.assertIn("frame-ancestors", headers.get("content-security-policy", ""))
        self.assertIn("max-age=", headers.get("strict-transport-security", ""))
        status, _, body = self.https_request("GET", "/healthz")
        self.assertEqual(status, 200, body)

    def test_no_nginx_version_in_headers_or_error_pages(self):
        for status, headers, body in (support.http_get(self.http_port, "/", SITE_NAME),
                                      self.https_request("GET", "/metrics"),
                                      self.https_request("POST", "/api/v1/chat", body=b"x" * (65 * 1024))):
            self.assertEqual(headers.get("server"), "nginx", (status, headers))
            self.assertNotRegex(body, rb"nginx/\d", status)

    def test_metrics_are_not_published(self):
        status, _, _ = self.https_request("GET", "/metrics")
        self.assertEqual(status, 404)
        status, _, body = support.http_get(self.server.port, "/metrics", "127.0.0.1")
        self.assertEqual(status, 200)
        self.assertIn(b"# TYPE", body)

    def test_bodies_over_the_server_limit_stop_at_the_edge(self):
        status, _, _ = self.https_request("POST", "/api/v1/chat", body=b"x" * (65 * 1024))
        self.assertEqual(status, 413)

    def requests_until_refused(self, method, path, client_address, limit):
        """Sends requests one after the other from `client_address` until
        nginx answers 429 or `limit` were sent; returns the statuses."""
        body = b"{}" if method == "POST" else b""
        statuses = []
        while len(statuses) < limit and 429 not in statuses:
            status, _, _ = support.http_request(self.https_port, method, path, SITE_NAME, body=body,
                                                tls_context=self.tls, server_name=SITE_NAME,
                                                source_address=client_address)
            statuses.append(status)
        return statuses

    def test_a_client_sending_too_many_requests_gets_429(self):
        # A client address of its own, so the other tests keep their budget.
        statuses = self.requests_until_refused("GET", "/healthz", "127.0.0.2", 400)
        self.assertIn(429, statuses)
        # The burst of 20 passes before the limit bites.
        self.assertGreaterEqual(statuses.index(429), 20, statuses)
        self.assertEqual(set(statuses[:20]), {200})

    def test_the_telegram_webhook_is_not_held_to_one_clients_limit(self):
        statuses = self.requests_until_refused("POST", "/telegram/webhook", "127.0.0.3", 60)
        self.assertNotIn(429, statuses)
        # It reaches backtalk, which has the webhook off: not found.
        self.assertEqual(set(statuses), {404})

    def test_websocket_from_another_origin_is_refused(self):
        with self.assertRaisesRegex(RuntimeError, "403"):
            support.WebSocket(self.https_port, SITE_NAME, origin="https://evil.example.net", tls_context=self.tls,
                              server_name=SITE_NAME)

    def test_a_whole_conversation_over_tls_and_the_websocket_upgrade(self):
        ws = self.websocket()
        try:
            session, outcome, turns = support.converse_to_outcome(ws)
            self.assertIn(outcome["triage"]["level"], ("emergency", "urgent", "gp_soon", "self_care"))
            self.assertGreater(len(turns), 3)
            # The conversation goes on after the outcome, on the same socket.
            ws.send({"type": "message", "text": "show me stretches"})
            after = ws.receive_turn()
            self.assertTrue(any(obj.get("type") == "reply" for obj in after), after)
        finally:
            ws.close()
        # A second connection resumes it: the proxy keeps nothing per session.
        ws = self.websocket()
        try:
            ws.send({"type": "start", "session": session})
            resumed = ws.receive_turn()
            self.assertEqual(resumed[0].get("type"), "session", resumed)
            self.assertEqual(resumed[0].get("session"), session)
            self.assertTrue(resumed[0].get("resumed"), resumed)
        finally:
            ws.close()

    def test_a_quiet_websocket_is_kept_alive_by_the_servers_pings(self):
        """backtalk pings after 25 s of quiet; the ping and the pong cross
        nginx, and the conversation is still there afterwards."""
        ws = self.websocket()
        try:
            ws.send({"type": "start"})
            ws.receive_turn()
            pings = ws.stay_quiet(30)
            self.assertGreaterEqual(pings, 1, self.nginx_log())
            ws.send({"type": "message", "text": support.COMPLAINT})
            self.assertTrue(any(obj.get("type") == "reply" for obj in ws.receive_turn()))
        finally:
            ws.close()


if __name__ == "__main__":
    unittest.main()
