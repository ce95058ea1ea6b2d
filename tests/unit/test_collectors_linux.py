"""Process table, sockets, self-filter and backend selection (real processes, no display)."""

import os
import socket
import subprocess
import sys
import time

import psutil
import pytest

import agent.collectors as collectors
from agent.collectors import CollectorUnavailable, NullCollector, candidates, collector_class, get_collector
from agent.collectors.connections import read_connections, system_connections
from agent.collectors.processes import ProcessTable, pick_name, read_process
from agent.collectors.self_filter import drop_own_windows, is_ui_helper, own_pids
from agent.model import ProcessInfo, WindowInfo
from tests.support.fakeapps import start_fake_process, stop

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux comm rules")


# -- name selection -------------------------------------------------------------
@pytest.mark.parametrize("comm, exe, cmdline, expected", [
    # comm cut at 15: the exe or argv[0] file name that starts with it is the real name
    ("UltraViewer_Des", "/opt/uv/UltraViewer_Desktop", ("/opt/uv/UltraViewer_Desktop",), "UltraViewer_Desktop"),
    ("UltraViewer_Des", None, ("./UltraViewer_Desktop", "-x"), "UltraViewer_Desktop"),
    ("ToDesk_Session_", "/opt/todesk/bin/ToDesk_Session_X (deleted)", (), "ToDesk_Session_X"),
    ("SunloginClient_", None, ("/usr/local/sunlogin/bin/SunloginClient_Helper --mod=x",), "SunloginClient_Helper"),
    # cut, but nothing longer starts with it (exe protected): keep what we have
    ("UltraViewer_Des", None, (), "UltraViewer_Des"),
    ("abcdefghijklmno", "/usr/bin/python3.11", ("python3", "x.py"), "abcdefghijklmno"),
    # not cut: comm wins even when exe differs (scripts, interpreters, renamed threads)
    ("rustdesk", "/usr/bin/dash", ("/bin/sh", "/usr/bin/rustdesk"), "rustdesk"),
    ("python3", "/usr/bin/python3.11", ("python3", "-m", "agent"), "python3"),
    # no comm at all
    ("", "/usr/bin/zoom", (), "zoom"),
    ("", None, (), ""),
])
def test_pick_name(comm, exe, cmdline, expected):
    assert pick_name(comm, exe, cmdline, limit=15) == expected


def test_pick_name_windows_names_are_never_cut():
    assert pick_name("UltraViewer_Des", "C:\\x\\UltraViewer_Desktop.exe", (), limit=None) == "UltraViewer_Des"


@linux_only
def test_long_names_survive_the_15_char_comm(tmp_path):
    proc = start_fake_process("UltraViewer_Desktop", ["--service"], directory=str(tmp_path))
    try:
        with open(f"/proc/{proc.pid}/comm") as f:
            assert f.read().strip() == "UltraViewer_Des"  # the kernel really cut it
        info = read_process(psutil.Process(proc.pid))
        assert info.name == "UltraViewer_Desktop"
        assert info.exe == str(tmp_path / "UltraViewer_Desktop")
        assert "--service" in info.cmdline and info.ppid == os.getpid()
    finally:
        stop(proc)


# -- incremental table --------------------------------------------------------------
def _by_pid(infos):
    return {p.pid: p for p in infos}


def test_table_sees_new_and_vanished_processes_and_reads_each_once(tmp_path):
    table = ProcessTable()
    table.refresh()
    proc = start_fake_process("rustdesk", ["--cm"], directory=str(tmp_path))
    try:
        before = table.full_reads
        seen = _by_pid(table.refresh())
        assert seen[proc.pid].name == "rustdesk" and "--cm" in seen[proc.pid].cmdline
        assert table.full_reads > before  # at least the new one was read
        reads = table.full_reads
        again = _by_pid(table.refresh())
        assert again[proc.pid] == seen[proc.pid]
        # Nothing new started by us in between: at most a few unrelated newcomers were read.
        assert table.full_reads - reads < len(again) // 2
    finally:
        stop(proc)
    assert proc.pid not in _by_pid(table.refresh())


