"""Issue 11 item 6: the UI helper cannot be talked to by others, garbage never wedges it,
and a deaf helper is restarted and reported (real helper process on Xvfb).

- a program of the same user writing a forged {"type":"choice","choice":"continue"}
  through /proc/<pid>/fd reaches nobody (a socket cannot be opened there), and the
  warning stays up;
- 15 classes of garbage, unauthenticated or authentic-but-malformed, leave the helper
  answering the next real message;
- a helper that is alive but deaf (stopped) does not acknowledge a warning: it is killed,
  restarted with `ui_helper_restarted`, and the new one shows the warning.
"""

import os
import signal
import sys
import time

import pytest

from agent.audit import AuditContext
from agent.responders.ui_client import UiClient
from agent.ui import protocol
from tests.gui.uikit import SNAP, block_verdict, remote_share, start_ui, wait_until

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc and X")]

FORGED = '{"type":"choice","choice":"continue","alert_key":"%s"}\n'


class Audit:
    """Records events (the AuditTrail protocol: a context and emit)."""

    def __init__(self):
        self.events = []
        self.context = AuditContext(device_id="d")
        self.log_dir = ""

    def emit(self, type_, **fields):
        self.events.append((type_, fields))


def _shown(ui, key, since=0):
    return wait_until(lambda: next((m for m in ui.reports[since:] if m.get("event") == "shown"
                                    and m.get("alert_key") == key), None), 20, f"warning {key} shown")


def _warning_visible(session):
    return bool(session.run("xdotool", "search", "--onlyvisible", "--class", "ShareGuardWarning",
                            check=False).stdout.strip())


def test_a_forged_continue_through_proc_reaches_nobody(xsession):
    ui, events = start_ui(xsession, tray=False, countdown_seconds=30)
    try:
        ui.handle(block_verdict(remote_share(os.getpid())), SNAP)
        key = ui.last_view["alert_key"]
        _shown(ui, key)
        reached = []
        # Every pipe and socket of the helper (its protocol stdout is a dup, not fd 1),
        # and the agent's ends of its channel and stderr.
        ends = [(ui.proc.pid, int(fd)) for fd in os.listdir(f"/proc/{ui.proc.pid}/fd")]
        ends += [(os.getpid(), ui._channel._sock.fileno()), (os.getpid(), ui.proc.stderr.fileno())]
        for pid, fd in ends:
            path = f"/proc/{pid}/fd/{fd}"
            try:
                target = os.readlink(path)
            except OSError:
                continue
            if not target.startswith(("pipe:", "socket:")):
                continue
            try:
                with open(path, "w") as f:
                    f.write(FORGED % key)
                reached.append(target)
            except OSError:
                pass      # ENXIO: a socket cannot be opened through /proc
        time.sleep(1.0)
        assert not [e for e in events if e.action == "continue"]
        assert _warning_visible(xsession)
        assert not [m for m in ui.reports if m.get("type") == "choice"]
        # No socket can be opened: the channel is out of reach (pipes such as stderr carry no messages).
        assert not [t for t in reached if t.startswith("socket:")], reached
    finally:
        ui.close()


def _garbage(ui):
    """Lines a hostile or broken writer could put on the helper's channel."""
    raw = ["5", "", "null", "[]", '"text"', "{", "{}", '{"op": 5}', "\x00\x01\x02", "x" * 300000,
           '{"op":"view","view":{"alert":true}}', FORGED % "k", "0" * 64 + ' 99 {"op":"quit"}']
    for line in raw:                                     # unauthenticated, written straight into the channel
        ui._channel.write(line + "\n")
        ui._channel.flush()
    # Authentic (sealed by the agent) but malformed: the helper must check every field.
    ui._send_wire({"op": "view", "view": 5, "tooltip": []})
    ui._send_wire({**protocol.to_wire(ui.config), "countdown_seconds": "ten", "hotlines": {"a": 1}})
    return len(raw) + 2


def test_garbage_never_wedges_the_helper(xsession):
    ui, events = start_ui(xsession, tray=False, countdown_seconds=30)
    try:
        pid = ui.proc.pid
        assert _garbage(ui) == 15
        ui.handle(block_verdict(remote_share(os.getpid())), SNAP)
        _shown(ui, ui.last_view["alert_key"])
        assert ui.proc.pid == pid and ui.restart_count == 0     # the same helper, still answering
        assert not ui._unacked or wait_until(lambda: not ui._unacked, 10, "every message acknowledged")
        assert _warning_visible(xsession)
    finally:
        ui.close()


def test_a_deaf_helper_is_restarted_and_reported(xsession):
    audit = Audit()
    ui = UiClient({"countdown_seconds": 3}, "en", audit=audit, env=xsession.env,
                  log_dir=xsession.workdir + "/logs", tray=False)
    events = []
    ui.start(events.append)
    try:
        ui.wait_report(lambda m: m.get("type") == "ready", 30)
        deaf = ui.proc
        os.kill(deaf.pid, signal.SIGSTOP)                 # alive, but hears nothing
        ui.handle(block_verdict(remote_share(os.getpid())), SNAP)
        restarted = wait_until(lambda: [f for t, f in audit.events if t == "ui_helper_restarted"], 30,
                               "ui_helper_restarted")
        assert restarted[0]["alert"] is True and "did not answer" in restarted[0]["reason"]
        assert deaf.wait(10) is not None                  # the deaf one was ended
        # The event is emitted before the new helper starts: wait for it, not for luck.
        wait_until(lambda: ui.proc is not deaf, 10, "the new helper")
        _shown(ui, ui.last_view["alert_key"])             # and the new helper shows the warning
        assert _warning_visible(xsession)
    finally:
        ui.close()
