"""Issue 11 item 8: every audit event lost to a fault is counted durably and reported
by the sink that lost it once it delivers again (docs/events.md, "What can be lost").

Faults: a full disk (ENOSPC injected into the real file writer), a write that stops
mid-line, a real TCP syslog peer that accepts but never reads, a queue still full at
close, and a SIGKILL right after emit() (a real process).
"""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from agent.audit import AuditContext, AuditLog
from agent.audit.losses import LossLedger
from agent.sinks.base import MemoryWriter, Sink
from agent.sinks.file import RotatingFileWriter
from agent.sinks.serializers import Rfc5424, json_line
from agent.sinks.syslog import TcpWriter
from tests.support.waiting import poll

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CTX = AuditContext(device_id="dev-1", hostname="pc1", user="alice")


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]      # every line must be a whole event


def _reported(events, sink):
    return sum(e["count"] for e in events if e["type"] == "events_dropped" and e["sink"] == sink)


def _wait(condition, timeout=20.0):
    return poll(condition, timeout)


class DiskFull:
    """os.write for the file writer: ENOSPC while ``full``; ``partial`` writes half a line first."""

    def __init__(self):
        self.full = True
        self.partial = False

    def __call__(self, fd, data):
        if self.partial:
            self.partial = False
            os.write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)


def _file_log(tmp_path, fault):
    writer = RotatingFileWriter(str(tmp_path / "log" / "events.jsonl"))
    writer._os_write = fault
    audit = AuditLog(CTX, [Sink("file#1", json_line, writer)], ledger=LossLedger(str(tmp_path / "state")))
    return audit, tmp_path / "log" / "events.jsonl"


def test_disk_full_losses_are_reported_in_the_file_once_there_is_room(tmp_path):
    fault = DiskFull()
    audit, path = _file_log(tmp_path, fault)
    for i in range(50):
        audit.emit("first_seen", app=f"app{i}")
    assert audit.flush(10)
    fault.full = False                    # space freed
    audit.emit("agent_started", pid=1, platform="linux")
    assert audit.flush(10)
    audit.close()
    events = _lines(path)
    assert _reported(events, "file#1") == 50
    assert [e["type"] for e in events if e["type"] != "events_dropped"] == ["agent_started"]
    assert audit.dropped == 50


def test_a_write_cut_off_mid_line_does_not_swallow_the_next_event(tmp_path):
    fault = DiskFull()
    fault.full, fault.partial = False, True
    audit, path = _file_log(tmp_path, fault)
    audit.emit("first_seen", app="torn")
    assert audit.flush(10)
    audit.emit("first_seen", app="next")
    audit.close()
    events = _lines(path)                 # raises if a line holds a fragment
    assert [e["app"] for e in events if e["type"] == "first_seen"] == ["next"]
    assert _reported(events, "file#1") == 1


class DeafPeer:
    """A real TCP syslog collector that accepts connections but reads nothing until told to."""

    def __init__(self):
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.reading = threading.Event()
        self.data = {}
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        self.reading.wait()
        buf = self.data.setdefault(id(conn), bytearray())
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf.extend(chunk)

    def events(self):
        """Whole RFC 6587 frames of every connection (a frame cut off by a timeout is not whole)."""
        out = []
        for buf in list(self.data.values()):
            data, i = bytes(buf), 0
            while True:
                space = data.find(b" ", i)
                if space < 0:
                    break
                n = int(data[i:space])
                frame = data[space + 1: space + 1 + n]
                if len(frame) < n:
                    break
                out.append(json.loads(frame[frame.index(b"\xef\xbb\xbf") + 3:]))
                i = space + 1 + n
        return out

    def close(self):
        self.server.close()
        for c in self.conns:
            c.close()


def _syslog_log(peer, state):
    writer = TcpWriter("127.0.0.1", peer.port, send_timeout=0.3)
    return AuditLog(CTX, [Sink("syslog#1", Rfc5424(), writer)], queue_size=100, ledger=LossLedger(state))


def test_a_syslog_peer_that_never_reads_loses_nothing_uncounted_across_a_restart(tmp_path):
    peer = DeafPeer()
    state = str(tmp_path / "state")
    try:
        first = _syslog_log(peer, state)
        for i in range(6000):
            first.emit("first_seen", app=f"app{i}")
        first.close(timeout=2)            # the peer still reads nothing: the queue is abandoned
        assert first.dropped > 0
        peer.reading.set()                # the collector comes back; the agent restarts
        second = _syslog_log(peer, state)
        second.emit("agent_started", pid=2, platform="linux")

        def accounted():
            events = peer.events()
            delivered = len([e for e in events if e["type"] == "first_seen"])
            return delivered + _reported(events, "syslog#1")
        # Every one of the 6000 is either delivered or reported lost; an event being
        # sent at the instant of close may be both (counted lost, yet it arrived).
        assert _wait(lambda: accounted() >= 6000), accounted()
        assert accounted() <= 6001
        assert _wait(lambda: any(e["type"] == "agent_started" for e in peer.events()))
        second.close()
    finally:
        peer.close()


KILLED = textwrap.dedent('''\
    import sys, threading
    from agent.audit import AuditContext, AuditLog
    from agent.audit.losses import LossLedger
    from agent.sinks.base import Sink, Writer
    from agent.sinks.serializers import json_line

    class Stuck(Writer):
        def write(self, data, event):
            threading.Event().wait()

    audit = AuditLog(AuditContext(device_id="d"), [Sink("file#1", json_line, Stuck())],
                     ledger=LossLedger(sys.argv[1]))
    for i in range(300):
        audit.emit("first_seen", app="app%d" % i)
    print("EMITTED", flush=True)
    threading.Event().wait()
    ''')


def test_events_queued_when_the_agent_is_killed_are_reported_at_the_next_start(tmp_path):
    state = str(tmp_path / "state")
    proc = subprocess.Popen([sys.executable, "-c", KILLED, state], stdout=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.stdout.readline().strip() == b"EMITTED"
    proc.send_signal(signal.SIGKILL)      # right after emit(): 300 events in memory only
    proc.wait(10)
    memory = MemoryWriter()
    audit = AuditLog(CTX, [Sink("file#1", json_line, memory)], ledger=LossLedger(state))
    assert _wait(lambda: _reported(memory.events, "file#1") > 0)
    audit.close()
    [report] = [e for e in memory.events if e["type"] == "events_dropped"]
    assert report["count"] == 300 and "killed" in report["reason"]
    # Reported once: the next start has nothing left to report.
    again = MemoryWriter()
    AuditLog(CTX, [Sink("file#1", json_line, again)], ledger=LossLedger(state)).close()
    assert [e for e in again.events if e["type"] == "events_dropped"] == []


def test_a_spool_write_cut_off_mid_line_loses_only_that_event(tmp_path):
    from agent.sinks.http import Spool
    spool = Spool(str(tmp_path / "spool"), batch_size=10)
    fault = DiskFull()
    fault.full, fault.partial = False, True
    spool._os_write = fault
    with pytest.raises(OSError):
        spool.append(b'{"n": 1}')
    spool.append(b'{"n": 2}')
    spool.seal_if_due(force=True)
    [segment] = spool.pending()
    assert spool.read(segment) == [{"n": 2}]
    spool.close()
