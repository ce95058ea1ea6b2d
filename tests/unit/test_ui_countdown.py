"""Issue 11 item 6: the agent enforces the warning's countdown itself, by its own clock.

A "continue" (or "dismiss") that arrives before the countdown has run out is
ignored whoever sent it, and the warning is sent again; a choice for a warning
that is no longer up is ignored too.
"""

from agent.model import SensitiveFinding, ShareFinding, Snapshot, Verdict
from agent.responders.ui_client import UiClient

SNAP = Snapshot(platform="linux")
BANK = SensitiveFinding(id="icbc", name="中国工商银行", category="bank", pids=())


def _block(app="todesk", pid=4242):
    share = ShareFinding(app=app, name=app, kind="remote_control", state="in_session", pids=(pid,),
                         session_key=f"{app}:{pid}:1")
    return Verdict(alert=True, level="block", shares=(share,), sensitive=(BANK,), freeze_pids=(pid,),
                   blocking_shares=(app,), actions=("show_block_warning", "freeze_remote"))


def _client(countdown):
    ui = UiClient({"countdown_seconds": countdown}, "en", tray=False)   # no helper started: nothing is shown
    posted = []
    ui.post_event = posted.append
    ui.handle(_block(), SNAP)
    return ui, posted


def _choose(ui, choice, key=None):
    ui._on_message({"type": "choice", "choice": choice, "alert_key": key or ui.last_view["alert_key"]})


def test_a_continue_before_the_countdown_is_ignored_and_the_warning_sent_again():
    ui, posted = _client(30)
    key = ui.last_view["alert_key"]
    _choose(ui, "continue", key)
    _choose(ui, "dismiss", key)
    assert posted == []
    assert ui.last_view is None          # the next verdict re-sends the warning
    _choose(ui, "stop_sharing", key)          # ending the share early is always allowed
    assert [e.action for e in posted] == ["stop_sharing"]


def test_a_continue_after_the_countdown_goes_to_the_engine():
    ui, posted = _client(0)
    _choose(ui, "continue")
    assert [e.action for e in posted] == ["continue"]


def test_a_continue_for_a_warning_that_is_not_up_is_ignored():
    ui, posted = _client(0)
    _choose(ui, "continue", key="some-other-alert")
    assert posted == []


def test_the_clock_restarts_only_when_the_warning_does():
    ui, posted = _client(30)
    started = ui._alert_sent_at
    ui.handle(_block(pid=4243), SNAP)               # same app, another session key: same countdown
    assert ui._alert_sent_at == started
    both = _block()
    both = Verdict(**{**both.__dict__, "blocking_shares": ("todesk", "rustdesk"),
                      "shares": both.shares + (ShareFinding(app="rustdesk", name="RustDesk", kind="remote_control",
                                                            state="in_session", pids=(5,),
                                                            session_key="rustdesk:5:1"),)})
    ui.handle(both, SNAP)                           # a new app in the warning: the countdown restarts
    assert ui._alert_sent_at > started
