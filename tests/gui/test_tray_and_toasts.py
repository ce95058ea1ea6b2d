"""Tray icon in a real tray host (trayer), toasts in a real daemon (dunst), and the fallbacks."""

import json
import logging
import re
import time

import pytest

from agent.model import ShareFinding
from tests.gui.uikit import SNAP, block_verdict, calm_verdict, remote_share, start_ui, wait_until, xprop
from tests.support.xsession import x_session

pytestmark = [pytest.mark.gui]


def _icon_window(session):
    # pystray names the icon window's WM_CLASS instance "<name>SystemTrayIcon".
    found = wait_until(lambda: session.run("xdotool", "search", "--classname", "ShareGuardSystemTrayIcon",
                                           check=False).stdout.split(), 15, "the tray icon window")
    return int(found[0])


def _ancestors(session, wid):
    chain = []
    while True:
        out = session.run("xwininfo", "-children", "-id", str(wid), check=False).stdout
        m = re.search(r"Parent window id: (0x[0-9a-f]+)", out)
        if not m:
            return chain
        wid = int(m.group(1), 16)
        chain.append(wid)
        if "(the root window)" in out.split("Parent window id:")[1].splitlines()[0]:
            return chain


def test_tray_icon_docks_in_trayer_and_tooltip_follows_state(desktop):
    ui, _ = start_ui(desktop, "en")
    try:
        assert ui.ready["tray"] is True, ui.ready
        icon = _icon_window(desktop)
        trayer = {int(w) for w in desktop.run("xdotool", "search", "--class", "trayer").stdout.split()}
        assert trayer & set(_ancestors(desktop, icon)), "the icon is not inside trayer"
        share = ShareFinding(app="zoom", name="Zoom", kind="meeting", state="sharing", pids=(1,))
        ui.handle(calm_verdict(shares=(share,)), SNAP)
        wait_until(lambda: "Zoom is sharing your screen" in xprop(desktop, "-id", str(icon), "WM_NAME"), 10,
                   "tooltip naming the share")
        ui.handle(calm_verdict(), SNAP)
        wait_until(lambda: "watching" in xprop(desktop, "-id", str(icon), "WM_NAME"), 10, "tooltip back to watching")
    finally:
        ui.close()


def test_tray_icon_stays_docked_through_many_state_changes(desktop):
    # pystray asked trayer to dock the icon again on every redraw, and trayer
    # dropped it after a few: an empty 3-pixel slot, no colour, no menu.
    ui, _ = start_ui(desktop, "en")
    try:
        icon = _icon_window(desktop)
        share = ShareFinding(app="zoom", name="Zoom", kind="meeting", state="sharing", pids=(1,))
        for i in range(12):
            ui.handle(calm_verdict(shares=(share,)) if i % 2 else calm_verdict(level="warning", shares=(share,)), SNAP)
            time.sleep(0.3)
        ui.handle(calm_verdict(), SNAP)
        wait_until(lambda: "watching" in xprop(desktop, "-id", str(icon), "WM_NAME"), 10, "tooltip back to watching")
        time.sleep(0.5)
        info = desktop.run("xwininfo", "-id", str(icon)).stdout
        assert "IsViewable" in info, info
        assert int(re.search(r"Width:\s+(\d+)", info)[1]) >= 16, info
    finally:
        ui.close()


