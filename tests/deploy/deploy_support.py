"""Helpers for the deployment tests: the paths CMake passes in, `backtalk`
child processes, a small RFC 6455 WebSocket client and a cooperative person
who answers the bot until it reaches an outcome.

Standard library only, so the tests run wherever python3 does."""

import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import json

SOURCE_DIR = os.environ.get("BACKTALK_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BINARY = os.environ.get("BACKTALK_BINARY", "")

COMPLAINT = "my lower back hurts since I moved house"


def source_path(*parts):
    return os.path.join(SOURCE_DIR, *parts)


def require_binary(test_case):
    if not BINARY or not os.access(BINARY, os.X_OK):
        test_case.fail("BACKTALK_BINARY does not name the built backtalk binary: %r" % BINARY)


class TempDir:
    """A fresh directory, removed with its contents."""

    def __init__(self, prefix="backtalk-deploy-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def run_backtalk(args, timeout=30, env=None, cwd=None):
    """Runs `backtalk ARGS...` to the end; returns the CompletedProcess with
    stdout and stderr as text."""
    return subprocess.run([BINARY] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd or SOURCE_DIR, stdin=subprocess.DEVNULL)


class Server:
    """`backtalk serve ARGS...` in the background. ARGS must make it listen on
    a loopback port 0 (or a port the caller picked); the bound port is read
    from its "backtalk listening on" line. stop() sends SIGTERM and waits.
    `program` replaces this checkout's binary with a command that ends in
    another backtalk (one that execs it, so the signals reach the server)."""

    LISTENING = re.compile(r"backtalk listening on http://[^\s]+:(\d+)")

    def __init__(self, args, env=None, cwd=None, start_timeout=30, program=None):
        self.log_file = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen((program or [BINARY]) + list(args), stdout=subprocess.PIPE,
                                        stderr=self.log_file, stdin=subprocess.DEVNULL, text=True,
                                        env=env, cwd=cwd or SOURCE_DIR)
        self.port = self._read_port(start_timeout)

    def _read_port(self, timeout):
        found = {}

        def read_lines():
            for line in self.process.stdout:
                match = self.LISTENING.search(line)
                if match:
                    found["port"] = int(match.group(1))
                    break

        reader = threading.Thread(target=read_lines, daemon=True)
        reader.start()
        reader.join(timeout)
        if "port" not in found:
            self.stop()
            raise RuntimeError("backtalk serve did not start:\n" + self.log())
        return found["port"]

    def log(self):
        """What the server wrote to stderr (all of it, once stopped)."""
        if self.log_file.closed:
            return self.final_log
        self.log_file.seek(0)
        return self.log_file.read()

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        if not self.log_file.closed:
            self.final_log = self.log()
            self.log_file.close()
        return self.process.returncode


def free_port():
    """A loopback port nobody listens on right now, for programs (nginx) that
    cannot be told to pick one themselves."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on 127.0.0.1:%d after %d s" % (port, timeout))


class WebSocketClosed(Exception):
    def __init__(self, code, reason):
        super().__init__("WebSocket closed: %s %s" % (code, reason))
        self.code = code
        self.reason = reason


class WebSocket:
    """A client side of RFC 6455: text frames, masked, with ping answered by
    pong. Each operation is bounded by `timeout` seconds."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0

    def __init__(self, port, host_header, path="/ws", origin=None, tls_context=None, server_name=None,
                 timeout=15):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = tls_context.wrap_socket(raw, server_hostname=server_name) if tls_context else raw
        self.timeout = timeout
        self.sock.settimeout(timeout)
        self.buffer = b""
        self.pings_answered = 0
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: " + host_header, "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if origin:
            lines.append("Origin: " + origin)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                self.headers[name.strip().lower()] = value.strip()
        if self.status != 101:
            self.sock.close()
            raise RuntimeError("WebSocket upgrade refused: " + status_line)
        expected = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if self.headers.get("sec-websocket-accept") != expected:
            self.sock.close()
            raise RuntimeError("bad Sec-WebSocket-Accept: %r" % self.headers.get("sec-websocket-accept"))

    def _read_until(self, marker):
        while marker not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed during the handshake")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _read_exactly(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(max(4096, count - len(self.buffer)))
            if not chunk:
                raise ConnectionError("connection closed mid-frame")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read_frame(self):
        first, second = self._read_exactly(2)
        fin, opcode = first & 0x80, first & 0x0F
        if second & 0x80:
            raise ConnectionError("the server masked a frame")
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read_exactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read_exactly(8))[0]
        return bool(fin), opcode, self._read_exactly(length)

    def send(self, obj):
        self._send_frame(self.TEXT, json.dumps(obj).encode())

    def receive_text(self):
        """The next whole text message; answers pings on the way."""
        message = b""
        while True:
            fin, opcode, payload = self._read_frame()
            if opcode == self.PING:
                self._send_frame(self.PONG, payload)
                self.pings_answered += 1
            elif opcode == self.CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self._send_frame(self.CLOSE, payload[:2])
                raise WebSocketClosed(code, payload[2:].decode(errors="replace"))
            elif opcode in (self.TEXT, self.CONTINUATION):
                message += payload
                if fin:
                    return message.decode()
            elif opcode != self.PONG:
                raise ConnectionError("unexpected opcode %d" % opcode)

    def receive(self):
        return json.loads(self.receive_text())

    def stay_quiet(self, seconds):
        """Sends nothing for `seconds`, answering pings; returns how many came.
        Anything else the server sends in that time is an error."""
        pings_before = self.pings_answered
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    _, opcode, payload = self._read_frame()
                except socket.timeout:
                    break
                if opcode == self.PING:
                    self._send_frame(self.PONG, payload)
                    self.pings_answered += 1
                elif opcode == self.CLOSE:
                    raise WebSocketClosed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None,
                                          payload[2:].decode(errors="replace"))
                else:
                    raise ConnectionError("unexpected frame (opcode %d) on a quiet connection" % opcode)
        finally:
            self.sock.settimeout(self.timeout)
        return self.pings_answered - pings_before

    def receive_turn(self):
        """Objects up to and including the one with end_of_turn: true."""
        objects = []
        while True:
            obj = self.receive()
            objects.append(obj)
            if obj.get("end_of_turn") is True:
                return objects

    def close(self):
        """A normal close; waits for the server's answer."""
        try:
            self._send_frame(self.CLOSE, struct.pack("!H", 1000))
            while True:
                _, opcode, _ = self._read_frame()
                if opcode == self.CLOSE:
                    break
        except (OSError, ConnectionError):
            pass
        finally:
            self.sock.close()


