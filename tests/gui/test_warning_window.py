"""The blocking warning on a real desktop (Xvfb + openbox + trayer + dunst).

A real process named like a remote tool and a real bank window are on
screen; the verdict the engine gives for them is fed to the UI client and
the process controller exactly as the runtime does.
"""

import time

import psutil
import pytest

from agent.model import UserEvent
from agent.responders.process_control import ProcessController
from tests.gui.uikit import (
    SNAP,
    active_window,
    block_verdict,
    calm_verdict,
    click,
    click_until,
    is_viewable,
    remote_share,
    stacking,
    start_ui,
    wait_until,
)
from tests.support import fakeapps

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def _status(pid):
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "gone"


@pytest.fixture
def scene(desktop):
    """Desktop + a running 'ToDesk' + an open ICBC window + the UI and process control."""
    tool = fakeapps.start_fake_process("ToDesk")
    bank = fakeapps.open_window(desktop, "中国工商银行 - 个人网上银行", wm_class="BankApp")
    ui, events = start_ui(desktop, "en", countdown_seconds=3)
    pc = ProcessController(grace_seconds=1, protect=ui.helper_pids)
    yield desktop, tool, ui, events, pc
    pc.close()
    ui.close()
    bank.close()
    fakeapps.stop(tool)


def _show(ui, pc, verdict):
    ui.handle(verdict, SNAP)
    pc.handle(verdict, SNAP)


def _geometry(ui, key):
    return wait_until(lambda: next((m for m in reversed(ui.reports) if m.get("event") == "geometry"
                                    and m.get("alert_key") == key and m["windows"][0]["width"] == 1280
                                    and m["windows"][0]["height"] == 800), None), 20, "warning geometry")


def test_warning_covers_screen_on_top_freezes_tool_and_ignores_escape_and_alt_f4(scene):
    session, tool, ui, events, pc = scene
    verdict = block_verdict(remote_share(tool.pid))
    _show(ui, pc, verdict)
    key = ui.last_view["alert_key"]
    geo = _geometry(ui, key)
    win = geo["windows"][0]
    assert (win["x"], win["y"], win["width"], win["height"]) == (0, 0, 1280, 800)
    # The WM-managed (client) window carries our WM_CLASS.
    found = session.run("xdotool", "search", "--class", "ShareGuardWarning").stdout.split()
    wid = next(w for w in stacking(session) if str(w) in found)
    wait_until(lambda: stacking(session) and stacking(session)[-1] == wid, 10, "warning on top of the stack")
    wait_until(lambda: active_window(session) == wid, 10, "warning to have the focus")
    state = session.run("xprop", "-id", str(wid), "_NET_WM_STATE").stdout
    assert "_NET_WM_STATE_FULLSCREEN" in state and "_NET_WM_STATE_ABOVE" in state
    assert _status(tool.pid) == psutil.STATUS_STOPPED

    session.run("xdotool", "key", "Escape")
    session.run("xdotool", "key", "alt+F4")
    session.run("xdotool", "key", "ctrl+w")
    time.sleep(1.0)
    assert is_viewable(session, wid)
    assert stacking(session)[-1] == wid
    assert not [m for m in ui.reports if m.get("type") == "choice"]
    assert _status(tool.pid) == psutil.STATUS_STOPPED
    # Minimizing or unmapping it from outside does not make it go away either.
    session.run("xdotool", "windowminimize", str(wid))
    wait_until(lambda: is_viewable(session, wid) and stacking(session)[-1] == wid, 5, "back after minimize")
    session.run("xdotool", "windowunmap", str(wid))
    time.sleep(0.2)
    wait_until(lambda: is_viewable(session, wid), 5, "back after unmap")


def test_continue_does_nothing_during_the_countdown():
    """Clicks on "continue" during a 60 s countdown are ignored by the helper and never reach the agent.

    The hotline button clicked after them is the witness: the helper handles its X
    events in order, so once "hotline" is reported the earlier clicks were handled.
    """
    from tests.support.xsession import x_session

    with x_session(wm=True) as session:
        tool = fakeapps.start_fake_process("ToDesk")
        ui, events = start_ui(session, "en", tray=False, countdown_seconds=60)
        pc = ProcessController(grace_seconds=1, protect=ui.helper_pids)
        try:
            _show(ui, pc, block_verdict(remote_share(tool.pid)))
            geo = _geometry(ui, ui.last_view["alert_key"])
            for _ in range(3):
                click(session, geo["buttons"]["continue"])
            click(session, geo["buttons"]["hotline"])
            ui.wait_report(lambda m: m.get("type") == "choice" and m.get("choice") == "hotline", 10)
            assert [m["choice"] for m in ui.reports if m.get("type") == "choice"] == ["hotline"]
            assert events == []
            assert _status(tool.pid) == psutil.STATUS_STOPPED
            assert session.run("xdotool", "search", "--onlyvisible", "--class", "ShareGuardWarning").stdout.strip()
        finally:
            pc.close()
            ui.close()
            fakeapps.stop(tool)


