"""The alert hold: a momentary drop does not close the warning or resume a frozen tool; a real end does."""

import pytest

from agent.alert_hold import AlertHold
from agent.engine import Engine
from agent.model import ProcessInfo, Snapshot, WindowInfo
from agent.signatures.loader import load_signatures

SIGS = load_signatures()
RUSTDESK = (ProcessInfo(50, "rustdesk", cmdline=("rustdesk",), create_time=1.0),
            ProcessInfo(51, "rustdesk", cmdline=("rustdesk", "--cm"), create_time=2.0))
BANK = (WindowInfo("中国工商银行 - Mozilla Firefox", pid=60),)
BETWEEN_PAGES = (WindowInfo("Mozilla Firefox", pid=60),)  # a window between two pages: no page title yet


def judge(processes, windows, t):
    return Engine(SIGS).evaluate(Snapshot(platform="linux", time=t, processes=processes, windows=windows))


@pytest.fixture(scope="module")
def verdicts():
    alert = judge(RUSTDESK, BANK, 1.0)
    dropped = judge(RUSTDESK, (), 2.0)
    share_gone = judge(RUSTDESK[:1], BANK, 3.0)
    assert alert.alert and not dropped.alert and not share_gone.alert  # the premises
    assert dropped.shares and "rustdesk" in alert.blocking_shares
    return alert, dropped, share_gone


def test_a_drop_shorter_than_the_hold_keeps_the_alert(verdicts):
    alert, dropped, _ = verdicts
    hold = AlertHold(seconds=1.5)
    assert hold.apply(alert, 10.0, user_chose=False, paused=False) is alert
    assert hold.apply(dropped, 10.1, user_chose=False, paused=False) is alert
    assert hold.holding and hold.remaining(10.6) == pytest.approx(1.0)
    assert hold.apply(dropped, 11.5, user_chose=False, paused=False) is alert
    # The bank page's title is back: the alert goes on, and a later drop starts a new hold.
    assert hold.apply(alert, 11.55, user_chose=False, paused=False) is alert
    assert not hold.holding and hold.remaining(11.6) is None
    assert hold.apply(dropped, 12.0, user_chose=False, paused=False) is alert


def test_an_end_that_lasts_the_hold_is_handed_on(verdicts):
    alert, dropped, _ = verdicts
    hold = AlertHold(seconds=1.5)
    hold.apply(alert, 10.0, user_chose=False, paused=False)
    assert hold.apply(dropped, 10.2, user_chose=False, paused=False) is alert
    assert hold.apply(dropped, 11.7, user_chose=False, paused=False) is dropped
    assert not hold.holding and hold.remaining(12.0) is None
    assert hold.apply(dropped, 12.0, user_chose=False, paused=False) is dropped


@pytest.mark.parametrize("why", ["user chose", "paused", "share stopped", "no hold"])
def test_a_real_end_is_handed_on_at_once(verdicts, why):
    alert, dropped, share_gone = verdicts
    hold = AlertHold(seconds=0 if why == "no hold" else 1.5)
    hold.apply(alert, 10.0, user_chose=False, paused=False)
    after = share_gone if why == "share stopped" else dropped
    shown = hold.apply(after, 10.1, user_chose=why == "user chose", paused=why == "paused")
    assert shown is after and not hold.holding


def test_nothing_is_held_without_an_alert_before(verdicts):
    _, dropped, _ = verdicts
    hold = AlertHold(seconds=1.5)
    assert hold.apply(dropped, 10.0, user_chose=False, paused=False) is dropped
    assert not hold.holding


def test_a_window_between_pages_is_the_drop_the_hold_is_for():
    assert not judge(RUSTDESK, BETWEEN_PAGES, 2.0).alert