def test_zombies_are_left_out(tmp_path):
    proc = start_fake_process("anydesk", directory=str(tmp_path))
    table = ProcessTable()
    assert proc.pid in _by_pid(table.refresh())
    proc.stdin.close()  # the shell's `read` sees EOF and exits; we do not reap it yet
    deadline = time.monotonic() + 10
    while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.02)
    assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
    assert proc.pid not in _by_pid(table.refresh())          # known, then turned zombie
    assert proc.pid not in _by_pid(ProcessTable().refresh())  # first seen as a zombie
    proc.wait()


def test_access_denied_fields_are_none(monkeypatch, tmp_path):
    proc = start_fake_process("teamviewer", ["--daemon"], directory=str(tmp_path))
    try:
        def denied(self, *a, **k):
            raise psutil.AccessDenied(self.pid, "test")
        monkeypatch.setattr(psutil.Process, "exe", denied)
        monkeypatch.setattr(psutil.Process, "cmdline", denied)
        monkeypatch.setattr(psutil.Process, "username", denied)
        info = _by_pid(ProcessTable().refresh())[proc.pid]
        assert info.name == "teamviewer" and info.exe is None and info.cmdline == () and info.user is None
        assert info.ppid == os.getpid()
    finally:
        stop(proc)


def test_process_vanishing_mid_read_is_skipped(monkeypatch, tmp_path):
    proc = start_fake_process("todesk", directory=str(tmp_path))
    try:
        real = psutil.Process.cmdline

        def vanish(self):
            if self.pid == proc.pid:
                raise psutil.NoSuchProcess(self.pid)
            return real(self)
        monkeypatch.setattr(psutil.Process, "cmdline", vanish)
        infos = _by_pid(ProcessTable().refresh())
        assert proc.pid not in infos and os.getpid() in infos
    finally:
        stop(proc)


def test_pids_that_are_gone_before_the_first_read_are_skipped():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    infos = _by_pid(ProcessTable().refresh([dead.pid, os.getpid()]))
    assert list(infos) == [os.getpid()]


def test_whole_process_protected_keeps_pid_with_empty_name(monkeypatch):
    def denied(self):
        raise psutil.AccessDenied(self.pid, "test")
    monkeypatch.setattr(psutil.Process, "status", denied)
    (info,) = ProcessTable().refresh([os.getpid()])
    assert info.pid == os.getpid() and info.name == "" and info.create_time is not None


# -- sockets ---------------------------------------------------------------------------
@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock
    sock.close()


def _mine(conns, port):
    return [c for c in conns if c.local == f"127.0.0.1:{port}"]


def test_connections_list_our_listening_socket(listener):
    port = listener.getsockname()[1]
    conns, missing = read_connections([read_process(psutil.Process(os.getpid()))])
    assert missing == ()
    (conn,) = _mine(conns, port)
    assert conn.proto == "tcp" and conn.status == "LISTEN" and conn.local_port == port and conn.remote == ""
    if os.geteuid() == 0 or sys.platform.startswith("linux"):
        assert conn.pid == os.getpid()


def test_connections_fall_back_to_own_processes_when_refused(monkeypatch, listener):
    def refused(*a, **k):
        raise psutil.AccessDenied(msg="need root")
    monkeypatch.setattr(psutil, "net_connections", refused)
    port = listener.getsockname()[1]
    me = read_process(psutil.Process(os.getpid()))
    other = ProcessInfo(pid=1, name="init", user="someone-else")
    conns, missing = system_connections([me, other], user=me.user)
    assert missing[0][0] == "connections" and "need root" in missing[0][1]
    (conn,) = _mine(conns, port)
    assert conn.pid == os.getpid() and conn.status == "LISTEN"


# -- ShareGuard's own windows --------------------------------------------------------------
def test_ui_helper_command_lines():
    assert is_ui_helper(("/usr/bin/python3", "-m", "agent.ui.helper", "--lang", "zh_CN"))
    assert is_ui_helper(("python", "-magent.ui.helper"))
    assert not is_ui_helper(("python", "-m", "agent.ui"))
    assert not is_ui_helper(("agent.ui.helper",))


