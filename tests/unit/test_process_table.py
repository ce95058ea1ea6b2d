"""The incremental process table equals a full read: churn, zombies, access denied, pid reuse.

The incremental table lists ``/proc`` and reads only what is new
(agent/collectors/processes.py). After each round of changes made here
(processes started, ended, turned zombie, exec'd, read as another user, a
pid forced to be reused) the processes this test owns must look exactly as a
fresh table, which reads everything, sees them. Other processes on the
machine change concurrently (other test runs), so only ours are compared.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import psutil
import pytest

from agent.collectors.processes import ProcessTable, ProcfsLister
from tests.support.fakeapps import start_fake_process, stop
from tests.support.other_user import fork_as
from tests.support.xsession import require

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="procfs lister")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class NeedsArgs:
    """An interest like the signatures': rustdesk's arguments matter, nothing is a candidate."""

    def kind(self, name):
        return "remote_control" if name == "rustdesk" else None

    def needs_cmdline(self, name):
        return name == "rustdesk"


def _ours(infos, pids):
    return {p.pid: p for p in infos if p.pid in pids}


def _assert_same(table, pids, interest=None):
    incremental = _ours(table.refresh(), pids)
    fresh = ProcessTable(watch_exits=False)
    fresh.interest = interest
    full = _ours(fresh.refresh(), pids)
    assert incremental == full
    return incremental


def _wait_zombie(pid):
    deadline = time.monotonic() + 10
    while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.01)
    assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.parametrize("watch_exits", [True, False], ids=["pidfd", "sweep-only"])
@pytest.mark.parametrize("interest", [None, NeedsArgs()], ids=["everything", "needed-args-only"])
def test_incremental_equals_full_across_churn_and_zombies(tmp_path, monkeypatch, watch_exits, interest):
    # An hour-ahead clock: nothing is young, so turning zombie must be noticed
    # by the exit watch (pidfd) or, without it, by a forced sweep below.
    table = ProcessTable(watch_exits=watch_exits, clock=lambda: time.time() + 3600)
    table.interest = interest
    opened = []  # pids the table read in full (psutil.Process is built only for that)

    class Recording(psutil.Process):
        def __init__(self, pid=None):
            opened.append(pid)
            super().__init__(pid)

    live, zombies, ended = {}, {}, []
    try:
        for round_ in range(4):
            for i in range(6):
                p = start_fake_process("rustdesk" if i % 3 == 0 else f"tool{round_}x{i}", ["--cm", str(i)],
                                       directory=str(tmp_path))
                live[p.pid] = p
            # Only pids held by our live processes or unreaped zombies are compared:
            # a reaped pid may be taken at once by another program on this machine.
            seen = _assert_same(table, live.keys() | zombies.keys(), interest)
            assert set(seen) == set(live)
            young = list(live.values())[-6:]
            for p in young[:2]:  # end cleanly (reaped)
                stop(p)
                ended.append((p.pid, seen[p.pid].create_time))
                del live[p.pid]
            for p in young[2:4]:  # turn zombie: exited, not reaped
                p.stdin.close()
                _wait_zombie(p.pid)
                zombies[p.pid] = live.pop(p.pid)
            if not watch_exits:
                table.recheck(zombies)  # what the sweep does within SWEEP_SECONDS
            seen = _assert_same(table, live.keys() | zombies.keys(), interest)
            assert set(seen) == set(live)
            now = {p.pid: p for p in table.refresh()}
            assert all(pid not in now or now[pid].create_time != born for pid, born in ended)
            opened.clear()
            with monkeypatch.context() as patch:
                patch.setattr(psutil, "Process", Recording)
                incremental = _ours(table.refresh(), live.keys() | zombies.keys())
            assert not (live.keys() | zombies.keys()) & set(opened)  # nothing of ours changed: nothing read
            assert incremental == seen
        for p in zombies.values():
            p.wait()  # reaped: their pids vanish
        assert set(_assert_same(table, live.keys(), interest)) == set(live)
        if interest is not None:
            full = _ours(table.refresh(), live.keys())
            assert all(bool(info.cmdline) == (info.name == "rustdesk") for info in full.values())
    finally:
        for p in list(live.values()) + list(zombies.values()):
            stop(p)
        table.close()


def test_a_young_process_that_execs_is_read_again(tmp_path):
    target = tmp_path / "rustdesk"
    shutil.copy2("/bin/sh", target)
    proc = subprocess.Popen(["/bin/sh", "-c", f"read _; exec '{target}' -c 'read _ || :' --cm"],
                            stdin=subprocess.PIPE)
    table = ProcessTable()
    try:
        assert _ours(table.refresh(), {proc.pid})[proc.pid].name == "sh"
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            info = _ours(table.refresh(), {proc.pid})[proc.pid]
            if info.name == "rustdesk" and "--cm" in info.cmdline:
                break
            time.sleep(0.01)
        assert info.name == "rustdesk" and "--cm" in info.cmdline
        _assert_same(table, {proc.pid})
    finally:
        stop(proc)
        table.close()


def test_access_denied_processes_read_as_another_user_equal_a_full_read(tmp_path):
    """As ``nobody``, root's processes refuse exe (AccessDenied): both tables must agree anyway."""
    require(os.geteuid() == 0, "root (to read the process table as another user)")
    read_end, write_end = os.pipe()
    go_r, go_w = os.pipe()
    roots = [start_fake_process("teamviewer", ["--daemon"], directory=str(tmp_path))]

    def as_nobody():
        table = ProcessTable()
        table.refresh()
        os.write(write_end, b"r")
        os.read(go_r, 1)  # the parent changed the root processes meanwhile
        pids = {int(x) for x in os.read(go_r, 4096).decode().split()}
        incremental = _ours(table.refresh(), pids)
        full = _ours(ProcessTable(watch_exits=False).refresh(), pids)
        denied = all(p.exe is None for p in full.values())
        os.write(write_end, json.dumps({"equal": incremental == full, "denied": denied,
                                        "seen": sorted(full)}).encode())
        return 0

    child = fork_as(65534, as_nobody)
    try:
        assert os.read(read_end, 1) == b"r"
        stop(roots.pop())
        roots += [start_fake_process("anydesk", ["--service"], directory=str(tmp_path)) for _ in range(3)]
        os.write(go_w, b"g" + " ".join(str(p.pid) for p in roots).encode())
        os.close(go_w)
        result = json.loads(os.read(read_end, 65536))
        assert result["equal"] and result["denied"] and result["seen"] == sorted(p.pid for p in roots)
    finally:
        os.waitpid(child, 0)
        for p in roots:
            stop(p)


def test_forced_pid_reuse_in_a_new_pid_namespace():
    """ns_last_pid makes the next process get a pid that just ended: its /proc inode is new."""
    require(os.geteuid() == 0, "root (a new pid namespace and ns_last_pid)")
    require(shutil.which("unshare") is not None, "unshare (util-linux)")
    done = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m",
                           "tests.support.pid_reuse"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and len(lines) == 2, done.stdout + done.stderr
    assert {line["watch_exits"] for line in lines} == {True, False}
    for line in lines:
        assert line["reused"] and line["inode_changed"] and line["equal"]
        assert (line["before"], line["after"]) == ("first_tool", "second_tool")


def test_listing_gives_the_proc_inode_as_identity():
    listed = ProcfsLister().list()
    assert listed[os.getpid()] == os.stat(f"/proc/{os.getpid()}").st_ino
    assert ProcfsLister().quick(os.getpid()) == psutil.Process().name()[:15]
