"""Every row of the decision table (docs/detection.md) in every mode, plus
snoozes, new sessions, user events, trusted apps and first-seen notices.

The signatures here are built in the test so each row is exercised by exactly
the evidence it names, independent of the shipped signature data.
"""

import pytest

from agent.engine import Engine
from agent.engine.policy import EnginePolicy
from agent.model import CaptureFact, Connection, DeviceUse, ProcessInfo, Snapshot, UserEvent, WindowInfo
from agent.signatures.model import (
    AppSignature,
    ConnectionMatcher,
    DeviceMatcher,
    ProcessMatcher,
    SensitiveSignature,
    Signal,
    SignatureSet,
    TitleRules,
    WindowMatcher,
)


def _names(en):
    return {"en": en, "zh_CN": en}


SIGS = SignatureSet(
    apps=(
        AppSignature("meetsig", "meeting", _names("MeetSig"), (ProcessMatcher("meet.exe"),), (
            Signal("in_session", "process:meethost.exe", process=ProcessMatcher("meethost.exe")),
            Signal("sharing", "window-class:MeetShareBar", window=WindowMatcher(wm_class="MeetShareBar")),
        )),
        AppSignature("meetnosig", "meeting", _names("MeetNoSig"), (ProcessMatcher("nosig.exe"),), (
            Signal("in_session", "process:nosighost.exe", process=ProcessMatcher("nosighost.exe")),
            Signal("in_session", "device:microphone,camera", device=DeviceMatcher()),
        )),
        AppSignature("remote", "remote_control", _names("Remote"), (ProcessMatcher("remote.exe"),), (
            Signal("in_session", "port:5938", connection=ConnectionMatcher(remote_ports=(5938,))),
            Signal("sharing", "process-args:remote.exe --cm", process=ProcessMatcher("remote.exe", args=("--cm",))),
        )),
        AppSignature("browser", "browser", _names("Browser"), (ProcessMatcher("browser.exe"),), (
            Signal("in_session", "window-title:Sharing Indicator", window=WindowMatcher(title="Sharing Indicator$")),
            Signal("sharing", "window-title:is sharing your screen",
                   window=WindowMatcher(title=r"is sharing your screen\.$")),
        )),
    ),
    sensitive=(
        SensitiveSignature("testbank", "bank", {"en": "Test Bank", "zh_CN": "测试银行"},
                           strong=("Test Bank", "测试银行"),
                           region="cn"),
    ),
    title_rules=TitleRules(context_words=("bank",), exclude_titles=(r"\.xlsx\b",)),
)

BANK = WindowInfo(title="测试银行 - Browser", pid=900, visible=True)
BROWSER = ProcessInfo(900, "browser.exe", exe=r"C:\b\browser.exe", create_time=10.0)


def snap(processes=(), windows=(), connections=(), capture=(), events=(), t=0.0, bank=True, devices=()):
    procs = tuple(processes) + ((BROWSER,) if bank else ())
    wins = tuple(windows) + ((BANK,) if bank else ())
    return Snapshot(platform="windows", time=t, processes=procs, windows=wins, connections=tuple(connections),
                    capture=tuple(capture), events=tuple(UserEvent(a) for a in events), devices=tuple(devices))


def P(pid, name, args=(), t=100.0):
    return ProcessInfo(pid, name, cmdline=(name,) + tuple(args), exe=rf"C:\apps\{name}", create_time=t)


