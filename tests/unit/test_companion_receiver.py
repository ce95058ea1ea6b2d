"""The agent's side: facts become pages; silence and disconnection fall back to titles."""

import os
import threading

from agent.collectors import NullCollector
from agent.companion import receiver
from agent.companion.collector import WithPages
from agent.model import Snapshot
from tests.support import waiting


def state(windows=(), captures=(), tabs=()):
    return {"type": "state", "seq": 1, "causes": [], "windows": list(windows), "captures": list(captures),
            "tabs": list(tabs)}


def win(wid, tab_id, url, title, state="normal", focused=False):
    return {"id": wid, "focused": focused, "state": state, "incognito": False,
            "tab": {"id": tab_id, "url": url, "title": title}}


BANK = win(1, 7, "https://www.icbc.com.cn/login", "中国工商银行", focused=True)
MEET = win(2, 9, "https://meet.example.com/j/42", "Weekly call")


def reports_with(fact, clock=lambda: 100.0):
    r = receiver.BrowserReports(clock=clock)
    r.apply(1, {"type": "hello", "browser": "chromium", "browser_pid": 5120, "extension": "1.0.0"})
    r.apply(1, fact)
    return r


def test_active_tabs_become_visible_pages_of_the_browser_process():
    pages = reports_with(state([BANK, MEET])).pages()
    assert [(p.url, p.title, p.pid, p.browser, p.active, p.visible, p.capturing, p.shared) for p in pages] == [
        ("https://www.icbc.com.cn/login", "中国工商银行", 5120, "chromium", True, True, None, False),
        ("https://meet.example.com/j/42", "Weekly call", 5120, "chromium", True, True, None, False)]


def test_a_tab_share_marks_the_capturing_page_and_the_shared_tab():
    pages = reports_with(state([BANK, MEET], captures=[{"tab": 9, "surface": "browser", "shared_tab": 7}])).pages()
    by_title = {p.title: p for p in pages}
    assert by_title["中国工商银行"].shared and by_title["中国工商银行"].capturing is None
    assert by_title["Weekly call"].capturing == "browser" and not by_title["Weekly call"].shared


def test_a_shared_background_tab_is_reported_but_not_visible():
    fact = state([MEET], captures=[{"tab": 9, "surface": "browser", "shared_tab": 7}],
                 tabs=[{"id": 7, "window": 2, "url": "https://www.icbc.com.cn/", "title": "中国工商银行"}])
    bank = [p for p in reports_with(fact).pages() if p.title == "中国工商银行"][0]
    assert bank.shared and not bank.active and not bank.visible


def test_minimized_windows_are_not_visible_and_unknown_surfaces_count_as_window_shares():
    fact = state([win(1, 7, "https://a.example/", "A", state="minimized"), MEET],
                 captures=[{"tab": 9, "surface": "unknown", "shared_tab": None}])
    a, meet = reports_with(fact).pages()
    assert not a.visible and meet.capturing == "window"


def test_the_strongest_of_several_captures_wins():
    fact = state([MEET], captures=[{"tab": 9, "surface": "browser", "shared_tab": None},
                                   {"tab": 9, "surface": "monitor", "shared_tab": None}])
    assert reports_with(fact).pages()[0].capturing == "monitor"


def test_silent_browser_expires_and_bye_or_disconnect_forget_at_once():
    now = [100.0]
    r = reports_with(state([BANK]), clock=lambda: now[0])
    now[0] += receiver.STALE_SECONDS - 1
    assert r.pages()
    now[0] += 2
    assert r.pages() == () and r.browsers()[0]["reporting"] is False
    r.apply(1, state([BANK]))
    assert r.pages()
    r.apply(1, {"type": "bye"})
    assert r.pages() == ()
    r.apply(2, state([BANK]))
    r.drop(2)
    assert r.pages() == ()


def test_heartbeats_repeating_the_same_state_do_not_count_as_changes():
    r = reports_with(state([BANK]))
    assert r.apply(1, state([BANK])) is False
    assert r.apply(1, state([MEET])) is True


