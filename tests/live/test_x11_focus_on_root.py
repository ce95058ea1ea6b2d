"""Issue 11 item 5: with no EWMH window manager (bare Xvfb), focus falls to the root
window once the focused window closes (as after the first warning); reading windows
and `shareguard scan` must carry on, and a second remote session is still seen."""

import json
import os
import subprocess
import sys
import time

import pytest
from Xlib import X
from Xlib import display as xdisplay

from agent.collectors._linux_x11 import X11Windows
from tests.support.fakeapps import open_window, start_fake_process, stop

pytestmark = [pytest.mark.live, pytest.mark.gui, pytest.mark.timeout(90),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11")]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ICBC = "中国工商银行 - 个人网上银行 - Mozilla Firefox"


def _focus_falls_to_root(session):
    """Focus a window that reverts focus to its parent, close it: focus is the root now."""
    disp = xdisplay.Display(session.display)
    root = disp.screen().root
    warning = open_window(session, "ShareGuard warning", "ShareGuard")
    disp.set_input_focus(disp.create_resource_object("window", warning.window_id), X.RevertToParent,
                         X.CurrentTime)
    disp.sync()
    warning.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        focus = disp.get_input_focus().focus
        if not isinstance(focus, int) and focus.id == root.id:
            break
        time.sleep(0.05)
    assert not isinstance(focus, int) and focus.id == root.id, focus
    return disp


def test_reading_windows_goes_on_when_focus_is_the_root_window(xsession):
    bank = open_window(xsession, ICBC, "firefox")
    try:
        disp = _focus_falls_to_root(xsession)
        reader = X11Windows(xsession.display)
        for _ in range(3):                   # every tick, not only the first
            windows, unavailable = reader.read()
            assert unavailable == ()
            assert [w.title for w in windows if w.title == ICBC] == [ICBC]
            assert not any(w.foreground for w in windows)   # the root is nobody's window
        reader.close()
        disp.close()
    finally:
        bank.close()


def test_scan_sees_a_second_remote_session_with_focus_on_the_root(xsession, tmp_path):
    bank = open_window(xsession, ICBC, "firefox")
    rustdesk = None
    try:
        _focus_falls_to_root(xsession).close()
        rustdesk = start_fake_process("rustdesk", ("--cm",), directory=str(tmp_path))
        env = dict(xsession.env, LANG="en_US.UTF-8", SHAREGUARD_COLLECTOR="linux", PYTHONPATH=ROOT)
        done = subprocess.run([sys.executable, "-m", "agent", "scan", "--json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        verdict = json.loads(done.stdout)
        assert [s["state"] for s in verdict["shares"] if s["app"] == "rustdesk"] == ["sharing"]
        assert verdict["alert"] is True
        assert not [u for u in verdict["unavailable"] if u["source"] == "windows"]
    finally:
        bank.close()
        if rustdesk is not None:
            stop(rustdesk)
