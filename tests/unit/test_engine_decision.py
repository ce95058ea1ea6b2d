"""Every row of the decision table (docs/detection.md) in every mode, plus
snoozes, new sessions, user events, trusted apps and first-seen notices.

The signatures here are built in the test so each row is exercised by exactly
the evidence it names, independent of the shipped signature data.
"""

import pytest

from agent.engine import Engine
from agent.engine.policy import EnginePolicy
from agent.model import (
    CaptureFact,
    Connection,
    DeviceUse,
    IoRate,
    PageInfo,
    ProcessInfo,
    Snapshot,
    UserEvent,
    WindowInfo,
)
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
        # A chat app: its calls are chat calls unless its meeting window proves a dedicated meeting.
        AppSignature("chat", "meeting", _names("Chat"), (ProcessMatcher("chat.exe"),), (
            Signal("in_session", "device:microphone,camera", device=DeviceMatcher()),
            Signal("in_session", "window-class:ChatMeetingWnd", window=WindowMatcher(wm_class="ChatMeetingWnd"),
                   meeting=True),
        ), calls="chat"),
        AppSignature("remote", "remote_control", _names("Remote"), (ProcessMatcher("remote.exe"),), (
            Signal("in_session", "port:5938", connection=ConnectionMatcher(remote_ports=(5938,))),
            Signal("sharing", "process-args:remote.exe --cm", process=ProcessMatcher("remote.exe", args=("--cm",))),
        )),
        # A remote tool with no session window: a sustained stream is its session evidence.
        AppSignature("streamer", "remote_control", _names("Streamer"), (ProcessMatcher("streamer.exe"),),
                     stream_min_rate=50_000),
        AppSignature("browser", "browser", _names("Browser"), (ProcessMatcher("browser.exe"),), (
            Signal("in_session", "window-title:Sharing Indicator", window=WindowMatcher(title="Sharing Indicator$")),
            Signal("sharing", "window-title:is sharing your screen",
                   window=WindowMatcher(title=r"is sharing your screen\.$")),
        )),
    ),
    sensitive=(
        SensitiveSignature("testbank", "bank", {"en": "Test Bank", "zh_CN": "测试银行"},
                           strong=("Test Bank", "测试银行"), region="cn", official_domains=("testbank.com.cn",)),
    ),
    title_rules=TitleRules(context_words=("bank",), exclude_titles=(r"\.xlsx\b",),
                           browser_titles=((r"\s-\sBrowser", "browser"),), cheap_tlds=("top",)),
)

BANK = WindowInfo(title="测试银行 - Browser", pid=900, visible=True)
BROWSER = ProcessInfo(900, "browser.exe", exe=r"C:\b\browser.exe", create_time=10.0)
#: The bank as a tab: the shared one in a tab share, or a copy on a throw-away domain.
BANK_TAB = PageInfo(url="https://www.testbank.com.cn/login", title="测试银行", pid=900, browser="browser")
FAKE_BANK = PageInfo(url="http://2406578.top/", title="测试银行", pid=900, browser="browser")
MEET_TAB = PageInfo(url="https://meet.example.org/j/42", title="Weekly call", pid=900, browser="browser",
                    active=False, visible=False)


def snap(processes=(), windows=(), connections=(), capture=(), events=(), t=0.0, bank=True, devices=(), pages=(),
         bank_as="window"):
    """A snapshot with the situation's evidence and, when ``bank``, the sensitive context:
    a bank window, the shared tab itself (``bank_as="shared_tab"``) or a page posing as the
    bank on a throw-away domain (``bank_as="impersonation"``)."""
    procs = tuple(processes) + ((BROWSER,) if bank else ())
    wins = tuple(windows) + ((BANK,) if bank and bank_as == "window" else ())
    pages = tuple(pages)
    if bank and bank_as == "shared_tab":
        pages += (PageInfo(**{**BANK_TAB.__dict__, "shared": True}),)
    if bank and bank_as == "impersonation":
        pages += (FAKE_BANK,)
    return Snapshot(platform="windows", time=t, processes=procs, windows=wins, connections=tuple(connections),
                    capture=tuple(capture), events=tuple(UserEvent(a) for a in events), devices=tuple(devices),
                    pages=pages)


