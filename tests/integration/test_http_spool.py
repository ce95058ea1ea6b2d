"""A real HTTP collector (http.server in its own process) receives Splunk HEC
batches; with the collector down, events wait in the spool, survive a
SIGKILL of the agent-side sender, and arrive exactly once when it is back.

The sender is a real subprocess (tests/integration/spool_sender.py) using
the production AuditLog -> Sink -> HttpWriter path.
"""

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SENDER = os.path.join(ROOT, "tests", "integration", "spool_sender.py")

SERVER = textwrap.dedent('''\
    import json, os, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    port, out, delay, fail_first = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    state = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["requests"] += 1
            if state["requests"] <= fail_first:
                self.send_response(503); self.end_headers(); return
            dec, i, ids = json.JSONDecoder(), 0, []
            text = body.decode("utf-8")
            while i < len(text):          # HEC: concatenated JSON objects
                while i < len(text) and text[i].isspace():
                    i += 1
                if i >= len(text):
                    break
                obj, i = dec.raw_decode(text, i)
                ids.append(obj)
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps({"auth": self.headers.get("Authorization"), "path": self.path,
                                    "entries": ids}) + "\\n")
                f.flush(); os.fsync(f.fileno())
            time.sleep(delay)
            reply = b'{"text":"Success","code":0}'
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except BrokenPipeError:
                pass   # the sender was SIGKILLed while waiting: expected in one test

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
    ''')


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    def __init__(self, tmp_path, port, delay=0.0, fail_first=0):
        self.out = tmp_path / "received.jsonl"
        script = tmp_path / "collector.py"
        script.write_text(SERVER)
        self.proc = subprocess.Popen([sys.executable, str(script), str(port), str(self.out), str(delay),
                                      str(fail_first)])
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "collector did not start"
                time.sleep(0.02)

    def batches(self):
        """Complete batches received so far.

        The collector process appends one line per batch while we read: a
        last line without its newline is still being written, so it is left
        for the next read (every other line must parse).
        """
        if not self.out.exists():
            return []
        text = self.out.read_text(encoding="utf-8")
        complete = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line]

    def ids(self):
        return [e["event"]["event_id"] for b in self.batches() for e in b["entries"]]

    def wait_for(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        while len(set(self.ids())) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.ids()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def _sender(tmp_path, port, mode, count=0, batch=100):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, SENDER, mode, f"http://127.0.0.1:{port}/services/collector/event",
                             str(tmp_path / "spool"), str(tmp_path / "sent_ids.txt"), str(count), str(batch)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)


def _wait_line(proc, word, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if word in line:
            return line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail(f"sender never said {word}: {proc.stderr.read().decode()}")


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_hec_batches_reach_a_real_http_server(tmp_path):
    port = _free_port()
    collector = Collector(tmp_path, port, fail_first=2)   # two 503s first: retried, not lost
    try:
        sender = _sender(tmp_path, port, "emit-and-drain", count=250, batch=100)
        _wait_line(sender, "DRAINED")
        sender.wait(20)
        ids = collector.wait_for(250)
    finally:
        collector.stop()
    sent = (tmp_path / "sent_ids.txt").read_text().split()
    assert len(sent) == 250
    assert collections.Counter(ids) == collections.Counter(sent)
    batches = collector.batches()
    assert all(b["auth"] == "Splunk test-token" and b["path"] == "/services/collector/event" for b in batches)
    assert max(len(b["entries"]) for b in batches) <= 100
    entry = batches[0]["entries"][0]
    assert entry["source"] == "shareguard" and entry["sourcetype"] == "shareguard:event"
    assert isinstance(entry["time"], float) and entry["host"] == entry["event"]["hostname"]
    assert entry["event"]["schema"] == 1


@pytest.mark.slow
def test_1000_events_spooled_while_down_survive_sigkill_and_arrive_exactly_once(tmp_path):
    port = _free_port()          # nothing listens yet: the collector is down
    sender = _sender(tmp_path, port, "emit", count=1000, batch=100)
    _wait_line(sender, "SPOOLED")
    _kill(sender)                # SIGKILL: no clean shutdown, open segment left behind
    sent = (tmp_path / "sent_ids.txt").read_text().split()
    assert len(set(sent)) == 1000
    spooled = sum(len(open(tmp_path / "spool" / n, "rb").read().splitlines())
                  for n in os.listdir(tmp_path / "spool") if n.endswith((".open", ".ready")))
    assert spooled == 1000

    collector = Collector(tmp_path, port)
    try:
        started = time.monotonic()
        restarted = _sender(tmp_path, port, "drain")
        ids = collector.wait_for(1000)
        recovery = time.monotonic() - started
        _wait_line(restarted, "DRAINED")
        restarted.terminate()
        restarted.wait(10)
        time.sleep(0.3)          # anything sent late would show up as a duplicate
        ids = collector.ids()
    finally:
        collector.stop()
    counts = collections.Counter(ids)
    assert set(counts) == set(sent), f"missing {len(set(sent) - set(counts))}"
    assert max(counts.values()) == 1, f"duplicates: {sum(c - 1 for c in counts.values())}"
    print(f"\nspool recovery: 1000 events delivered {recovery:.2f}s after the restarted sender started")


@pytest.mark.slow
def test_sigkill_during_delivery_loses_nothing_and_duplicates_are_detectable(tmp_path):
    """Killing the sender while the collector is answering can resend the one
    batch in flight (HTTP is at-least-once); nothing is lost, and every
    duplicate carries the same event_id, so the collector can drop it."""
    port = _free_port()
    collector = Collector(tmp_path, port, delay=0.05)
    try:
        sender = _sender(tmp_path, port, "emit", count=1000, batch=50)
        _wait_line(sender, "SPOOLED")
        deadline = time.monotonic() + 60
        while len(collector.ids()) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        _kill(sender)
        restarted = _sender(tmp_path, port, "drain")
        _wait_line(restarted, "DRAINED")
        restarted.terminate()
        restarted.wait(10)
        ids = collector.ids()
    finally:
        collector.stop()
    sent = set((tmp_path / "sent_ids.txt").read_text().split())
    counts = collections.Counter(ids)
    assert set(counts) == sent
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates <= 50, "at most the one batch in flight may be resent"
    print(f"\nkill during delivery: {duplicates} duplicate(s), all with the same event_id")