def test_own_windows_are_dropped():
    procs = [ProcessInfo(pid=501, name="python3", cmdline=("python3", "-m", "agent.ui.helper"), user="alice"),
             ProcessInfo(pid=502, name="python3", cmdline=("python3", "-m", "agent.ui.helper"), user="bob"),
             ProcessInfo(pid=503, name="firefox", user="alice")]
    pids = own_pids(procs, user="alice", self_pid=500)
    assert pids == {500, 501}
    wins = [WindowInfo("ShareGuard 警告 中国工商银行", pid=501), WindowInfo("ShareGuard", pid=500),
            WindowInfo("中国工商银行 - Firefox", pid=503), WindowInfo("no pid")]
    assert [w.title for w in drop_own_windows(wins, pids)] == ["中国工商银行 - Firefox", "no pid"]


# -- backend selection -----------------------------------------------------------------------
def test_platform_order():
    assert candidates("linux", {}) == ["linux"]
    assert candidates("win32", {}) == ["windows"]
    assert candidates("darwin", {}) == ["darwin"]
    assert candidates("freebsd13", {}) == ["linux"]


def test_env_override_wins():
    assert candidates("win32", {"SHAREGUARD_COLLECTOR": "null"}) == ["null"]
    coll = get_collector(environ={"SHAREGUARD_COLLECTOR": "null"})
    assert isinstance(coll, NullCollector)
    snap = coll.snapshot()
    assert snap.processes == () and snap.unavailable[0][0] == "collector"


@linux_only
def test_linux_backend_class():
    cls = collector_class("linux", {})
    assert cls.__name__ == "LinuxCollector" and cls.platform == "linux" and cls.HAS_EVENTS


def test_unknown_override_names_the_choices():
    with pytest.raises(CollectorUnavailable) as info:
        collector_class("linux", {"SHAREGUARD_COLLECTOR": "beos"})
    assert "beos" in str(info.value) and "linux, windows, darwin, null" in str(info.value)


def test_all_import_errors_are_reported_together(monkeypatch):
    def broken(msg):
        def load():
            raise ImportError(msg)
        return load
    monkeypatch.setitem(collectors.BACKENDS, "linux", broken("No module named 'Xlib'"))
    monkeypatch.setitem(collectors.BACKENDS, "windows", broken("No module named 'ctypes.wintypes'"))
    monkeypatch.setattr(collectors, "ORDER", (("", ("linux", "windows")),))
    with pytest.raises(CollectorUnavailable) as info:
        collector_class("linux", {})
    assert set(info.value.errors) == {"linux", "windows"}
    text = str(info.value)
    assert "No module named 'Xlib'" in text and "ctypes.wintypes" in text


def test_fallback_takes_the_first_backend_that_imports(monkeypatch):
    def broken():
        raise ImportError("nope")
    monkeypatch.setitem(collectors.BACKENDS, "linux", broken)
    monkeypatch.setattr(collectors, "ORDER", (("", ("linux", "null")),))
    assert collector_class("linux", {}) is NullCollector


def test_exec_without_a_new_pid_is_read_again(tmp_path):
    # fork, then exec: same pid, same create_time, another program (how
    # `rustdesk --server` starts `rustdesk --cm`). The table must notice.
    target = tmp_path / "rustdesk"
    target.write_bytes(open("/bin/sh", "rb").read())
    target.chmod(0o755)
    proc = subprocess.Popen(["/bin/sh", "-c", f"read _; exec '{target}' -c 'read _ || :' --cm"],
                            stdin=subprocess.PIPE)
    try:
        table = ProcessTable()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            info = _by_pid(table.refresh([proc.pid])).get(proc.pid)
            if info and info.cmdline:
                break
        assert info.name == "sh"
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        while time.monotonic() < deadline:
            info = _by_pid(table.refresh([proc.pid]))[proc.pid]
            if info.name == "rustdesk" and "--cm" in info.cmdline:
                break
            time.sleep(0.005)
        assert info.name == "rustdesk" and "--cm" in info.cmdline
    finally:
        stop(proc)


