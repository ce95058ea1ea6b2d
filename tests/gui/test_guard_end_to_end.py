"""The whole guard on a real desktop: real processes, real windows, real collector and engine.

A process named like RustDesk's connection manager (``rustdesk --cm``: an
incoming session is live) runs; then an ICBC page opens. The warning must
come up over the screen, RustDesk must be frozen while it shows, and
"continue" must resume it.
"""

import sys
import time

import psutil
import pytest

from tests.gui.uikit import click_until, live_guard, wait_until
from tests.support import fakeapps

pytestmark = [pytest.mark.gui, pytest.mark.live, pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux collector")]

ICBC = "中国工商银行 - 个人网上银行 - Mozilla Firefox"


def _status(pid):
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "gone"


def test_bank_window_over_live_remote_session_raises_warning_and_freezes_tool(desktop, tmp_path):
    tool = fakeapps.start_fake_process("rustdesk", ["--cm"], directory=str(tmp_path))
    try:
        with live_guard(desktop, "en", countdown_seconds=3) as (runtime, ui, processes):
            assert runtime.last_verdict is None or not runtime.last_verdict.alert
            with fakeapps.open_window(desktop, ICBC, wm_class="Firefox"):
                ui.wait_report(lambda m: m.get("event") == "shown", 20)
                geo = wait_until(lambda: next((m for m in reversed(ui.reports) if m.get("event") == "geometry"
                                               and m["windows"][0]["width"] == 1280), None), 20, "geometry")
                assert wait_until(lambda: _status(tool.pid) == psutil.STATUS_STOPPED, 10, "rustdesk frozen")
                assert "RustDesk" in [s["name"] for s in ui.last_view["blocking"]]
                desktop.run("xdotool", "key", "Escape")
                desktop.run("xdotool", "key", "alt+F4")
                time.sleep(0.8)
                assert desktop.run("xdotool", "search", "--onlyvisible", "--class", "ShareGuardWarning").stdout
                assert not [m for m in ui.reports if m.get("type") == "choice"]
                # After the countdown, "continue" resumes the tool (the engine snoozes the session).
                # Clicked until it takes effect (the countdown may run late on a loaded machine, and
                # a warning shown again restarts it): a "continue" from the helper, then the tool running.
                click_until(desktop, geo["buttons"]["continue"],
                            lambda: [m for m in ui.reports if m.get("choice") == "continue"]
                            and _status(tool.pid) in ("sleeping", "running"), 40, "'continue' resuming rustdesk")
                assert wait_until(lambda: runtime.last_verdict is not None and not runtime.last_verdict.alert,
                                  10, "no alert after continue")
    finally:
        fakeapps.stop(tool)