# Each situation is the evidence for one table row (with a bank window visible).
SITUATIONS = {
    "meeting_sharing": dict(processes=[P(10, "meet.exe")], windows=[WindowInfo("", pid=10, wm_class="MeetShareBar")]),
    "remote_sharing": dict(processes=[P(20, "remote.exe"), P(21, "remote.exe", ["--cm"])]),
    "browser_sharing": dict(windows=[WindowInfo("meet.example.com is sharing your screen.", pid=900)]),
    "os_sharing": dict(capture=[CaptureFact("pipewire", True, pid=5, detail="meta-screen-cast-src")]),
    "remote_in_session": dict(processes=[P(20, "remote.exe")],
                              connections=[Connection(20, "tcp", "ESTABLISHED", "10.0.0.5:5000", "1.2.3.4:5938")]),
    "meeting_in_session_no_share_signal": dict(processes=[P(30, "nosig.exe"), P(31, "nosighost.exe")]),
    "meeting_in_session_not_sharing": dict(processes=[P(10, "meet.exe"), P(11, "meethost.exe")]),
    "meeting_call_by_microphone": dict(processes=[P(30, "nosig.exe")], devices=[DeviceUse("microphone", pid=30)]),
    "remote_running": dict(processes=[P(20, "remote.exe")]),
    "browser_in_session": dict(windows=[WindowInfo("Browser — Sharing Indicator", pid=900)]),
    "os_in_session": dict(capture=[CaptureFact("consent_store", True, confidence="low")]),
    "meeting_running": dict(processes=[P(10, "meet.exe")]),
    "browser_running": dict(),
}

EXPECTED = {  # situation: (balanced, strict, monitor)
    "meeting_sharing": ("block", "block", "none"),
    "remote_sharing": ("block", "block", "none"),
    "browser_sharing": ("block", "block", "none"),
    "os_sharing": ("block", "block", "none"),
    "remote_in_session": ("block", "block", "none"),
    "meeting_in_session_no_share_signal": ("block", "block", "none"),
    "meeting_in_session_not_sharing": ("warning", "block", "none"),
    "meeting_call_by_microphone": ("block", "block", "none"),
    "remote_running": ("warning", "block", "none"),
    "browser_in_session": ("warning", "block", "none"),
    "os_in_session": ("warning", "block", "none"),
    "meeting_running": ("none", "warning", "none"),
    "browser_running": ("none", "warning", "none"),
}


def evaluate(situation, mode, bank=True, known=True, **extra):
    s = snap(bank=bank, **SITUATIONS[situation], **extra)
    engine = Engine(SIGS, EnginePolicy(mode=mode))
    if known:  # first-seen notices are tested on their own below
        engine.known_executables.update((p.exe or p.name).casefold() for p in s.processes)
    return engine.evaluate(s)


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
@pytest.mark.parametrize("mode_index,mode", list(enumerate(("balanced", "strict", "monitor"))))
def test_decision_table_row(situation, mode_index, mode):
    verdict = evaluate(situation, mode)
    assert verdict.level == EXPECTED[situation][mode_index], verdict.reasons
    assert verdict.alert == (verdict.level == "block")
    assert verdict.sensitive and verdict.sensitive[0].id == "testbank"
    if mode == "monitor":
        balanced = EXPECTED[situation][0]
        assert ("log" in verdict.actions) == (balanced != "none")
        assert "show_block_warning" not in verdict.actions and not verdict.freeze_pids


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
@pytest.mark.parametrize("mode", ("balanced", "strict", "monitor"))
def test_no_sensitive_context_means_none(situation, mode):
    verdict = evaluate(situation, mode, bank=False)
    assert verdict.level == "none" and not verdict.alert and not verdict.sensitive


def test_share_states_are_graded_as_the_table_names_them():
    assert evaluate("remote_sharing", "balanced").shares[0].state == "sharing"
    v = evaluate("meeting_in_session_not_sharing", "balanced")
    meet = [s for s in v.shares if s.app == "meetsig"][0]
    assert (meet.kind, meet.state, meet.has_share_signal) == ("meeting", "in_session", True)
    os_share = [s for s in evaluate("os_in_session", "balanced").shares if s.kind == "os"][0]
    assert os_share.state == "in_session"