TYPED_ANSWERS = {"pain_location": "lower back", "duration": "3 days", "onset": "gradually",
                 "trigger": "lifting boxes", "age": "35", "pain_score": "4"}


def answer_to(reply):
    """What a cooperative person sends next: "no" to yes/no questions,
    plausible answers to the others, the complaint when nothing is asked."""
    quick = reply.get("quick_replies") or []
    if any(option.get("id") == "no" for option in quick):
        return {"type": "choice", "id": "no"}
    asking = reply.get("asking")
    if asking in TYPED_ANSWERS:
        return {"type": "message", "text": TYPED_ANSWERS[asking]}
    if quick:
        return {"type": "choice", "id": quick[0]["id"]}
    if asking:
        return {"type": "message", "text": "no"}
    return {"type": "message", "text": COMPLAINT}


def last_reply(turn):
    replies = [obj for obj in turn if obj.get("type") == "reply"]
    if not replies:
        raise AssertionError("a turn without a reply: %r" % turn)
    return replies[-1]


# Between two answers: a person is slower than this, and it keeps a scripted
# client under the server's default 5 messages a second per connection.
ANSWER_PAUSE_SECONDS = 0.25


def converse_to_outcome(ws, max_turns=40):
    """Opens a conversation, tells the complaint and answers until a reply
    carries a triage. Returns (session id, outcome reply, every turn)."""
    ws.send({"type": "start"})
    first = ws.receive_turn()
    sessions = [obj for obj in first if obj.get("type") == "session"]
    if not sessions:
        raise AssertionError("no session object in the first turn: %r" % first)
    turns = [first]
    ws.send({"type": "message", "text": COMPLAINT})
    for _ in range(max_turns):
        turn = ws.receive_turn()
        turns.append(turn)
        for obj in turn:
            if obj.get("type") == "reply" and isinstance(obj.get("triage"), dict):
                return sessions[0]["session"], obj, turns
        time.sleep(ANSWER_PAUSE_SECONDS)
        ws.send(answer_to(last_reply(turn)))
    raise AssertionError("no outcome after %d answers; last turn: %r" % (max_turns, turns[-1]))


def tls_client_context(ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def http_request(port, method, path, host_header, body=b"", tls_context=None, server_name=None, timeout=15,
                 source_address=None, extra_headers=None):
    """One request on a fresh connection, from `source_address` (another
    loopback address, so a proxy counts it as another client) when given;
    returns (status, headers dict with lower-case names, body bytes as sent,
    possibly chunked). `extra_headers`: further request headers."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                   source_address=(source_address, 0) if source_address else None)
    sock = tls_context.wrap_socket(raw, server_hostname=server_name) if tls_context else raw
    with sock:
        sock.settimeout(timeout)
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (method, path, host_header)
        head += "".join("%s: %s\r\n" % item for item in (extra_headers or {}).items())
        if body:
            head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        try:
            sock.sendall(head.encode() + b"\r\n" + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a server may answer (413) and close before reading the whole body
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def http_get(port, path, host_header, tls_context=None, server_name=None, timeout=15):
    return http_request(port, "GET", path, host_header, tls_context=tls_context, server_name=server_name,
                        timeout=timeout)
