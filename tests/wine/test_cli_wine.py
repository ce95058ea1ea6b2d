"""``shareguard scan`` and ``shareguard run --console`` in a Windows Python under Wine.

Real Win32 windows in processes named Zoom.exe (the real share toolbar class and
title), chrome.exe (a bank page) and AnyDesk.exe; the agent runs its real Windows
collector, engine and console. Wine 8 needs pipes for standard streams (never a
plain file): every run here captures through pipes (tests/support/wine.py).

An English Windows is ``LC_ALL=C.UTF-8`` for Wine (code page 1252: a redirected
stream cannot encode Chinese), a Chinese one ``zh_CN.UTF-8`` (code page 936).
"""

import json
import queue
import subprocess
import threading
import time

from tests.support import wine

BANK = ("chrome.exe", "招商银行 - 个人网银 - Google Chrome", "Chrome_WidgetWin_1")
ZOOM_SHARE_TOOLBAR = ("Zoom.exe", "Screen sharing meeting controls", "ZPFloatToolbarClass")
ENGLISH_WINDOWS, CHINESE_WINDOWS = "C.UTF-8", "zh_CN.UTF-8"


def _cli(env, environ, *args, lang=ENGLISH_WINDOWS, harness=()):
    return env.run(wine.HARNESS, *harness, "cli", *args, env=dict(environ, LC_ALL=lang), timeout=120)


def test_scan_json_alerts_on_a_bank_window_next_to_a_real_zoom_share_toolbar(windesk):
    env, _session, environ = windesk
    with wine.win_apps(env, environ, BANK, ZOOM_SHARE_TOOLBAR) as (chrome, zoom):
        res = _cli(env, environ, "scan", "--json")
    assert res.returncode == 0, wine.decode(res.stderr)[-3000:]
    # Issue 12 bug 1: redirected on an English Windows (cp1252) this crashed with
    # UnicodeEncodeError on the Chinese bank name; the output is UTF-8 now.
    verdict = json.loads(res.stdout.decode("utf-8"))
    assert verdict["alert"] is True and verdict["level"] == "block"
    [zoom_share] = [s for s in verdict["shares"] if s["app"] == "zoom"]
    assert zoom_share["state"] == "sharing" and zoom_share["pids"] == [zoom.pid]
    assert "window-class:ZPFloatToolbarClass" in zoom_share["evidence"]
    [bank] = verdict["sensitive"]
    assert bank["id"] == "cmb" and bank["pids"] == [chrome.pid]


def test_scan_text_is_utf8_on_a_chinese_windows_too(windesk):
    env, _session, environ = windesk
    with wine.win_apps(env, environ, BANK, ZOOM_SHARE_TOOLBAR):
        res = _cli(env, environ, "scan", lang=CHINESE_WINDOWS)
    assert res.returncode == 0, wine.decode(res.stderr)[-3000:]
    text = res.stdout.decode("utf-8")  # code page 936 (GBK) bytes would not decode
    assert "招商银行" in text and "结论：警报" in text, text


def test_scan_without_a_share_is_not_an_alert(windesk):
    """Precision: Zoom running with only its meeting window, next to the bank, is not a share."""
    env, _session, environ = windesk
    with wine.win_apps(env, environ, BANK, ("Zoom.exe", "Zoom Meeting", "ZPContentViewWndClass"),
                       ("AnyDesk.exe", "AnyDesk", "ad_win#2")):
        res = _cli(env, environ, "scan", "--json")
    verdict = json.loads(res.stdout.decode("utf-8"))
    assert verdict["alert"] is False, verdict
    assert {s["app"]: s["state"] for s in verdict["shares"]}.get("anydesk") == "running"


class _Lines:
    """Lines of a running process's stdout, read on a thread."""

    def __init__(self, proc):
        self.seen = []
        self._q = queue.Queue()
        threading.Thread(target=lambda: [self._q.put(raw.decode("utf-8", "replace").rstrip())
                                         for raw in proc.stdout], daemon=True).start()

    def wait_for(self, needle, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no line with {needle!r} within {timeout}s; got:\n" + "\n".join(self.seen))


def _run_console(env, environ, *harness):
    # Without cryptography too: issue 12 bug 3 (cryptography 42+ does not load under Wine 8).
    return subprocess.Popen(env.command(wine.HARNESS, *harness, "cli", "run", "--console", "--poll", "1"),
                            env=dict(environ, LC_ALL=ENGLISH_WINDOWS), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_run_console_alerts_when_a_bank_window_opens_next_to_a_real_share_toolbar(windesk):
    env, _session, environ = windesk
    with wine.win_apps(env, environ, ZOOM_SHARE_TOOLBAR):
        guard = _run_console(env, environ)
        try:
            lines = _Lines(guard)
            lines.wait_for("Now: Zoom is sharing your screen", 90)
            assert not [line for line in lines.seen if "ALERT" in line]
            with wine.win_apps(env, environ, BANK):
                alert = lines.wait_for("ALERT", 60)
            assert "Zoom" in alert and "China Merchants Bank" in alert
            lines.wait_for("Alert over", 60)
        finally:
            guard.kill()
            guard.wait(timeout=20)


def test_run_console_starts_when_cryptography_cannot_load(windesk):
    """Issue 12 bug 3: no bundle configured, so the guard needs no cryptography."""
    env, _session, environ = windesk
    guard = _run_console(env, environ, "--without-cryptography")
    try:
        lines = _Lines(guard)
        lines.wait_for("screen", 90)  # a first state line ("No screen sharing..."): the loop runs
        assert guard.poll() is None, wine.decode(guard.stderr.read())[-3000:]
    finally:
        guard.kill()
        guard.wait(timeout=20)