@pytest.mark.parametrize("mode,level", [("balanced", "notice"), ("strict", "notice"), ("monitor", "none")])
def test_first_seen_executable_gives_notice(mode, level):
    engine = Engine(SIGS, EnginePolicy(mode=mode))
    v = engine.evaluate(snap(processes=[P(20, "remote.exe")], bank=False))
    assert v.level == level and v.first_seen == ("remote",)
    assert ("log" in v.actions) == (mode == "monitor")
    # Seen once: no second notice, even after a restart of the app.
    v2 = engine.evaluate(snap(processes=[P(22, "remote.exe")], bank=False, t=5))
    assert v2.level == "none" and v2.first_seen == ()


def test_first_seen_same_name_new_path_is_new():
    engine = Engine(SIGS, EnginePolicy())
    engine.evaluate(snap(processes=[P(20, "remote.exe")], bank=False))
    moved = ProcessInfo(23, "remote.exe", exe=r"C:\Users\a\Downloads\remote.exe", create_time=1.0)
    assert engine.evaluate(snap(processes=[moved], bank=False)).level == "notice"


def test_first_seen_ignores_session_helpers():
    engine = Engine(SIGS, EnginePolicy())
    assert engine.evaluate(snap(processes=[P(10, "meet.exe")], bank=False)).first_seen == ("meetsig",)
    # The meeting helper appears with the first call: not a new app.
    v = engine.evaluate(snap(processes=[P(10, "meet.exe"), P(11, "meethost.exe")], bank=False, t=1))
    assert v.first_seen == () and v.level == "none"


def test_first_seen_notice_off_by_policy():
    engine = Engine(SIGS, EnginePolicy(first_seen_notice=False))
    assert engine.evaluate(snap(processes=[P(20, "remote.exe")], bank=False)).level == "none"


def test_browser_not_first_seen():
    engine = Engine(SIGS, EnginePolicy())
    assert engine.evaluate(snap(bank=True)).first_seen == ()


# -- snooze and sessions ---------------------------------------------------------
def _remote_session(cm_pid=21, cm_time=100.0, t=0.0, events=()):
    return snap(processes=[P(20, "remote.exe"), P(cm_pid, "remote.exe", ["--cm"], t=cm_time)], t=t, events=events)


def _known_engine(**policy):
    engine = Engine(SIGS, EnginePolicy(**policy))
    engine.known_executables.add(r"c:\apps\remote.exe")
    return engine


def test_continue_snoozes_the_same_session():
    engine = _known_engine()
    assert engine.evaluate(_remote_session()).alert
    after = engine.evaluate(_remote_session(t=1, events=["continue"]))
    assert not after.alert and after.level == "warning"
    assert "snooze" in after.actions and "resume_remote" in after.actions and after.freeze_pids == ()
    later = engine.evaluate(_remote_session(t=300))
    assert not later.alert and later.level == "warning" and later.snoozed == ("remote",)


def test_snooze_expires_after_policy_minutes():
    engine = _known_engine(snooze_minutes=10)
    engine.evaluate(_remote_session(t=0, events=["continue"]))
    assert not engine.evaluate(_remote_session(t=599)).alert
    assert engine.evaluate(_remote_session(t=601)).alert


def test_new_remote_session_blocks_again_at_once():
    engine = _known_engine()
    engine.evaluate(_remote_session(t=0, events=["continue"]))
    assert not engine.evaluate(_remote_session(t=1)).alert
    # A new connection manager process: a new session.
    assert engine.evaluate(_remote_session(cm_pid=44, cm_time=150.0, t=2)).alert


def test_share_that_stops_and_restarts_blocks_again():
    engine = _known_engine()
    engine.evaluate(_remote_session(t=0, events=["continue"]))
    engine.evaluate(snap(processes=[P(20, "remote.exe")], t=1, bank=False))  # session gone
    assert engine.evaluate(_remote_session(t=2)).alert


def test_continue_without_warning_is_ignored():
    engine = _known_engine()
    v = engine.evaluate(snap(processes=[P(20, "remote.exe")], events=["continue"]))
    assert v.level == "warning" and "snooze" not in v.actions
    assert engine.evaluate(_remote_session(t=1)).alert