def test_receiver_over_a_real_channel_wakes_the_loop_and_answers_status(tmp_path):
    from agent.companion import channel

    path = str(tmp_path / "run" / "companion.sock")
    woke = threading.Event()
    rec = receiver.CompanionReceiver(path, on_change=woke.set)
    assert rec.start()
    try:
        conn = channel.connect(path)
        conn.send({"type": "hello", "browser": "firefox", "browser_pid": os.getpid(), "extension": "1.0.0"})
        conn.send(state([BANK]))
        assert woke.wait(5)
        status = receiver.ask_agent(path)
        assert status["browsers"][0]["browser"] == "firefox" and status["browsers"][0]["reporting"]
        assert status["pages"][0]["url"] == "https://www.icbc.com.cn/login"
        collector = WithPages(NullCollector(Snapshot(platform="linux")), rec)
        assert collector.snapshot().pages[0].browser == "firefox"
        woke.clear()
        conn.close()
        assert woke.wait(5)
        # The wake may be an earlier change's: wait for the disconnect itself, not the first wake.
        waiting.wait_until(lambda: collector.snapshot().pages == (), 5, "the pages gone with the browser")
    finally:
        rec.stop()


def test_a_channel_that_cannot_open_is_reported_as_unavailable(tmp_path):
    blocker = tmp_path / "run"
    blocker.write_text("not a folder")
    rec = receiver.CompanionReceiver(str(blocker / "companion.sock"))
    assert not rec.start()
    snap = WithPages(NullCollector(Snapshot(platform="linux")), rec).snapshot()
    assert snap.pages == () and snap.unavailable[-1][0] == "pages"


def test_scan_takes_pages_from_the_running_agent_and_says_which_browsers_report(tmp_path, monkeypatch):
    from agent.commands import scan
    from agent.companion import channel

    path = str(tmp_path / "run" / "companion.sock")
    monkeypatch.setenv("SHAREGUARD_COMPANION_CHANNEL", path)
    snap = scan.with_agent_pages(Snapshot(platform="linux"))
    assert snap.pages == () and scan.COMPANION_STATUS == [None]
    rec = receiver.CompanionReceiver(path)
    rec.start()
    try:
        conn = channel.connect(path)
        conn.send({"type": "hello", "browser": "chromium", "browser_pid": 5120, "extension": "1.0.0"})
        conn.send(state([BANK]))
        import time
        deadline = time.monotonic() + 5
        while not rec.pages() and time.monotonic() < deadline:
            time.sleep(0.02)
        snap = scan.with_agent_pages(Snapshot(platform="linux"))
        assert snap.pages[0].url == "https://www.icbc.com.cn/login" and snap.pages[0].pid == 5120
        from agent.engine import Engine
        from agent.signatures.loader import load_signatures
        verdict = Engine(load_signatures(None)).evaluate(snap)
        out = scan.scan_json(snap, verdict)
        assert out["browsers"]["agent_running"] and out["browsers"]["reporting"][0]["browser"] == "chromium"
        assert "chromium (pid 5120, 1 windows)" in scan.render(snap, verdict, "en")
        assert "chromium" in scan.render(snap, verdict, "zh_CN") and "浏览器助手" in scan.render(snap, verdict, "zh_CN")
        conn.close()
    finally:
        rec.stop()


def test_events_name_the_institution_and_registrable_domain_never_the_address():
    """A page the companion reports reaches the audit trail as its registrable domain only."""
    import json as _json

    from agent.audit import AuditContext, make_event
    from agent.model import PageInfo, SensitiveFinding, ShareFinding, Verdict
    from agent.responders.audit import AuditResponder

    class Recorder:
        context = AuditContext(device_id="d", include_titles=True)  # even with titles allowed

        def __init__(self):
            self.events = []

        def emit(self, type_, **fields):
            self.events.append(make_event(type_, self.context, **fields))

    page = PageInfo(url="https://mybank.icbc.com.cn/icbc/newperbank/perbank3/frame/frame_index.jsp",
                    title="中国工商银行个人网上银行", pid=5120, browser="chromium", shared=True)
    bank = SensitiveFinding(id="icbc", name="中国工商银行", category="bank", pids=(5120,), evidence="page-url",
                            site="icbc.com.cn", shared=True)
    share = ShareFinding(app="chromium", name="Chromium", kind="browser", state="sharing", pids=(5120,),
                         session_key="chromium:5120")
    rec = Recorder()
    verdict = Verdict(True, "block", shares=(share,), sensitive=(bank,), blocking_shares=("chromium",))
    AuditResponder(rec).handle(verdict, Snapshot(platform="linux", pages=(page,)))
    opened = next(e for e in rec.events if e["type"] == "sensitive_opened")
    assert opened["site"] == "icbc.com.cn" and opened["shared"] is True and opened["signature_id"] == "icbc"
    text = _json.dumps(rec.events, ensure_ascii=False)
    assert "mybank.icbc.com.cn" not in text and "frame_index" not in text and "https://" not in text
