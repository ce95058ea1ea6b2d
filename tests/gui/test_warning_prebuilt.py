"""The warning built ahead, hidden, and only filled in on an alert (Xvfb + openbox).

- the hidden build is withdrawn, already full-screen and on top for the window
  manager, and the alert maps those very windows (no second build, one map);
- nothing of a previous alert shows: a second alert with other texts shows only
  its own, a shared-tab line does not outlive its alert, type shrunk for a long
  IT message is full size again for a short one;
- the real helper wakes on its channel: messages written in one go (hello,
  config, an alert) are all handled without any further message; the
  screenshots of a second alert go to tests/artifacts/gui/.

The window-level checks run Tk in a child process (tests/gui/prebuilt_checks.py):
Tk keeps its X connection after its last window, and exits the whole process
when that display's Xvfb goes away at the end of a test.
"""

import os
import socket
import subprocess
import sys

import pytest

from agent.model import SensitiveFinding, ShareFinding, Verdict
from agent.ui import protocol
from agent.ui.channel import TO_AGENT, TO_HELPER, Opener, Sealer, hello_line, new_secret
from tests.gui.prebuilt_checks import REMOTE_VIEW
from tests.gui.uikit import SNAP, block_verdict, calm_verdict, remote_share, start_ui, wait_until
from tests.support.xsession import x_session

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 under Xvfb")]

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "artifacts", "gui")


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _child_env(session):
    env = dict(session.env)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _check(name, lang):
    """Run one scenario of tests/gui/prebuilt_checks.py on a fresh openbox desktop."""
    with x_session(wm=True) as session:
        done = subprocess.run([sys.executable, "-m", "tests.gui.prebuilt_checks", name, lang], cwd=ROOT,
                              env=_child_env(session), capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, f"{name} [{lang}] failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    assert f"ok {name}" in done.stdout


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_hidden_build_is_fullscreen_on_top_and_the_alert_maps_those_windows(lang):
    _check("hidden_build", lang)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_second_alert_shows_only_its_own_texts(lang):
    _check("second_alert", lang)


def test_type_shrunk_for_a_long_message_is_full_size_for_a_short_one():
    """The hidden build is fitted to the texts it had; an alert is fitted to its own from full size."""
    _check("full_size_again", "zh_CN")


def test_helper_handles_every_message_written_in_one_go(xsession):
    """hello, config and an alert arrive in one write; nothing else is sent, and all are handled."""
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-m", "agent.ui.helper"], stdin=theirs.fileno(),
                            stdout=theirs.fileno(), env=_child_env(xsession))
    theirs.close()
    try:
        secret = new_secret()
        sealer, opener = Sealer(secret, TO_HELPER), Opener(secret, TO_AGENT)
        view = dict(REMOTE_VIEW, alert_key="one-go")
        lines = [hello_line(secret)] + [sealer.seal(protocol.to_wire(m)) for m in (
            protocol.Config(lang="en", tray=False, countdown_seconds=10, hotlines=("96110",), custom_message="",
                            help_url="", allow_pause=True, allow_quit=True, log_dir=""),
            protocol.ShowView(view=view, tooltip="ShareGuard"))]
        ours.sendall(("\n".join(lines) + "\n").encode("utf-8"))
        got = []
        stream = ours.makefile("r", encoding="utf-8")

        def read_until_shown():
            while True:
                message = opener.open(stream.readline())
                got.append(message)
                if message.get("event") == "shown":
                    return message
        ours.settimeout(60)
        shown = read_until_shown()
        assert shown["alert_key"] == "one-go"
        assert [m.get("type") for m in got].count("ready") == 1
        assert {m["seq"] for m in got if m.get("type") == "ack"} <= {1, 2}
        ours.shutdown(socket.SHUT_WR)  # end of file: the helper leaves by itself
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        ours.close()


def _tab_share_verdict(pid):
    """A browser sharing the bank's own tab (as docs/screenshots/make_screenshots.py shows it)."""
    share = ShareFinding(app="chromium", name="Chromium", kind="browser", state="sharing", pids=(pid,),
                         session_key=f"chromium:sharing:tab:{pid}", surface="browser")
    bank = SensitiveFinding(id="icbc", name="中国工商银行", name_en="ICBC", category="bank", pids=(pid,),
                            evidence="page-url", site="icbc.com.cn", shared=True)
    return Verdict(alert=True, level="block", shares=(share,), sensitive=(bank,), blocking_shares=("chromium",),
                   actions=("show_block_warning",))


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_real_helper_second_alert_screenshot(desktop, lang):
    """Two alerts in a row from the real helper, a shared tab then a remote session; both pictures
    are saved to be looked at (the second must show nothing of the first)."""
    ui, _ = start_ui(desktop, lang, countdown_seconds=10)
    try:
        ui.handle(_tab_share_verdict(os.getpid()), SNAP)  # with the shared-tab line
        first = ui.last_view["alert_key"]
        ui.wait_report(lambda m: m.get("event") == "geometry" and m.get("alert_key") == first, 20)
        desktop.screenshot(os.path.join(ARTIFACTS, f"warning-first-{lang}.png"))
        ui.handle(calm_verdict(), SNAP)
        wait_until(lambda: not desktop.run("xdotool", "search", "--onlyvisible", "--class", "ShareGuardWarning",
                                           check=False).stdout.strip(), 10, "first warning gone")
        ui.handle(block_verdict(remote_share(os.getpid(), name="RustDesk", app="rustdesk", session="b")), SNAP)
        second = ui.last_view["alert_key"]
        ui.wait_report(lambda m: m.get("event") == "geometry" and m.get("alert_key") == second, 20)
        desktop.screenshot(os.path.join(ARTIFACTS, f"warning-second-{lang}.png"))
        shown = [m for m in ui.reports if m.get("event") == "shown"]
        assert [m["alert_key"] for m in shown] == [first, second]  # each alert mapped once
    finally:
        ui.close()
