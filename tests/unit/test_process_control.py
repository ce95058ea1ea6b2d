"""ProcessController against real processes: freeze with children, resume, end, safety."""

import logging
import os
import subprocess
import sys
import time

import psutil
import pytest

from agent.model import Snapshot, Verdict
from agent.responders.process_control import ProcessController

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /bin/sh process trees")

SNAP = Snapshot(platform="linux")


def _fake_remote_tool(tmp_path, name="ToDesk", ignore_term=False):
    """A real process named like a remote tool, with one child (like a helper it spawns)."""
    script = tmp_path / name
    trap = "trap '' TERM\n" if ignore_term else ""
    script.write_text(f"#!/bin/sh\n{trap}sleep 300 &\nwait\n")
    script.chmod(0o755)
    proc = subprocess.Popen([str(script)])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        p = psutil.Process(proc.pid)
        if p.name() == name and p.children():
            return proc
        time.sleep(0.02)
    raise AssertionError("fake remote tool did not start its child")


def _status(pid):
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "gone"


def _wait_status(pid, want, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _status(pid) in want:
            return _status(pid)
        time.sleep(0.02)
    return _status(pid)


class Audit:
    def __init__(self):
        self.events = []

    def emit(self, type, **fields):
        self.events.append((type, fields))


@pytest.fixture
def tool(tmp_path):
    proc = _fake_remote_tool(tmp_path)
    child = psutil.Process(proc.pid).children()[0].pid
    yield proc, child
    for pid in (proc.pid, child):
        try:
            psutil.Process(pid).resume()
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    proc.wait(timeout=5)


def test_freeze_suspends_tool_and_children_and_resumes_when_dropped(tool, caplog):
    caplog.set_level(logging.INFO, logger="agent.responders.process_control")
    proc, child = tool
    audit = Audit()
    pc = ProcessController(audit=audit)
    pc.handle(Verdict(alert=True, level="block", freeze_pids=(proc.pid,)), SNAP)
    assert _wait_status(proc.pid, (psutil.STATUS_STOPPED,)) == psutil.STATUS_STOPPED
    assert _wait_status(child, (psutil.STATUS_STOPPED,)) == psutil.STATUS_STOPPED
    pc.handle(Verdict(alert=True, level="block", freeze_pids=(proc.pid,)), SNAP)  # idempotent
    pc.handle(Verdict(alert=False, level="none"), SNAP)
    assert _wait_status(proc.pid, ("sleeping", "running")) in ("sleeping", "running")
    assert _wait_status(child, ("sleeping", "running")) in ("sleeping", "running")
    # One audit event per process frozen and resumed (tool and child), not per verdict.
    kinds = [kind for kind, _ in audit.events]
    assert kinds.count("process_frozen") == 2 and kinds.count("process_resumed") == 2
    assert {f["pid"] for kind, f in audit.events if kind == "process_frozen"} == {proc.pid, child}


def test_close_resumes_everything(tool):
    proc, child = tool
    pc = ProcessController()
    pc.handle(Verdict(alert=True, level="block", freeze_pids=(proc.pid,)), SNAP)
    assert _wait_status(child, (psutil.STATUS_STOPPED,)) == psutil.STATUS_STOPPED
    pc.close()
    assert _wait_status(child, ("sleeping", "running")) in ("sleeping", "running")


def test_end_terminates_a_frozen_tool_and_reports_it(tool):
    proc, child = tool
    reported = []
    pc = ProcessController(grace_seconds=2, on_ended=reported.append)
    pc.handle(Verdict(alert=True, level="block", freeze_pids=(proc.pid,)), SNAP)
    pc.handle(Verdict(alert=False, level="none", end_pids=(proc.pid,)), SNAP)
    proc.wait(timeout=5)
    assert _wait_status(child, ("gone", "zombie")) in ("gone", "zombie")
    names = {r["name"] for r in reported[0]}
    assert names == {"ToDesk", "sleep"}
    assert {r["how"] for r in reported[0]} == {"terminated"}
    # The same pids again (the engine repeats end_pids) do nothing twice.
    assert pc.end((proc.pid,)) == []


def test_end_kills_what_ignores_terminate(tmp_path):
    proc = _fake_remote_tool(tmp_path, "rustdesk", ignore_term=True)
    pc = ProcessController(grace_seconds=0.5)
    results = pc.end((proc.pid,))
    proc.wait(timeout=5)
    assert {r["how"] for r in results} == {"killed"}


def test_never_touches_itself_its_parent_or_init():
    pc = ProcessController()
    assert pc.protected(psutil.Process(os.getpid())) == "ShareGuard itself"
    assert pc.protected(psutil.Process(os.getppid())) == "a parent of ShareGuard"
    assert pc.protected(psutil.Process(1)) == "system process"
    # A protected root protects its whole tree (pid 1's tree is every process).
    assert pc._tree(1) == [] and pc._tree(os.getppid()) == []
    pc.handle(Verdict(alert=True, level="block", freeze_pids=(os.getpid(),)), SNAP)
    assert _status(os.getpid()) != psutil.STATUS_STOPPED
    assert pc.frozen == {os.getpid(): []}