# -- the composed Linux collector without a display ------------------------------------------
@linux_only
def test_linux_collector_without_display_still_sees_processes(monkeypatch):
    from agent.collectors import _linux
    from agent.collectors._linux_wayland import PipeWireCapture
    calls = []

    def fake_sockets(processes, user):
        calls.append(1)
        return (), ()
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    no_pipewire = PipeWireCapture(command="sg-no-such-pw-dump")
    coll = _linux.LinuxCollector(_linux.LinuxApi(display=":4321", capture=no_pipewire), connections=fake_sockets)
    try:
        snap = coll.snapshot()
        coll.snapshot()
    finally:
        coll.close()
    assert snap.platform == "linux" and any(p.pid == os.getpid() for p in snap.processes)
    sources = dict(snap.unavailable)
    assert snap.windows == () and ":4321" in sources["windows"] and "capture" in sources
    assert len(calls) == 1  # the second snapshot within a second reuses the sockets
    coll = _linux.LinuxCollector(_linux.LinuxApi(display=":4321", capture=no_pipewire),
                                 connections=fake_sockets, pace={"connections": 0})
    coll.snapshot()
    coll.snapshot()
    coll.close()
    assert len(calls) == 3


@linux_only
def test_procfs_sockets_equal_psutils_for_the_same_processes(listener):
    from agent.collectors.connections import procfs_connections, to_connection

    client = socket.create_connection(listener.getsockname())
    served, _ = listener.accept()
    v6 = socket.socket(socket.AF_INET6)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        v6.bind(("::1", 0))
        v6.listen()
        udp.bind(("127.0.0.1", 0))
        me = ProcessInfo(pid=os.getpid(), name="python3")
        ours = set(procfs_connections([me]))
        reference = {to_connection(c) for c in psutil.net_connections("inet") if c.pid == os.getpid()}
        assert ours == reference and len(ours) >= 5
        assert {c.status for c in ours} >= {"LISTEN", "ESTABLISHED", ""}
    finally:
        for s in (client, served, v6, udp):
            s.close()


# -- pw-dump off the detection thread -------------------------------------------------------------
def test_a_slow_pw_dump_never_holds_up_a_snapshot(tmp_path):
    """After the first read, a stale answer is returned at once while pw-dump runs again aside."""
    import stat as stat_mod

    from agent.collectors._linux_wayland import PipeWireCapture

    gate, runs = tmp_path / "gate", tmp_path / "runs"
    fixture = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "pw-dump", "gnome-sharing.json")
    script = tmp_path / "pw-dump"
    # Each run is counted, then waits until the test opens the gate; the second run prints the cast.
    script.write_text(f"#!/bin/sh\necho x >> '{runs}'\nif [ $(wc -l < '{runs}') -gt 1 ]; then\n"
                      f"  while [ ! -e '{gate}' ]; do sleep 0.01; done; cat '{fixture}'\nelse echo '[]'; fi\n")
    script.chmod(script.stat().st_mode | stat_mod.S_IXUSR)
    cap = PipeWireCapture(command=str(script), min_interval=0, background=True)
    assert cap.read() == ((), ())  # the first read waits for its answer
    assert cap.read() == ((), ())  # stale: answered at once, a second run starts aside
    deadline = time.monotonic() + 10
    while (not runs.exists() or runs.read_text().count("x") < 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runs.read_text().count("x") == 2 and cap.read() == ((), ())  # still running: still the old answer
    gate.touch()
    deadline = time.monotonic() + 10
    while not cap.read()[0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cap.read()[0][0].active


def test_a_failing_pw_dump_is_retried_slowly(tmp_path):
    from agent.collectors._linux_wayland import PipeWireCapture

    cap = PipeWireCapture(command=str(tmp_path / "no-such-pw-dump"), min_interval=1.0)
    facts, missing = cap.read()
    assert facts == () and missing and cap.pace["pw-dump"] == PipeWireCapture.RETRY_SECONDS
