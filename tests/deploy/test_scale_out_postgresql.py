"""Two `backtalk serve` instances on one throwaway PostgreSQL behind
deploy/nginx/backtalk.conf (issue 18): a conversation whose turns alternate
between the instances, one session hit by both at once with no turn lost or
doubled, a conversation that carries on through the other instance after
kill -9 of the first, and PostgreSQL restarted while both take turns.

Run by hand:
BACKTALK_BINARY=build/.../backtalk python3 tests/deploy/test_scale_out_postgresql.py"""

import hashlib
import json
import os
import threading
import time
import unittest
import uuid

import deploy_support as support
from scale_out_site import OnePostgresTestCase


TELEGRAM_SECRET = "scale-out-telegram-secret-" + uuid.uuid4().hex


class ConversationsAcrossInstancesTest(OnePostgresTestCase):
    """Both instances on one throwaway PostgreSQL: a conversation is the
    database's, not an instance's."""

    def instance_args(self):
        files = {"telegram-secret": TELEGRAM_SECRET, "telegram-token": "123:scale-out"}
        for name, text in files.items():
            with open(self.temp.join(name), "w") as out:
                out.write(text)
        # Nothing listens at the Bot API base: a turn answered in the
        # webhook's own answer needs none, and that is all these tests use.
        return super().instance_args() + [
                "--telegram-secret-file", self.temp.join("telegram-secret"),
                "--telegram-token-file", self.temp.join("telegram-token"),
                "--telegram-api-base", "http://127.0.0.1:%d" % support.free_port()]

    def metric(self, port, line_start):
        """The value of the /metrics line that starts with `line_start`, 0
        when there is none."""
        _, _, body = support.http_get(port, "/metrics", "127.0.0.1")
        for line in body.decode().splitlines():
            if line.startswith(line_start):
                return float(line.split()[-1])
        return 0.0

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

    def test_one_message_id_posted_to_both_instances_at_once_is_one_turn(self):
        """A client's retry that reaches the other instance while the first
        is still at it: the message_id is claimed in the database, so the
        turn runs once; the other instance replays its answer or asks for
        the message again, and the retry then gets the same answer."""
        ports = self.site.ports()
        session = self.chat({}, port=ports[0])["session"]
        body = json.dumps({"session": session, "text": support.COMPLAINT, "message_id": uuid.uuid4().hex}).encode()
        answers = [None, None]
        barrier = threading.Barrier(2)

        def send(index):
            barrier.wait()
            answers[index] = support.http_request(ports[index], "POST", "/api/v1/chat", "127.0.0.1", body=body)

        threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        turn_bodies = []
        for index, answer in enumerate(answers):
            self.assertIsNotNone(answer)
            status, _, text = answer
            deadline = time.monotonic() + 15
            while status == 503:
                self.assertIn(b'"unavailable"', text)
                self.assertLess(time.monotonic(), deadline, "still being answered after 15 s")
                time.sleep(0.1)
                status, _, text = support.http_request(ports[index], "POST", "/api/v1/chat", "127.0.0.1", body=body)
            self.assertEqual(status, 200, text)
            turn_bodies.append(text)
        self.assertEqual(turn_bodies[0], turn_bodies[1], "the two instances gave different answers")
        # The start (no text) and the message, once.
        time.sleep(0.5)  # log rows follow in batches: a second turn's would be in by now
        logged = self.incoming_texts(session, ports[1], 2)
        self.assertEqual(sorted(logged), sorted(["", support.COMPLAINT]), "the turn ran twice")

    def test_a_message_id_claimed_by_an_instance_that_never_answered(self):
        """A message_id taken by an instance that was killed before it
        answered (its claim, written here as that instance left it): a
        retry is asked to wait while a turn could still be running, then to
        send the message with a new message_id."""
        port = self.site.ports()[0]
        session = self.chat({}, port=port)["session"]
        message_id = uuid.uuid4().hex
        body = json.dumps({"session": session, "text": "about 3 days", "message_id": message_id}).encode()
        fingerprint = hashlib.sha256(json.dumps({"text": "about 3 days", "type": "message"},
                                                separators=(",", ":")).encode()).hexdigest()
        key = hashlib.sha256((session + "\n" + message_id).encode()).hexdigest()
        now_ms = int(time.time() * 1000)
        for pending_since, status, words in [(now_ms, 503, b"being answered"), (now_ms - 180000, 409, b"new message_id")]:
            claim = json.dumps({"pending_since": pending_since, "request": fingerprint})
            self.postgres.sql("INSERT INTO bindings (scope, key, value, updated) VALUES ('rest_answer', '%s', '%s', %d) "
                              "ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value" % (key, claim, now_ms))
            answer = support.http_request(port, "POST", "/api/v1/chat", "127.0.0.1", body=body)
            self.assertEqual(answer[0], status, answer)
            self.assertIn(words, answer[2])

    def test_one_telegram_update_delivered_to_both_instances_at_once_is_handled_once(self):
        """Telegram retries an update whose answer it did not get, and the
        retry may reach the other instance while the first is still at it:
        the update id is claimed in the database, so one turn in all."""
        ports = self.site.ports()
        update = {"update_id": 700001, "message": {"message_id": 1, "date": int(time.time()),
                                                   "chat": {"id": 4242, "type": "private"},
                                                   "from": {"id": 4242, "is_bot": False, "first_name": "P"},
                                                   "text": support.COMPLAINT}}
        body = json.dumps(update).encode()
        statuses = [None, None]
        barrier = threading.Barrier(2)

        def deliver(index):
            barrier.wait()
            statuses[index] = support.http_request(ports[index], "POST", "/telegram/webhook", "127.0.0.1", body=body,
                                                   extra_headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})[0]

        threads = [threading.Thread(target=deliver, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(statuses, [200, 200])
        turns = sum(self.metric(port, 'backtalk_turns_total{channel="telegram"}') for port in ports)
        duplicates = sum(self.metric(port, "backtalk_telegram_duplicates_total") for port in ports)
        self.assertEqual((turns, duplicates), (1, 1), "turns and duplicates over both instances")

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

    def turn_status(self, session, port):
        """The HTTP status of one turn of `session` sent to `port`."""
        body = json.dumps({"session": session, "text": "it started about 3 days ago"}).encode()
        return support.http_request(port, "POST", "/api/v1/chat", "127.0.0.1", body=body)[0]

    def turns_until(self, session, condition, timeout):
        """Sends turns of `session` to both instances in turn until
        condition() holds; returns the HTTP statuses of those turns."""
        statuses = []
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, "still not so after %d s; turns: %r" % (timeout, statuses))
            statuses.extend(self.turn_status(session, port) for port in self.site.ports())
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
        # Every turn answered: "unavailable, send it again", nothing changed.
        statuses = [self.turn_status(session, port) for _ in range(2) for port in ports]
        self.assertEqual(set(statuses), {503}, statuses)
        self.turns_until(session, lambda: all(self.health(port)[1]["database"] == "degraded" for port in ports), 30)
        self.postgres.start()
        # No turn needed: asking for health has each instance try the
        # database again.
        deadline = time.monotonic() + 30
        while not all(self.health(port)[1]["database"] == "ok" for port in ports):
            self.assertLess(time.monotonic(), deadline, "still degraded 30 s after PostgreSQL came back")
            time.sleep(0.2)
        answer = self.chat({"session": session})
        self.assertEqual(answer["session"], session)
        self.assertFalse(answer["new_session"], answer)


if __name__ == "__main__":
    unittest.main()
