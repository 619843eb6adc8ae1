"""Two `backtalk serve` instances on one throwaway PostgreSQL behind
deploy/nginx/backtalk.conf (issue 18): a conversation whose turns alternate
between the instances, one session hit by both at once with no turn lost or
doubled, a conversation that carries on through the other instance after
kill -9 of the first, and PostgreSQL restarted while both take turns.

tests/deploy/CMakeLists.txt runs the tests the backend passes and lists the
others as disabled, with what fails. Run any by hand:
BACKTALK_BINARY=build/.../backtalk python3 tests/deploy/test_scale_out_postgresql.py"""

import json
import threading
import time
import unittest
import uuid

import deploy_support as support
from scale_out_site import OnePostgresTestCase


class ConversationsAcrossInstancesTest(OnePostgresTestCase):
    """Both instances on one throwaway PostgreSQL: a conversation is the
    database's, not an instance's."""

    def chat(self, body, port=None):
        """One REST turn through nginx, or straight to the instance on
        `port`; returns the answer, which must be a 200."""
        data = json.dumps(body).encode()
        if port is None:
            status, _, answer = self.nginx.request("POST", "/api/v1/chat", body=data)
        else:
            status, _, answer = support.http_request(port, "POST", "/api/v1/chat", "127.0.0.1", body=data)
        self.assertEqual(status, 200, answer)
        return json.loads(answer)

    def transcript(self, session, port):
        """The conversation's messages as the admin API gives them."""
        status, body = self.admin_request(port, "GET", "/api/v1/conversations/" + session)
        self.assertEqual(status, 200, body)
        return body["messages"]

    def incoming_texts(self, session, port, count):
        """What the person sent, as logged; log rows are written in
        batches, so this waits a little for `count` of them."""
        deadline = time.monotonic() + 15
        while True:
            texts = [message["text"] for message in self.transcript(session, port) if message["direction"] == "in"]
            if len(texts) >= count or time.monotonic() > deadline:
                return texts
            time.sleep(0.2)

    def test_a_conversation_whose_turns_alternate_between_instances(self):
        first = self.chat({})
        session = first["session"]
        self.assertTrue(first["new_session"])
        answer = self.chat({"session": session, "text": support.COMPLAINT})
        turns = 2
        for _ in range(40):
            self.assertEqual(answer["session"], session)
            self.assertFalse(answer["new_session"], "an instance did not know the conversation: %r" % answer)
            reply = support.last_reply(answer["replies"])
            if isinstance(reply.get("triage"), dict):
                break
            time.sleep(support.ANSWER_PAUSE_SECONDS)
            sent = support.answer_to(reply)
            body = {"session": session}
            body.update({"choice": sent["id"]} if sent["type"] == "choice" else {"text": sent["text"]})
            answer = self.chat(body)
            turns += 1
        self.assertIn("level", reply["triage"])
        ports = [port for _, port in self.answered_by("/api/v1/chat", turns)]
        for previous, current in zip(ports, ports[1:]):
            self.assertNotEqual(previous, current, ports)

    def test_one_session_hit_by_both_instances_at_once(self):
        """Two messages of one conversation at the same moment, one to each
        instance: both answered, each logged once, none lost."""
        first, second = self.site.ports()
        session = self.chat({}, port=first)["session"]
        texts = [support.COMPLAINT, "it started about 3 days ago"]
        answers = [None, None]
        barrier = threading.Barrier(2)

        def send(index, port):
            barrier.wait()
            answers[index] = self.chat({"session": session, "text": texts[index],
                                        "message_id": uuid.uuid4().hex}, port=port)

        threads = [threading.Thread(target=send, args=(0, first)), threading.Thread(target=send, args=(1, second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for answer in answers:
            self.assertIsNotNone(answer)
            self.assertEqual(answer["session"], session)
            self.assertFalse(answer["new_session"])
        # The start (no text) and the two messages, each exactly once.
        logged = self.incoming_texts(session, second, 3)
        self.assertEqual(sorted(logged), sorted([""] + texts), "turns lost or doubled")

    def test_a_conversation_carries_on_through_the_other_instance_after_kill_9(self):
        first = self.site.instances[0]
        ws = support.WebSocket(first.port, "127.0.0.1", origin="http://127.0.0.1:%d" % first.port)
        try:
            ws.send({"type": "start"})
            session = ws.receive_turn()[0]["session"]
            ws.send({"type": "message", "text": support.COMPLAINT})
            asked = support.last_reply(ws.receive_turn())
            self.assertTrue(asked.get("asking"), asked)
        finally:
            ws.close()
        self.kill(first)
        # The widget reconnects through the proxy naming its session: the
        # hash may pick the dead instance, and nginx passes it on.
        ws = self.nginx.websocket("/ws?session=" + session)
        try:
            ws.send({"type": "start", "session": session})
            resumed = ws.receive_turn()
            self.assertEqual(resumed[0].get("session"), session, resumed)
            self.assertTrue(resumed[0].get("resumed"), resumed)
            self.assertEqual(support.last_reply(resumed).get("asking"), asked["asking"], resumed)
            ws.send(support.answer_to(asked))
            self.assertTrue(any(obj.get("type") == "reply" for obj in ws.receive_turn()))
        finally:
            ws.close()

    def turns_until(self, session, condition, timeout):
        """Sends turns of `session` to both instances in turn until
        condition() holds; returns the HTTP statuses of those turns."""
        statuses = []
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, "still not so after %d s; turns: %r" % (timeout, statuses))
            for port in self.site.ports():
                body = json.dumps({"session": session, "text": "it started about 3 days ago"}).encode()
                status, _, _ = support.http_request(port, "POST", "/api/v1/chat", "127.0.0.1", body=body)
                statuses.append(status)
            time.sleep(0.2)
        return statuses

    def test_postgresql_restarted_while_both_instances_take_turns(self):
        """The database goes away while both instances take turns: they say
        they are degraded, and once it is back they are healthy again and
        the conversation goes on where it was."""
        ports = self.site.ports()
        session = self.chat({})["session"]
        self.chat({"session": session, "text": support.COMPLAINT})
        self.postgres.stop("fast")
        self.turns_until(session, lambda: all(self.health(port)[1]["database"] == "degraded" for port in ports), 30)
        self.postgres.start()
        self.turns_until(session, lambda: all(self.health(port)[1]["database"] == "ok" for port in ports), 60)
        answer = self.chat({"session": session})
        self.assertEqual(answer["session"], session)
        self.assertFalse(answer["new_session"], answer)


if __name__ == "__main__":
    unittest.main()
