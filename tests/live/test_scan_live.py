"""The Linux collector and `shareguard scan` against real processes and real X windows (Xvfb).

Apps are real processes with the target's name (tests/support/fakeapps.py);
windows are real X11 top-level windows. No display means skip locally and
FAIL in CI (tests.support.xsession.require).
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from agent.collectors._linux import LinuxApi, LinuxCollector
from agent.collectors._linux_x11 import X11Watcher, X11Windows
from tests.support.fakeapps import open_window, start_fake_process, stop
from tests.support.waiting import poll
from tests.support.xsession import x_session

pytestmark = [pytest.mark.live, pytest.mark.gui, pytest.mark.timeout(90),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux collector")]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
if not os.path.exists(PYTHON):  # running from an installed tree: the interpreter running the tests
    PYTHON = sys.executable

ICBC = "中国工商银行 - 个人网上银行 - Mozilla Firefox"
SHARE_BAR = "meet.google.com is sharing your screen."


@pytest.fixture
def procs(tmp_path):
    """Start fake apps by name; all stopped at teardown."""
    started = []

    def start(name, *args):
        proc = start_fake_process(name, args, directory=str(tmp_path))
        started.append(proc)
        return proc
    yield start
    for proc in started:
        stop(proc)


@pytest.fixture
def windows():
    """Open real windows; all closed at teardown."""
    opened = []

    def open_(session, title, wm_class="FakeApp", **kw):
        win = open_window(session, title, wm_class, **kw)
        opened.append(win)
        return win
    yield open_
    for win in opened:
        win.close()


def scan_json(session):
    env = dict(session.env, LANG="en_US.UTF-8", SHAREGUARD_COLLECTOR="linux")
    done = subprocess.run([PYTHON, "-m", "agent", "scan", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def share(verdict, app):
    found = [s for s in verdict["shares"] if s["app"] == app]
    return found[0] if found else None


# -- shareguard scan ---------------------------------------------------------------------
def test_scan_alerts_when_rustdesk_session_meets_a_bank_window(xsession, procs, windows):
    cm = procs("rustdesk", "--cm")
    bank = windows(xsession, ICBC, "firefox")
    verdict = scan_json(xsession)
    rustdesk = share(verdict, "rustdesk")
    assert rustdesk is not None and rustdesk["state"] == "sharing" and cm.pid in rustdesk["pids"]
    icbc = [s for s in verdict["sensitive"] if s["id"] == "icbc"]
    assert icbc and bank.pid in icbc[0]["pids"]
    assert verdict["alert"] is True and verdict["level"] == "block"
    assert isinstance(verdict["unavailable"], list)


def test_scan_alerts_on_a_chrome_share_bar(xsession, procs, windows):
    chrome = procs("chrome", "--type=browser")
    windows(xsession, SHARE_BAR, "Google-chrome", pid=chrome.pid)
    windows(xsession, ICBC, "firefox")
    verdict = scan_json(xsession)
    bar = share(verdict, "chrome")
    assert bar is not None and bar["state"] == "sharing" and chrome.pid in bar["pids"]
    assert verdict["alert"] is True


def test_scan_without_a_share_does_not_alert(xsession, procs, windows):
    procs("chrome", "--type=browser")  # a browser that is not sharing
    windows(xsession, ICBC, "firefox")
    verdict = scan_json(xsession)
    assert any(s["id"] == "icbc" for s in verdict["sensitive"])  # the bank is seen...
    # scan sees the whole machine: a remote tool left running by something else shows here
    assert share(verdict, "rustdesk") is None, verdict
    assert verdict["alert"] is False, verdict                    # ...but nothing shares it


def test_scan_dump_replays_to_the_same_verdict(xsession, procs, windows, tmp_path):
    procs("rustdesk", "--cm")
    windows(xsession, ICBC, "firefox")
    dump = tmp_path / "snap.yaml"
    env = dict(xsession.env, LANG="zh_CN.UTF-8")
    done = subprocess.run([PYTHON, "-m", "agent", "scan", "--dump", str(dump)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "中国工商银行" in done.stdout and "正在共享屏幕" in done.stdout  # the zh_CN summary
    replay = subprocess.run([PYTHON, "-m", "agent", "replay", "--json", str(dump)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    verdict = json.loads(replay.stdout.splitlines()[0])
    assert verdict["alert"] is True and share(verdict, "rustdesk")["state"] == "sharing"


# -- the X11 reader on real windows -------------------------------------------------------
def by_title(infos, title):
    found = [w for w in infos if w.title == title]
    assert found, f"{title!r} not among {[w.title for w in infos]}"
    return found[0]


def test_reads_titles_classes_pids_without_a_window_manager(xsession, procs, windows):
    app = procs("ToDesk_Service")
    a = windows(xsession, ICBC, "firefox")
    windows(xsession, "ToDesk 远程协助", "ToDesk", pid=app.pid)
    c = windows(xsession, "unmapped one", "Hidden")
    c.unmap()
    reader = X11Windows(xsession.display)
    try:
        infos, missing = reader.read()
    finally:
        reader.close()
    assert missing == ()
    first = by_title(infos, ICBC)
    assert (first.wm_class, first.pid, first.visible) == ("firefox", a.pid, True)
    assert first.window_id == a.window_id
    second = by_title(infos, "ToDesk 远程协助")
    assert second.pid == app.pid and second.wm_class == "ToDesk"
    assert by_title(infos, "unmapped one").visible is False


def test_minimized_and_foreground_with_openbox(procs, windows):
    with x_session(wm=True) as session:
        a = windows(session, ICBC, "firefox")
        windows(session, "Zoom Meeting", "zoom")
        reader = X11Windows(session.display)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # openbox focuses the newest window
                infos, _ = reader.read()
                if by_title(infos, "Zoom Meeting").foreground:
                    break
                time.sleep(0.05)
            assert by_title(infos, "Zoom Meeting").foreground and not by_title(infos, ICBC).foreground
            a.minimize()
            infos, _ = reader.read()
            bank = by_title(infos, ICBC)
            assert bank.visible is False and bank.pid == a.pid
            # the openbox check window is not an app window
            assert all(w.title != "Openbox" for w in infos)
        finally:
            reader.close()


def test_override_redirect_share_bar_is_listed(xsession, windows):
    bar = windows(xsession, "as_toolbar", "zoom", override_redirect=True)
    border = windows(xsession, "", "cpt_frame_xcb_window", instance="cpt_frame_xcb_window",
                     override_redirect=True)
    reader = X11Windows(xsession.display)
    try:
        infos, _ = reader.read()
    finally:
        reader.close()
    assert by_title(infos, "as_toolbar").pid == bar.pid
    # no name: the title falls back to the WM_CLASS instance so title rules still see it
    assert by_title(infos, "cpt_frame_xcb_window").wm_class == "cpt_frame_xcb_window"
    assert border.pid in [w.pid for w in infos]


def test_a_window_gone_mid_read_is_skipped(xsession, windows):
    gone = windows(xsession, "short-lived", "Tmp")
    reader = X11Windows(xsession.display)
    try:
        assert reader.read()[1] == ()
        gone.close()
        win = reader._disp.create_resource_object("window", gone.window_id)
        assert reader._window_info(win, None) is None  # BadWindow caught, not raised
        assert all(w.title != "short-lived" for w in reader.read()[0])
    finally:
        reader.close()


def test_no_display_is_reported_not_raised():
    infos, missing = X11Windows(":4321").read()
    assert infos == () and missing[0][0] == "windows" and ":4321" in missing[0][1]


def test_watcher_wakes_on_new_window_and_title_change(xsession, windows):
    woke = threading.Event()
    watcher = X11Watcher(woke.set, xsession.display)
    assert watcher.start() is not None
    try:
        time.sleep(0.2)  # let it select its events
        woke.clear()
        win = windows(xsession, "new window", "firefox")
        assert woke.wait(10), "no wake for a new window"
        time.sleep(0.2)
        woke.clear()
        win.set_title(ICBC)
        assert woke.wait(10), "no wake for a title change"
    finally:
        watcher.stop()
    assert not watcher.thread.is_alive()


def test_linux_collector_snapshot_leaves_out_our_own_windows(xsession, procs, windows):
    cm = procs("rustdesk", "--cm")
    ours = windows(xsession, "ShareGuard 警告：中国工商银行", "ShareGuard", pid=os.getpid())
    theirs = windows(xsession, ICBC, "firefox")
    collector = LinuxCollector(LinuxApi(display=xsession.display))
    try:
        snap = collector.snapshot()
    finally:
        collector.close()
    titles = [w.title for w in snap.windows]
    assert ICBC in titles and "ShareGuard 警告：中国工商银行" not in titles
    assert snap.platform == "linux" and snap.time > 0
    assert any(p.pid == cm.pid and p.name == "rustdesk" and "--cm" in p.cmdline for p in snap.processes)
    assert theirs.pid in [w.pid for w in snap.windows] and ours.pid not in [w.pid for w in snap.windows]


# -- events first: only what changed is read -------------------------------------------------
def test_events_name_the_windows_to_read_and_a_quiet_runtime_still_wakes_at_once(xsession, windows):
    """With the watcher running, a title change re-reads that window only; the loop wakes at
    once even though its poll is an hour (no candidate app runs, so it polls slowly)."""
    from agent.engine import Engine
    from agent.runtime import Runtime
    from agent.signatures.loader import load_signatures
    from tests.support.fake_os import FakeProcessTable

    first = windows(xsession, "Notes - editor", "gedit")
    api = LinuxApi(display=xsession.display)
    collector = LinuxCollector(api, processes=FakeProcessTable(), connections=None, lang="en")
    runtime = Runtime(collector, Engine(load_signatures()), (), poll_seconds=3600)
    thread = threading.Thread(target=runtime.run, daemon=True)
    thread.start()
    try:
        assert _wait(lambda: runtime.ticks >= 1)
        assert collector.quiet and runtime.next_wait(runtime.poll_seconds) == 3600
        time.sleep(0.3)  # the watcher has selected its events
        ticks, full = runtime.ticks, api.windows.full_reads
        second = windows(xsession, "new window", "firefox")
        assert _wait(lambda: runtime.ticks > ticks), "a new window did not wake the loop"
        assert _wait(lambda: "new window" in [w.title for w in collector.snapshot().windows])
        assert api.windows.full_reads > full  # windows came: the list was read again
        time.sleep(0.3)
        ticks, full, one_by_one = runtime.ticks, api.windows.full_reads, api.windows.window_reads
        second.set_title(ICBC)
        assert _wait(lambda: runtime.ticks > ticks), "a title change did not wake the loop"
        assert _wait(lambda: ICBC in [w.title for w in collector.snapshot().windows])
        assert api.windows.full_reads == full and api.windows.window_reads > one_by_one
        titles = [w.title for w in collector.snapshot().windows]
        assert "Notes - editor" in titles and first.pid in [w.pid for w in collector.snapshot().windows]
    finally:
        runtime.quit()
        thread.join(15)
    assert not thread.is_alive()


def _wait(predicate, timeout=20.0):
    return poll(predicate, timeout, interval=0.01)