def test_continue_after_the_countdown_resumes_the_tool(scene):
    session, tool, ui, events, pc = scene
    verdict = block_verdict(remote_share(tool.pid))
    _show(ui, pc, verdict)
    geo = _geometry(ui, ui.last_view["alert_key"])
    assert _status(tool.pid) == psutil.STATUS_STOPPED
    # Clicked until the helper takes it: the button works once its countdown (3 s) ran out.
    choice = click_until(session, geo["buttons"]["continue"],
                         lambda: next((m for m in ui.reports if m.get("type") == "choice"), None), 20,
                         "'continue' accepted after the countdown")
    assert choice["choice"] == "continue"
    wait_until(lambda: events == [UserEvent("continue")], 5, "continue posted to the runtime")
    # The engine snoozes the session: its next verdict has no alert and no freeze.
    _show(ui, pc, calm_verdict(shares=verdict.shares))
    assert wait_until(lambda: _status(tool.pid) in ("sleeping", "running"), 5, "tool resumed")
    wait_until(lambda: not session.run("xdotool", "search", "--onlyvisible", "--class", "ShareGuardWarning",
                                       check=False).stdout.strip(), 5, "warning gone")


def test_stop_sharing_ends_the_tool_and_reports_it(scene):
    session, tool, ui, events, pc = scene
    verdict = block_verdict(remote_share(tool.pid))
    _show(ui, pc, verdict)
    geo = _geometry(ui, ui.last_view["alert_key"])
    click(session, geo["buttons"]["stop"])
    assert ui.wait_report(lambda m: m.get("type") == "choice", 5)["choice"] == "stop_sharing"
    wait_until(lambda: events == [UserEvent("stop_sharing")], 5, "stop_sharing posted")
    # The engine answers stop_sharing with end_pids.
    ended = []
    pc.on_ended = lambda results: (ended.extend(results), ui.report_ended(results))
    _show(ui, pc, calm_verdict(end_pids=(tool.pid,)))
    tool.wait(timeout=5)
    assert [(e["name"], e["how"]) for e in ended] == [("ToDesk", "terminated")]


def test_warning_comes_back_when_its_process_is_killed(scene):
    session, tool, ui, events, pc = scene
    _show(ui, pc, block_verdict(remote_share(tool.pid)))
    _geometry(ui, ui.last_view["alert_key"])
    first = ui.ready["pid"]
    psutil.Process(first).kill()
    wait_until(lambda: ui.restart_count >= 1, 10, "helper restart")
    again = wait_until(lambda: [m for m in ui.reports if m.get("event") == "shown"][1:], 20, "warning shown again")
    assert again
    assert ui.ready["pid"] != first
    assert _status(tool.pid) == psutil.STATUS_STOPPED


def test_warning_covers_every_monitor():
    from tests.support.xsession import x_session

    with x_session(wm=True, size="2560x800x24") as session:
        # Two RandR 1.5 monitors side by side on one Xvfb screen.
        session.run("xrandr", "--setmonitor", "left", "1280/338x800/211+0+0", "none")
        session.run("xrandr", "--setmonitor", "right", "1280/338x800/211+1280+0", "none")
        ui, _ = start_ui(session, "zh_CN", tray=False)
        try:
            ui.handle(block_verdict(remote_share(99999)), SNAP)

            def both_covered():
                for m in reversed(ui.reports):
                    if m.get("event") == "geometry":
                        rects = sorted((w["x"], w["y"], w["width"], w["height"]) for w in m["windows"])
                        return rects == [(0, 0, 1280, 800), (1280, 0, 1280, 800)]
                return False
            wait_until(both_covered, 20, "a warning window on each monitor")
        finally:
            ui.close()


def test_long_it_message_on_a_small_screen_still_fits_above_the_buttons():
    """A long policy custom_message shrinks the type instead of pushing the
    hotline line out of sight (1024x600, Chinese, the biggest glyphs)."""
    import os
    import tkinter as tk

    from agent.ui.warning_window import WarningWindow
    from tests.support.xsession import x_session

    with x_session(wm=True, size="1024x600x24") as s:
        os.environ["DISPLAY"] = s.display
        root = tk.Tk()
        try:
            root.withdraw()
            win = WarningWindow(root, lambda choice, key: None, lambda report: None)
            view = {"alert": True, "alert_key": "k", "blocking": [
                {"app": "todesk", "name": "ToDesk", "kind": "remote_control", "state": "in_session", "pids": [1]}],
                "sensitive": [{"id": "icbc", "name": "中国工商银行", "name_en": "ICBC", "category": "bank"}],
                "frozen": ["ToDesk"]}
            config = {"lang": "zh_CN", "countdown_seconds": 10, "hotlines": ["96110"],
                      "custom_message": "公司 IT 部门提醒："
                                        + "请勿在远程会话中登录网银，如有疑问请联系信息安全部门。" * 3,
                      "help_url": "https://it.example.com/fraud?event=0123456789abcdef"}
            win.show(view, config)
            root.update()
            main = win.windows[0]
            assert main.winfo_reqheight() <= 600
            hotline = win.widgets["hotline_text"]
            assert hotline.winfo_ismapped() and "96110" in hotline.cget("text")
            assert hotline.winfo_rooty() + hotline.winfo_height() <= win.widgets["safe_choice"].winfo_rooty()
            win.hide()
        finally:
            root.destroy()
            os.environ.pop("DISPLAY", None)