def test_dismiss_hides_now_but_returns_while_danger_lasts():
    engine = _known_engine()
    v = engine.evaluate(_remote_session(events=["dismiss"]))
    assert not v.alert and "dismiss" in v.actions
    assert v.freeze_pids == (20, 21)  # only "continue" resumes a frozen remote tool
    assert engine.evaluate(_remote_session(t=1)).alert


def test_stop_sharing_ends_the_sharing_processes():
    engine = _known_engine()
    v = engine.evaluate(_remote_session(events=["stop_sharing"]))
    assert not v.alert and v.end_pids == (20, 21) and "end_processes" in v.actions
    assert v.freeze_pids == (20, 21)  # stays frozen until it is gone


def test_block_freezes_remote_tools_in_session_only_when_policy_says():
    v = _known_engine().evaluate(_remote_session())
    assert v.freeze_pids == (20, 21) and "freeze_remote" in v.actions
    assert _known_engine(freeze_remote_tools=False).evaluate(_remote_session()).freeze_pids == ()
    # A meeting share blocks but freezes nothing (no remote-control tool in session).
    assert evaluate("meeting_sharing", "balanced").freeze_pids == ()


def test_trusted_app_never_blocks_but_is_logged():
    engine = Engine(SIGS, EnginePolicy(trusted_apps=("remote",)))
    engine.known_executables.add(r"c:\apps\remote.exe")
    v = engine.evaluate(_remote_session())
    assert not v.alert and v.level == "none"
    assert any("trusted" in r for r in v.reasons)
    assert [s.trusted for s in v.shares if s.app == "remote"] == [True]


def test_trusted_executable_by_path_or_name():
    for entry in (r"C:\apps\remote.exe", "REMOTE.EXE"):
        engine = Engine(SIGS, EnginePolicy(trusted_executables=(entry,)))
        assert not engine.evaluate(_remote_session()).alert


def test_document_title_is_not_sensitive():
    v = Engine(SIGS).evaluate(snap(processes=[P(21, "remote.exe", ["--cm"])], bank=False,
                                   windows=[WindowInfo("Test Bank reconciliation.xlsx - Excel", pid=3)]))
    assert not v.sensitive and not v.alert


def test_minimized_bank_window_is_not_sensitive():
    hidden = WindowInfo("测试银行 - Browser", pid=900, visible=False)
    v = Engine(SIGS).evaluate(snap(processes=[P(21, "remote.exe", ["--cm"])], bank=False, windows=[hidden]))
    assert not v.sensitive and not v.alert


def test_verdict_json_has_contract_keys():
    out = evaluate("meeting_sharing", "balanced").to_json()
    for key in ("alert", "level", "shares", "sensitive", "reasons", "actions"):
        assert key in out
    share = out["shares"][0]
    assert set(share) >= {"app", "kind", "state", "pids", "evidence"}
    assert share["evidence"][0] == "window-class:MeetShareBar"
    assert out["sensitive"][0] == {"id": "testbank", "name": "测试银行", "category": "bank", "pids": [900],
                                   "evidence": "window-title", "basis": "own"}
    assert out["mentions"] == []
    assert out["reasons"][0] == "screen is being shared by meetsig while a bank window is visible"


def test_a_device_of_another_process_proves_nothing_for_the_app():
    v = evaluate("meeting_running", "balanced", devices=[DeviceUse("camera", pid=999)])
    assert [(s.app, s.state) for s in v.shares if s.app == "meetsig"] == [("meetsig", "running")]
    v = Engine(SIGS).evaluate(snap(processes=[P(30, "nosig.exe")], devices=[DeviceUse("microphone", pid=31)]))
    assert [s.state for s in v.shares if s.app == "meetnosig"] == ["running"] and v.level != "block"


def test_device_evidence_is_labelled_and_never_sharing():
    v = evaluate("meeting_call_by_microphone", "balanced")
    share = [s for s in v.shares if s.app == "meetnosig"][0]
    assert share.state == "in_session" and share.evidence[0] == "device:microphone,camera"