def P(pid, name, args=(), t=100.0, io=None):
    return ProcessInfo(pid, name, cmdline=(name,) + tuple(args), exe=rf"C:\apps\{name}", create_time=t, io_rate=io)


def _capturing(surface):
    return PageInfo(**{**MEET_TAB.__dict__, "capturing": surface})


# Each situation is the evidence for one table row (with a sensitive context visible).
SITUATIONS = {
    "meeting_sharing": dict(processes=[P(10, "meet.exe")], windows=[WindowInfo("", pid=10, wm_class="MeetShareBar")]),
    "remote_sharing": dict(processes=[P(20, "remote.exe"), P(21, "remote.exe", ["--cm"])]),
    "browser_sharing": dict(windows=[WindowInfo("meet.example.com is sharing your screen.", pid=900)]),
    "os_sharing": dict(capture=[CaptureFact("pipewire", True, pid=5, detail="meta-screen-cast-src")]),
    "page_screen_share": dict(pages=[_capturing("monitor")]),
    "page_window_share": dict(pages=[_capturing("window")]),
    "tab_share_of_the_bank_tab": dict(pages=[_capturing("browser")], bank_as="shared_tab"),
    "tab_share_bank_elsewhere": dict(pages=[_capturing("browser"), PageInfo(
        url="https://docs.example.org/notes", title="Meeting notes", pid=900, browser="browser", shared=True,
        visible=False)]),
    "tab_share_unknown_tab": dict(pages=[_capturing("browser")]),
    "remote_in_session": dict(processes=[P(20, "remote.exe")],
                              connections=[Connection(20, "tcp", "ESTABLISHED", "10.0.0.5:5000", "1.2.3.4:5938")]),
    "remote_stream": dict(processes=[P(40, "streamer.exe", io=IoRate(sent=400_000, received=5_000, seconds=5))]),
    "meeting_in_session_no_share_signal": dict(processes=[P(30, "nosig.exe"), P(31, "nosighost.exe")]),
    "meeting_in_session_not_sharing": dict(processes=[P(10, "meet.exe"), P(11, "meethost.exe")]),
    "meeting_call_by_microphone": dict(processes=[P(30, "nosig.exe")], devices=[DeviceUse("microphone", pid=30)]),
    "chat_call": dict(processes=[P(50, "chat.exe")], devices=[DeviceUse("microphone", pid=50)]),
    "chat_app_dedicated_meeting": dict(processes=[P(50, "chat.exe")], devices=[DeviceUse("microphone", pid=50)],
                                       windows=[WindowInfo("Meeting", pid=50, wm_class="ChatMeetingWnd")]),
    "remote_running": dict(processes=[P(20, "remote.exe")]),
    "remote_keepalive": dict(processes=[P(40, "streamer.exe", io=IoRate(sent=300, received=200, seconds=5))]),
    "remote_burst_too_short": dict(processes=[P(40, "streamer.exe", io=IoRate(sent=900_000, received=0, seconds=1))]),
    "browser_in_session": dict(windows=[WindowInfo("Browser — Sharing Indicator", pid=900)]),
    "os_in_session": dict(capture=[CaptureFact("consent_store", True, confidence="low")]),
    "meeting_running": dict(processes=[P(10, "meet.exe")]),
    "chat_running": dict(processes=[P(50, "chat.exe")]),
    "browser_running": dict(),
    "impersonation_page_no_share": dict(bank_as="impersonation"),
    "impersonation_page_during_share": dict(processes=[P(10, "meet.exe")], bank_as="impersonation",
                                            windows=[WindowInfo("", pid=10, wm_class="MeetShareBar")]),
}

