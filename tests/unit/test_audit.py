"""Audit events: envelope, schema checks, non-blocking log, verdict transitions, tamper signs."""

import json
import os
import threading

import pytest

from agent.audit import AuditContext, AuditLog, make_event
from agent.audit.events import EVENT_TYPES, device_id
from agent.audit.tamper import Heartbeat, PolicyFileWatch
from agent.model import SensitiveFinding, ShareFinding, Snapshot, UserEvent, Verdict, WindowInfo
from agent.responders.audit import AuditResponder
from agent.sinks.base import MemoryWriter, Sink, Writer
from agent.sinks.serializers import json_line

CTX = AuditContext(device_id="dev-1", hostname="pc1", user="alice")


def test_envelope_and_unique_ids():
    a = make_event("agent_started", CTX, pid=1, platform="linux")
    b = make_event("agent_started", CTX, pid=1, platform="linux")
    assert a["event_id"] != b["event_id"]
    assert {k: a[k] for k in ("schema", "type", "severity", "device_id", "hostname", "user")} == {
        "schema": 1, "type": "agent_started", "severity": "info", "device_id": "dev-1",
        "hostname": "pc1", "user": "alice"}
    assert a["time"].endswith("Z") and a["agent_version"]


def test_schema_is_enforced():
    with pytest.raises(ValueError, match="unknown audit event type"):
        make_event("made_up", CTX)
    with pytest.raises(ValueError, match="missing field"):
        make_event("share_started", CTX, app="zoom")
    with pytest.raises(ValueError, match="unknown field"):
        make_event("agent_started", CTX, pid=1, platform="linux", title="secret")
    assert all(t.severity in ("info", "notice", "warning", "alert") for t in EVENT_TYPES.values())


def test_titles_only_when_policy_allows():
    ev = make_event("sensitive_opened", CTX, signature_id="icbc", category="bank", titles=["ICBC 6222..."])
    assert "titles" not in ev
    ctx = AuditContext(device_id="d", include_titles=True)
    assert make_event("sensitive_opened", ctx, signature_id="icbc", category="bank", titles=["x"])["titles"] == ["x"]


def test_device_id_is_persisted(tmp_path):
    first = device_id(str(tmp_path / "state"))
    assert device_id(str(tmp_path / "state")) == first
    assert (tmp_path / "state" / "device_id").read_text().strip() == first


class BlockedWriter(Writer):
    """A sink that hangs until released, like syslog to a black-holed host."""

    def __init__(self):
        self.release = threading.Event()
        self.count = 0

    def write(self, data, event):
        self.release.wait()
        self.count += 1
        return True


def test_a_hung_sink_never_blocks_emit_and_losses_are_reported():
    blocked = BlockedWriter()
    memory = MemoryWriter()
    # The hung sink's queue is small; the healthy one has room for everything
    # (a loss report that meets a full queue is itself lost, and counted there).
    audit = AuditLog(CTX, [Sink("hung", json_line, blocked), Sink("memory", json_line, memory)],
                     queue_sizes={"hung": 10, "memory": 1000})
    for i in range(200):   # would hang here if emit waited for the hung sink
        audit.emit("first_seen", app=f"app{i}")
    assert audit.emitted == 200
    blocked.release.set()
    assert audit.flush(timeout=10)
    audit.close()
    assert audit.dropped > 0
    reports = [e for e in memory.events if e["type"] == "events_dropped" and e["sink"] == "hung"]
    assert reports and sum(r["count"] for r in reports) == audit._workers[0].overflow


def test_a_raising_sink_does_not_stop_the_others():
    class Broken(Writer):
        def write(self, data, event):
            raise OSError("disk full")
    memory = MemoryWriter()
    audit = AuditLog(CTX, [Sink("broken", json_line, Broken()), Sink("memory", json_line, memory)])
    audit.emit("agent_started", pid=1, platform="linux")
    audit.close()
    assert [e["type"] for e in memory.events][0] == "agent_started"
    assert any(e["type"] == "events_dropped" for e in memory.events)


def _share(app="zoom", state="sharing", pids=(10,), key="zoom:10:1"):
    return ShareFinding(app=app, name=app, kind="meeting", state=state, pids=pids, session_key=key)


BANK = SensitiveFinding(id="icbc", name="中国工商银行", category="bank", pids=(20,))
BANK_WINDOW = WindowInfo(title="中国工商银行 - 账号 6222 0000", pid=20)


class Recorder:
    def __init__(self, include_titles=False):
        self.context = AuditContext(device_id="d", include_titles=include_titles)
        self.events = []

    def emit(self, type_, **fields):
        ev = make_event(type_, self.context, **fields)
        self.events.append(ev)
        return ev

    def types(self):
        return [e["type"] for e in self.events]


def _run(responder, steps):
    for verdict, snapshot in steps:
        responder.handle(verdict, snapshot)


