"""Stream evidence, live: a real process named like a remote tool sends over loopback.

The process is a real Python interpreter started through a link named ``ToDesk`` (so the kernel
and psutil call it ToDesk, as the real tool's process on Linux). It connects to a local receiver
and sends either a screen-sized stream (about 300 KB/s: ~10 KB frames, 30 a second, the size of a
compressed 1280x720 desktop that changes) or keep-alives (64 bytes a second). The real Linux
collector with the real rate meter (agent/collectors/iorate.py; socket bytes from the kernel's
per-socket counters read with ``ss``, agent/collectors/socket_bytes.py) feeds the engine with the
shipped signatures.
"""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from agent.collectors._linux import LinuxCollector
from agent.engine import Engine
from agent.engine.interest import ProcessInterest
from agent.model import Snapshot
from agent.signatures.loader import load_signatures
from tests.support.xsession import require_programs

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.timeout(120),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux counters")]

SIGS = load_signatures()

SENDER = """
import socket, sys, time
frame, every = int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
while True:
    s.sendall(b"\\x00" * frame)
    time.sleep(every)
"""


@pytest.fixture
def receiver():
    """A loopback sink that reads and drops everything."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def drain():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: [None for _ in iter(lambda: c.recv(1 << 16), b"")],
                             daemon=True).start()
    threading.Thread(target=drain, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def todesk(tmp_path):
    """Start the fake ToDesk with ``(port, frame bytes, seconds between frames)``; stopped at teardown."""
    require_programs("ss")
    started = []
    link = tmp_path / "ToDesk"
    # The real interpreter (not a wrapper script such as a pyenv shim): Debian's, else ours.
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else os.path.realpath(sys.executable)
    os.symlink(python, link)

    def start(port, frame, every):
        proc = subprocess.Popen([str(link), "-c", SENDER, str(port), str(frame), str(every)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        return proc
    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


def grade(proc, seconds=6):
    """Snapshots every half second for ``seconds``; the ToDesk finding of the last one."""
    collector = LinuxCollector(connections=None)
    collector.set_interest(ProcessInterest(SIGS, "linux"))  # as the agent does: remote tools are measured
    engine = Engine(SIGS)
    try:
        deadline = time.monotonic() + seconds
        while True:
            snap = collector.snapshot()
            if time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    finally:
        collector.close()
    mine = tuple(p for p in snap.processes if p.pid == proc.pid)
    assert mine and mine[0].name == "ToDesk", [p.name for p in mine]
    verdict = engine.evaluate(Snapshot(platform="linux", time=snap.time, processes=mine))
    (finding,) = [s for s in verdict.shares if s.app == "todesk"]
    return finding, mine[0].io_rate


def test_a_screen_sized_stream_from_the_tool_is_a_session(receiver, todesk):
    proc = todesk(receiver, 10_000, 1 / 30)
    finding, rate = grade(proc)
    assert rate is not None and rate.seconds >= 3 and rate.sent > 100_000, rate
    assert finding.state == "in_session" and finding.evidence[0].startswith("stream:"), finding


def test_keep_alives_from_the_same_tool_are_only_running(receiver, todesk):
    proc = todesk(receiver, 64, 1.0)
    finding, rate = grade(proc)
    assert rate is not None and rate.sent < 1_000, rate
    assert finding.state == "running" and not any(e.startswith("stream:") for e in finding.evidence), finding