EXPECTED = {  # situation: (balanced, strict, monitor) -- spec/replay.md, the default decision table
    "meeting_sharing": ("block", "block", "none"),
    "remote_sharing": ("block", "block", "none"),
    "browser_sharing": ("block", "block", "none"),
    "os_sharing": ("block", "block", "none"),
    "page_screen_share": ("block", "block", "none"),
    "page_window_share": ("block", "block", "none"),
    "tab_share_of_the_bank_tab": ("block", "block", "none"),
    "tab_share_bank_elsewhere": ("warning", "block", "none"),
    "tab_share_unknown_tab": ("warning", "block", "none"),
    "remote_in_session": ("block", "block", "none"),
    "remote_stream": ("block", "block", "none"),
    "meeting_in_session_no_share_signal": ("block", "block", "none"),
    "meeting_in_session_not_sharing": ("warning", "block", "none"),
    "meeting_call_by_microphone": ("block", "block", "none"),
    "chat_call": ("warning", "block", "none"),
    "chat_app_dedicated_meeting": ("block", "block", "none"),
    "remote_running": ("warning", "block", "none"),
    "remote_keepalive": ("warning", "block", "none"),
    "remote_burst_too_short": ("warning", "block", "none"),
    "browser_in_session": ("warning", "block", "none"),
    "os_in_session": ("warning", "block", "none"),
    "meeting_running": ("none", "warning", "none"),
    "chat_running": ("none", "warning", "none"),
    "browser_running": ("none", "warning", "none"),
    "impersonation_page_no_share": ("warning", "warning", "none"),
    "impersonation_page_during_share": ("block", "block", "none"),
}


def evaluate(situation, mode, bank=True, known=True, **extra):
    s = snap(bank=bank, **SITUATIONS[situation], **extra)
    engine = Engine(SIGS, EnginePolicy(mode=mode))
    if known:  # first-seen notices are tested on their own below
        engine.known_executables.update((p.exe or p.name).casefold() for p in s.processes)
    return engine.evaluate(s)


def test_every_situation_has_its_expected_levels():
    assert set(SITUATIONS) == set(EXPECTED)


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


def test_tab_share_names_the_shared_tab_and_is_graded_as_a_tab_share():
    v = evaluate("tab_share_of_the_bank_tab", "balanced")
    (bank,) = v.sensitive
    assert bank.shared and bank.basis == "own" and bank.evidence == "page-url" and bank.site == "testbank.com.cn"
    (share,) = [s for s in v.shares if s.app == "browser"]
    assert (share.state, share.surface) == ("sharing", "browser")
    assert "is sharing a browser tab that is a bank window" in v.reasons[0]
    # A screen share from a page is a full share, not a tab share.
    (screen,) = [s for s in evaluate("page_screen_share", "balanced").shares if s.app == "browser"]
    assert (screen.state, screen.surface) == ("sharing", "")


def test_impersonation_is_named_and_listed_with_its_basis():
    v = evaluate("impersonation_page_no_share", "balanced")
    (fake,) = v.sensitive
    assert (fake.basis, fake.site, fake.evidence) == ("impersonation", "2406578.top", "page-url")
    assert any("not its own site" in r for r in v.reasons) and v.actions == ("notify", "tray_warning")


def test_a_mention_never_raises_the_level_and_is_listed_apart():
    news = WindowInfo("测试银行发布2025年年报 - 财经新闻网 - Browser", pid=900)
    engine = Engine(SIGS, known_executables=[r"c:\apps\meet.exe"])
    v = engine.evaluate(snap(processes=[P(10, "meet.exe")], bank=False,
                             windows=[WindowInfo("", pid=10, wm_class="MeetShareBar"), news]))
    assert v.level == "none" and not v.sensitive
    assert [(m.id, m.basis) for m in v.mentions] == [("testbank", "mention")]
    assert v.to_json()["mentions"][0]["basis"] == "mention"


def test_chat_call_and_stream_evidence_are_labelled():
    call = [s for s in evaluate("chat_call", "balanced").shares if s.app == "chat"][0]
    assert call.chat_call and call.state == "in_session" and call.to_json()["chat_call"] is True
    meeting = [s for s in evaluate("chat_app_dedicated_meeting", "balanced").shares if s.app == "chat"][0]
    assert not meeting.chat_call
    stream = [s for s in evaluate("remote_stream", "balanced").shares if s.app == "streamer"][0]
    assert stream.state == "in_session" and stream.evidence[0] == "stream:400KB/s-for-5s"
    idle = [s for s in evaluate("remote_keepalive", "balanced").shares if s.app == "streamer"][0]
    assert idle.state == "running"


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
@pytest.mark.parametrize("mode", ("balanced", "strict", "monitor"))
def test_no_sensitive_context_means_none(situation, mode):
    verdict = evaluate(situation, mode, bank=False)
    assert verdict.level == "none" and not verdict.alert and not verdict.sensitive, verdict.reasons


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
                                   "evidence": "window-title", "basis": "own", "site": "测试银行"}
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