def test_transitions_from_consecutive_verdicts():
    rec = Recorder()
    r = AuditResponder(rec)
    snap = Snapshot(platform="windows", windows=(BANK_WINDOW,))
    _run(r, [
        (Verdict(False, "none", shares=(_share(state="in_session"),), time=0), Snapshot("windows", time=0)),
        (Verdict(True, "block", shares=(_share(),), sensitive=(BANK,), freeze_pids=(10,), blocking_shares=("zoom",),
                 reasons=("screen is being shared",), time=1), snap),
        (Verdict(True, "block", shares=(_share(),), sensitive=(BANK,), freeze_pids=(10,), time=2), snap),
        (Verdict(False, "none", shares=(_share(),), sensitive=(BANK,), end_pids=(10,), time=3),
         Snapshot("windows", events=(UserEvent("stop_sharing"),), time=3)),
        (Verdict(False, "none", time=4), Snapshot("windows", time=4)),
    ])
    assert rec.types() == [
        "share_started",
        "share_state_changed", "sensitive_opened", "level_changed", "alert_raised", "remote_frozen",
        "user_choice", "level_changed", "alert_cleared", "remote_ended",
        "share_ended", "sensitive_closed",
    ]
    ev = {e["type"]: e for e in rec.events}
    assert ev["alert_raised"]["apps"] == ["zoom"] and ev["alert_raised"]["sensitive"] == ["icbc"]
    assert ev["alert_cleared"]["reason"] == "stop_sharing" and ev["alert_cleared"]["duration_seconds"] == 2
    assert ev["share_ended"]["duration_seconds"] == 4
    assert ev["sensitive_opened"]["category"] == "bank" and "titles" not in ev["sensitive_opened"]
    assert "6222" not in json.dumps(rec.events, ensure_ascii=False)


def test_resume_and_new_session_and_titles_when_allowed():
    rec = Recorder(include_titles=True)
    r = AuditResponder(rec)
    snap = Snapshot("windows", windows=(BANK_WINDOW,))
    _run(r, [
        (Verdict(True, "block", shares=(_share(),), sensitive=(BANK,), freeze_pids=(10,)), snap),
        (Verdict(False, "none", shares=(_share(),), sensitive=(BANK,)),
         Snapshot("windows", events=(UserEvent("continue"),), windows=(BANK_WINDOW,))),
        (Verdict(False, "none", shares=(_share(key="zoom:10:99"),)), Snapshot("windows")),
    ])
    types = rec.types()
    assert "remote_resumed" in types
    assert types[-3:] == ["share_ended", "share_started", "sensitive_closed"]
    opened = next(e for e in rec.events if e["type"] == "sensitive_opened")
    assert opened["titles"] == ["中国工商银行 - 账号 6222 0000"]


def test_policy_file_watch_reports_content_changes(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("mode: strict\n")
    watch = PolicyFileWatch([str(path)])
    assert watch.check() == []
    path.write_text("mode: monitor\n")
    [(type_, fields)] = watch.check()
    assert type_ == "policy_file_changed" and fields["old_sha256"] != fields["new_sha256"]
    os.remove(path)
    assert watch.check()[0][1]["new_sha256"] == ""


def test_heartbeat_detects_a_killed_predecessor(tmp_path):
    first = Heartbeat(str(tmp_path))
    assert first.start() == []
    # Simulate the previous agent having been SIGKILLed: its file is left behind with a dead pid.
    data = json.loads((tmp_path / "agent.heartbeat").read_text())
    data["pid"] = 999999
    (tmp_path / "agent.heartbeat").write_text(json.dumps(data))
    second = Heartbeat(str(tmp_path))
    [(type_, fields)] = second.start(pid_alive=lambda pid: False)
    assert type_ == "agent_restarted_after_kill" and fields["previous_pid"] == 999999
    second.stop()
    assert Heartbeat(str(tmp_path)).start() == []      # a clean stop is not a tamper sign


def test_from_policy_writes_the_default_file_sink(tmp_path):
    from agent.policy import load_policy
    policy = load_policy(str(tmp_path / "none.yaml"), str(tmp_path / "none2.yaml"))
    policy.values["log_dir"] = str(tmp_path / "logs")
    audit = AuditLog.from_policy(policy, state_dir=str(tmp_path / "state"))
    audit.report_policy(policy)
    audit.emit("agent_started", pid=os.getpid(), platform="linux")
    audit.close()
    path = tmp_path / "logs" / audit.context.user / "events.jsonl"    # each user's own subfolder
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [e["type"] for e in lines] == ["policy_loaded", "agent_started"]
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_sensitive_opened_names_a_domain_never_a_title_part():
    """A context judged from a title keeps the title's site part out of events (privacy);
    a registrable domain (from a URL, or a throw-away domain shown in a title) is kept."""
    from dataclasses import replace
    for site, logged in (("个人网上银行", None), ("2406578.top", "2406578.top"), ("icbc.com.cn", "icbc.com.cn")):
        rec = Recorder()
        bank = replace(BANK, site=site, evidence="window-title")
        AuditResponder(rec).handle(Verdict(False, "warning", sensitive=(bank,), time=1),
                                   Snapshot("windows", windows=(BANK_WINDOW,), time=1))
        opened = next(e for e in rec.events if e["type"] == "sensitive_opened")
        assert opened.get("site") == logged, (site, opened)
