"""One contract for every responder (agent/responders/base.py), beside the collector contract.

Every class that acts on verdicts lives in agent/responders and, built the
way agent.app builds it (with a recording audit log, a console stream, a
stand-in UI helper process), must:

* be found here: a Responder subclass anywhere else in agent/ fails, and so
  does one in agent/responders this contract does not build;
* have its own short ``name`` (the runtime names its thread and logs after it);
* survive the life the runtime gives it: ``start(post_event)``, a run of
  verdicts (nothing, a share, the blocking alert, a user's choice riding on
  the snapshot, the alert over), ``apply_policy`` with a real Policy and
  with a plain mapping, then ``close()``; without raising and without
  calling ``post_event`` on its own (only a person's choice may);
* leave nothing behind after ``close()`` (the UI helper process has exited).
"""

import ast
import importlib
import io
import os
import pkgutil
import stat

import pytest

import agent.responders
from agent.audit import AuditContext
from agent.model import SensitiveFinding, ShareFinding, Snapshot, UserEvent, Verdict
from agent.policy import load_policy
from agent.responders.audit import AuditResponder
from agent.responders.base import Responder
from agent.responders.console import ConsoleResponder
from agent.responders.process_control import ProcessController
from agent.responders.ui_client import UiClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RecordingAudit:
    """The AuditTrail protocol: events are checked against the schema like AuditLog does."""

    def __init__(self):
        from agent.audit.events import make_event

        self.context = AuditContext(device_id="dev-1", hostname="pc", user="u")
        self.log_dir = ""
        self.events = []
        self._make = make_event

    def emit(self, type_, **fields):
        event = self._make(type_, self.context, **fields)  # raises on an unknown type or field
        self.events.append(event)
        return event


def _stand_in_helper(tmp_path):
    """An executable that plays the UI helper: reads the protocol until stdin closes."""
    path = tmp_path / "ui-helper"
    path.write_text("#!/bin/sh\ncat >/dev/null\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


#: Responder class -> how to build it for the contract (what agent.app passes, with test doubles).
BUILDERS = {
    AuditResponder: lambda tmp_path, audit: AuditResponder(audit),
    ConsoleResponder: lambda tmp_path, audit: ConsoleResponder("zh_CN", stream=io.StringIO()),
    ProcessController: lambda tmp_path, audit: ProcessController(audit=audit, grace_seconds=0.2),
    UiClient: lambda tmp_path, audit: UiClient(None, "en", audit=audit, python=_stand_in_helper(tmp_path),
                                               log_dir=str(tmp_path)),
}

SHARE = ShareFinding(app="rustdesk", name="RustDesk", kind="remote_control", state="sharing", pids=(2 ** 22 + 7,),
                     evidence=("process-args:rustdesk --cm",), session_key="rustdesk:sharing:4194311:1")
BANK = SensitiveFinding(id="icbc", name="中国工商银行", category="bank", pids=(2 ** 22 + 8,), name_en="ICBC",
                        evidence="window-title")
VERDICTS = [
    (Verdict(alert=False, level="none"), Snapshot(platform="linux", time=1.0)),
    (Verdict(alert=False, level="warning", shares=(SHARE,), reasons=("a remote tool is sharing",)),
     Snapshot(platform="linux", time=2.0)),
    # pids that do not exist: freezing them must be a quiet no-op, never a crash
    (Verdict(alert=True, level="block", shares=(SHARE,), sensitive=(BANK,), blocking_shares=("rustdesk",),
             freeze_pids=SHARE.pids, actions=("show_warning", "freeze_remote")), Snapshot(platform="linux", time=3.0)),
    (Verdict(alert=False, level="warning", shares=(SHARE,), sensitive=(BANK,), snoozed=("rustdesk",)),
     Snapshot(platform="linux", time=4.0, events=(UserEvent("continue"),))),
    (Verdict(alert=False, level="none"), Snapshot(platform="linux", time=5.0)),
]


def _responder_classes_in(package_path, prefix):
    found = set()
    for info in pkgutil.walk_packages(package_path, prefix):
        module = importlib.import_module(info.name)
        found.update(obj for obj in vars(module).values()
                     if isinstance(obj, type) and issubclass(obj, Responder) and obj is not Responder
                     and obj.__module__ == info.name)
    return found


def test_every_responder_is_in_the_contract():
    assert _responder_classes_in(agent.responders.__path__, "agent.responders.") == set(BUILDERS)


def test_no_responder_lives_outside_agent_responders():
    """Read with ast, so a module that only imports on another OS is checked too."""
    outside = []
    for folder, _, files in os.walk(os.path.join(ROOT, "agent")):
        if os.path.join("agent", "responders") in folder:
            continue
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    tree = ast.parse(f.read(), path)
                outside += [f"{os.path.relpath(path, ROOT)}: {node.name}" for node in ast.walk(tree)
                            if isinstance(node, ast.ClassDef)
                            and any(getattr(b, "id", getattr(b, "attr", "")) == "Responder" for b in node.bases)]
    assert not outside, outside


def test_names_are_their_own():
    names = [cls.name for cls in BUILDERS]
    assert len(set(names)) == len(names) and Responder.name not in names and all(names)


@pytest.mark.parametrize("cls", list(BUILDERS), ids=lambda c: c.__name__)
def test_a_responder_lives_through_the_runtime_life(cls, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    audit = RecordingAudit()
    responder = BUILDERS[cls](tmp_path, audit)
    posted = []
    responder.start(posted.append)
    try:
        for verdict, snapshot in VERDICTS[:3]:
            responder.handle(verdict, snapshot)
        responder.apply_policy(load_policy(str(tmp_path / "none.yaml"), str(tmp_path / "none2.yaml")), "zh_CN")
        responder.apply_policy({"countdown_seconds": 5, "end_grace_seconds": 1, "hotlines": ["110"]}, "en")
        for verdict, snapshot in VERDICTS[3:]:
            responder.handle(verdict, snapshot)
    finally:
        responder.close()
    assert posted == []  # only a person's choice goes back to the engine
    if isinstance(responder, UiClient):
        assert responder.proc is not None and responder.proc.poll() is not None  # the helper is gone


def test_the_contract_sees_what_responders_do():
    """The run above is not empty: the audit responder records it, the console prints it."""
    audit = RecordingAudit()
    out = io.StringIO()
    recorder, console = AuditResponder(audit), ConsoleResponder("en", stream=out)
    for verdict, snapshot in VERDICTS:
        recorder.handle(verdict, snapshot)
        console.handle(verdict, snapshot)
    kinds = [e["type"] for e in audit.events]
    assert "alert_raised" in kinds and "user_choice" in kinds and "share_started" in kinds
    assert "ALERT" in out.getvalue().upper()