def test_click_on_tray_icon_opens_menu_and_pause_reaches_the_runtime(desktop):
    class Controls:
        paused_until = 0.0
        calls = []

        def pause(self, seconds):
            self.calls.append(("pause", seconds))

        def resume(self):
            self.calls.append(("resume",))

        def quit(self):
            self.calls.append(("quit",))

    controls = Controls()
    ui, _ = start_ui(desktop, "en")
    ui.controls = controls
    try:
        icon = _icon_window(desktop)
        desktop.run("xdotool", "mousemove", "--window", str(icon), "8", "8")

        def open_menu():
            # The icon may still be docking: click until the menu reports itself.
            desktop.run("xdotool", "click", "1")
            try:
                return ui.wait_report(lambda m: m.get("event") == "menu", 2)
            except TimeoutError:
                return None
        menu = wait_until(open_menu, 15, "the tray menu")
        labels = [e["label"] for e in menu["entries"]]
        assert labels[1:] == ["Pause for 15 minutes", "Pause for 1 hour", "Open the event log folder",
                              "What does ShareGuard protect against?", "Quit ShareGuard"]
        # The menu opens below the icon, not over it (a top panel: trayer --edge top).
        geometry = desktop.run("xwininfo", "-id", str(icon)).stdout
        icon_y = int(re.search(r"Absolute upper-left Y:\s+(-?\d+)", geometry)[1])
        assert menu["y"] >= icon_y + 20, (menu, icon_y)
        pause = menu["entries"][1]
        desktop.run("xdotool", "mousemove", str(menu["x"] + 30), str((pause["y0"] + pause["y1"]) // 2))
        time.sleep(0.2)
        desktop.run("xdotool", "click", "1")
        wait_until(lambda: controls.calls, 10, "pause to reach the runtime")
        assert controls.calls[0] == ("pause", 900.0)
    finally:
        ui.close()


def test_policy_can_forbid_pause_and_quit(desktop):
    ui, _ = start_ui(desktop, "en", allow_pause=False, allow_quit=False)
    try:
        called = []
        ui.controls = type("C", (), {"paused_until": 0.0, "pause": lambda s, x: called.append("pause"),
                                     "resume": lambda s: None, "quit": lambda s: called.append("quit")})()
        # Even if a message claiming a menu choice arrives, the parent enforces the policy.
        ui._on_message({"type": "control", "op": "pause", "seconds": 900})
        ui._on_message({"type": "control", "op": "quit"})
        assert called == []
    finally:
        ui.close()


def _dunst_history(session):
    session.run("dunstctl", "close-all", check=False)
    out = session.run("dunstctl", "history", check=False).stdout
    return json.dumps(json.loads(out), ensure_ascii=False) if out.strip() else ""


def test_first_seen_notice_reaches_dunst(desktop):
    ui, _ = start_ui(desktop, "zh_CN")
    try:
        assert ui.ready["toasts"] is True, ui.ready
        share = ShareFinding(app="todesk", name="ToDesk", kind="remote_control", state="running", pids=(1,),
                             first_seen=True)
        ui.handle(calm_verdict(level="notice", shares=(share,), first_seen=("todesk",)), SNAP)
        result = ui.wait_report(lambda m: m.get("type") == "toast_result", 10)
        assert result["ok"], result
        wait_until(lambda: "这台电脑上第一次出现 ToDesk" in _dunst_history(desktop), 10, "toast in dunst")
        assert "下载会议软件" in _dunst_history(desktop)
        # The tooltip is in Chinese too (UTF-8 _NET_WM_NAME on X11).
        icon = _icon_window(desktop)
        wait_until(lambda: "ShareGuard：守护中" in desktop.run("xprop", "-id", str(icon), "-notype",
                                                           "_NET_WM_NAME").stdout, 10, "Chinese tooltip")
    finally:
        ui.close()


def test_without_notification_service_says_so_once_and_uses_the_tooltip(caplog, tmp_path):
    with x_session(wm=True, tray=True) as session:
        session.env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        session.env["XDG_RUNTIME_DIR"] = str(tmp_path)  # no bus socket there
        caplog.set_level(logging.WARNING, logger="agent.responders.ui_client")
        ui, _ = start_ui(session, "en")
        try:
            assert ui.ready["toasts"] is False
            for app in ("todesk", "anydesk"):
                share = ShareFinding(app=app, name=app, kind="remote_control", state="running", pids=(1,),
                                     first_seen=True)
                ui.handle(calm_verdict(level="notice", shares=(share,), first_seen=(app,)), SNAP)
            said = [r for r in caplog.records if "No notification service" in r.getMessage()]
            assert len(said) == 1
            icon = _icon_window(session)
            wait_until(lambda: "First time on this computer: anydesk" in xprop(session, "-id", str(icon),
                                                                                     "WM_NAME"), 10,
                       "the notice in the tooltip")
        finally:
            ui.close()


def test_warning_level_toast_names_bank_and_tool_once(desktop):
    ui, _ = start_ui(desktop, "en")
    try:
        v = block_verdict(remote_share(4321))
        from dataclasses import replace
        warning = replace(v, alert=False, level="warning", freeze_pids=())
        ui.handle(warning, SNAP)
        ui.handle(replace(warning, reasons=("again",)), SNAP)
        wait_until(lambda: "Careful: ToDesk is running and ICBC is open" in _dunst_history(desktop), 10,
                   "warning toast")
        assert len([m for m in ui.reports if m.get("type") == "toast_result"]) == 1
    finally:
        ui.close()


def test_no_tray_host_is_reported_not_hidden(xsession):
    ui, _ = start_ui(xsession, "en")
    try:
        assert ui.ready["tray"] is False
        assert "no system tray host" in ui.ready["tray_error"]
    finally:
        ui.close()
