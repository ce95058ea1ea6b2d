"""Shared pieces of the UI GUI tests: a started UiClient, verdicts, X queries."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from typing import Dict, List, Optional, Tuple

from agent.model import SensitiveFinding, ShareFinding, Snapshot, Verdict
from agent.responders.ui_client import UiClient
from tests.support import waiting

SNAP = Snapshot(platform="linux")


def start_ui(session, lang: str = "en", tray: bool = True, **policy) -> Tuple[UiClient, List]:
    """A UiClient whose helper runs on ``session``'s display; returns (client, posted events)."""
    policy.setdefault("countdown_seconds", 3)
    ui = UiClient(policy, lang, env=session.env, log_dir=session.workdir + "/logs", tray=tray)
    events: List = []
    ui.start(events.append)
    ui.wait_report(lambda m: m.get("type") == "ready", 30)
    return ui, events


def remote_share(pid: int, name: str = "ToDesk", app: str = "todesk", session: str = "1") -> ShareFinding:
    return ShareFinding(app=app, name=name, kind="remote_control", state="in_session", pids=(pid,),
                        session_key=f"{app}:{pid}:{session}")


BANK = SensitiveFinding(id="icbc", name="中国工商银行", name_en="ICBC", category="bank", pids=())


def block_verdict(share: ShareFinding, freeze: bool = True) -> Verdict:
    """What the engine says for a remote tool in session over a bank window."""
    return Verdict(alert=True, level="block", shares=(share,), sensitive=(BANK,),
                   freeze_pids=share.pids if freeze else (), blocking_shares=(share.app,),
                   actions=("show_block_warning", "freeze_remote"))


def calm_verdict(level: str = "none", **kw) -> Verdict:
    return Verdict(alert=False, level=level, **kw)


def xprop(session, *args: str) -> str:
    return session.run("xprop", *args, check=False).stdout


def stacking(session) -> List[int]:
    out = xprop(session, "-root", "_NET_CLIENT_LIST_STACKING")
    return [int(x, 16) for x in re.findall(r"0x[0-9a-f]+", out)]


def active_window(session) -> int:
    out = xprop(session, "-root", "_NET_ACTIVE_WINDOW")
    found = re.findall(r"0x[0-9a-f]+", out)
    return int(found[0], 16) if found else 0


def is_viewable(session, wid: int) -> bool:
    return "IsViewable" in session.run("xwininfo", "-id", str(wid), check=False).stdout


def click(session, rect, button: int = 1) -> None:
    """Click the middle of ``[x, y, w, h]`` (root coordinates)."""
    x, y, w, h = rect
    session.run("xdotool", "mousemove", str(x + w // 2), str(y + h // 2))
    time.sleep(0.1)
    session.run("xdotool", "click", str(button))


def wait_until(predicate, timeout: float = 10.0, what: str = "condition"):
    return waiting.wait_until(predicate, timeout, what)


def click_until(session, rect, predicate, timeout: float = 15.0, what: str = "the click to take effect"):
    """Click ``rect`` again every half second until ``predicate()`` holds; its value.

    For a button that only works once something has happened on the other side
    (the countdown of "continue" ran out in the helper): the test waits for the
    effect, not for a time the helper may not have kept on a loaded machine.
    """
    def attempt():
        click(session, rect)
        return waiting.poll(predicate, 0.5)
    return wait_until(attempt, timeout, what)


def last_geometry(ui: UiClient, alert_key: Optional[str] = None) -> Dict:
    """The latest geometry report of the warning window once it covers its monitor."""
    def find():
        for msg in reversed(ui.reports):
            if msg.get("event") == "geometry" and (alert_key is None or msg.get("alert_key") == alert_key):
                return msg
        return None
    return wait_until(find, 20, "the warning's geometry report")


@contextlib.contextmanager
def live_guard(session, lang: str = "en", poll_seconds: float = 1.0, **policy):
    """The real pipeline on ``session``: Linux collector (with window events) -> Engine -> UI + process control.

    Built like agent.app.build_app does, minus the policy files and audit log,
    so the test controls the policy. Yields (runtime, ui client, process controller).
    """
    from agent.collectors._linux import LinuxApi, LinuxCollector
    from agent.engine import Engine
    from agent.engine.policy import EnginePolicy
    from agent.responders import build_responders
    from agent.runtime import Runtime
    from agent.signatures.loader import load_signatures

    policy.setdefault("countdown_seconds", 3)
    engine = Engine(load_signatures(), EnginePolicy())
    runtime = Runtime(LinuxCollector(LinuxApi(display=session.display)), engine, (), poll_seconds=poll_seconds)
    old_display = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = session.display  # the UI helper inherits it
    try:
        responders = build_responders(policy, lang, None, runtime, log_dir=session.workdir + "/logs")
    finally:
        if old_display is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old_display
    ui, processes = responders
    assert isinstance(ui, UiClient)
    ui.env = dict(session.env)
    runtime.add_responders(responders)
    thread = threading.Thread(target=runtime.run, name="runtime", daemon=True)
    thread.start()
    try:
        ui.wait_report(lambda m: m.get("type") == "ready", 30)
        yield runtime, ui, processes
    finally:
        runtime.quit()
        thread.join(15)
