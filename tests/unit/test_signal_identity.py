"""Issue 11 item 9: freeze and stop hit only the process the snapshot saw, and never the desktop.

- a pid reused by an unrelated process (forced with /proc/sys/kernel/ns_last_pid) gets no
  SIGSTOP and no SIGTERM: identity (create_time) is checked at the moment of signalling;
- a compositor / portal / session process is never signalled, and the engine does not name
  gnome-shell when the user stops an OS-level PipeWire share;
- console mode really freezes (its log and console line say "frozen").
"""

import io
import os
import subprocess
import sys
import time

import psutil
import pytest

from agent.model import ProcessInfo, Snapshot, Verdict
from agent.responders import signalling
from agent.responders.process_control import ProcessController
from tests.support.fakeapps import start_fake_process, stop
from tests.support.xsession import require
from tests.unit.test_replay import run_replay

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process tricks")


class Audit:
    def __init__(self):
        self.events = []

    def emit(self, type, **fields):
        self.events.append((type, fields))


def _status(pid):
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "gone"


def _settled(pid, seconds=0.3):
    """The status after giving a wrongly sent signal time to land."""
    time.sleep(seconds)
    return _status(pid)


def _spawn_with_pid(pid):
    """Start `sleep` as pid ``pid`` (root: the kernel hands out ns_last_pid + 1 next)."""
    for _ in range(200):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
        proc = subprocess.Popen(["sleep", "300"])
        if proc.pid == pid:
            return proc
        proc.kill()
        proc.wait()
    pytest.fail(f"could not get pid {pid} again")


@pytest.fixture
def reused_pid():
    """(snapshot naming a process that has ended, the unrelated process now holding its pid)."""
    require(os.geteuid() == 0 and os.access("/proc/sys/kernel/ns_last_pid", os.W_OK),
            "forcing a pid to be reused needs root and /proc/sys/kernel/ns_last_pid")
    old = start_fake_process("ToDesk")
    pid = old.pid
    snap = Snapshot(platform="linux", processes=(
        ProcessInfo(pid=pid, name="ToDesk", create_time=psutil.Process(pid).create_time()),))
    stop(old)
    time.sleep(0.2)      # the new process starts measurably later (create_time has clock-tick resolution)
    new = _spawn_with_pid(pid)
    yield snap, new
    new.kill()
    new.wait()


def test_a_reused_pid_is_neither_frozen_nor_ended(reused_pid):
    snap, new = reused_pid
    audit = Audit()
    pc = ProcessController(audit=audit, grace_seconds=0.2)
    pc.handle(Verdict(alert=True, level="block", freeze_pids=(new.pid,)), snap)
    assert _settled(new.pid) != psutil.STATUS_STOPPED
    pc.handle(Verdict(alert=False, level="warning", end_pids=(new.pid,)), snap)
    assert new.poll() is None and _settled(new.pid) not in ("gone", psutil.STATUS_ZOMBIE)
    assert ("process_freeze_failed", {"pid": new.pid, "reason": "pid reused by another process"}) in audit.events
    assert not [e for e in audit.events if e[0] in ("process_frozen", "process_ended")]


def test_signalling_refuses_a_process_that_is_not_the_one_meant():
    proc = subprocess.Popen(["sleep", "300"])
    try:
        started = psutil.Process(proc.pid).create_time()
        with pytest.raises(signalling.PidReused):
            signalling.send(proc.pid, started - 10.0, "stop")
        assert _settled(proc.pid, 0.1) != psutil.STATUS_STOPPED
        signalling.send(proc.pid, started, "stop")      # the right identity: delivered
        assert _settled(proc.pid, 0.1) == psutil.STATUS_STOPPED
        signalling.send(proc.pid, started, "cont")
    finally:
        proc.kill()
        proc.wait()
    with pytest.raises(psutil.NoSuchProcess):
        signalling.send(proc.pid if psutil.pid_exists(proc.pid) is False else 2 ** 22 + 1, None, "term")


@pytest.mark.parametrize("name", ["gnome-shell", "xdg-desktop-portal-gnome", "pipewire", "Xwayland"])
def test_compositor_portal_and_session_processes_are_never_signalled(name):
    proc = start_fake_process(name)
    try:
        pc = ProcessController(grace_seconds=0.2)
        snap = Snapshot(platform="linux", processes=(ProcessInfo(pid=proc.pid, name=name),))
        pc.handle(Verdict(alert=True, level="block", freeze_pids=(proc.pid,)), snap)
        assert _settled(proc.pid) != psutil.STATUS_STOPPED
        assert pc.end((proc.pid,)) == [] and proc.poll() is None
        assert "is the desktop" in pc.protected(psutil.Process(proc.pid)) or "ending it" in pc.protected(
            psutil.Process(proc.pid))
    finally:
        stop(proc)


def test_replay_stop_sharing_on_an_os_pipewire_share_spares_gnome_shell(tmp_path):
    status, lines, _ = run_replay(tmp_path, """\
        platform: linux
        steps:
          - processes: [{pid: 900, name: gnome-shell}, {pid: 950, name: firefox}]
            windows: [{pid: 950, title: 支付宝 - 网上支付 安全快速！ — Mozilla Firefox}]
            capture: [{source: pipewire, pid: 900, active: true, detail: meta-screen-cast-src}]
            events: [{action: stop_sharing}]
          - processes: [{pid: 900, name: gnome-shell}, {pid: 950, name: firefox}]
            windows: [{pid: 950, title: 支付宝 - 网上支付 安全快速！ — Mozilla Firefox}]
            capture: [{source: pipewire, pid: 900, active: true, detail: meta-screen-cast-src}]
        """)
    assert status == 0
    assert 900 not in lines[0]["end_pids"]
    assert any("not ending gnome-shell (900)" in r for r in lines[0]["reasons"])
    # gnome-shell is still there in the next step: the share is still seen.
    assert "os" in [s["app"] for s in lines[1]["shares"]]


def test_console_mode_really_freezes(tmp_path, monkeypatch):
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    from agent.app import build_app

    app = build_app(console=True, policy_path=str(tmp_path / "none.yaml"), out=io.StringIO())
    tool = start_fake_process("ToDesk")
    try:
        snap = Snapshot(platform="linux", processes=(
            ProcessInfo(pid=tool.pid, name="ToDesk", create_time=psutil.Process(tool.pid).create_time()),))
        verdict = Verdict(alert=True, level="block", freeze_pids=(tool.pid,))
        for worker in app.runtime.workers:
            worker.responder.handle(verdict, snap)
        assert _settled(tool.pid, 0.1) == psutil.STATUS_STOPPED
    finally:
        for worker in app.runtime.workers:
            worker.responder.close()   # as the runtime does at shutdown: what was frozen is resumed
        app.close()
        assert _settled(tool.pid, 0.1) != psutil.STATUS_STOPPED
        stop(tool)
