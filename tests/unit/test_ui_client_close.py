"""UiClient.close() and a helper restart under way: no helper is left behind.

The supervisor restarts a dead or deaf helper on its own thread. A close() that
came while a restart was starting the new helper used to return with the old
one, and the new helper lived on with the alert's warning (seen in the GUI tier
run in a loop: a warning on the next test's display). close() now waits for a
start under way, and nothing starts after it.
"""

import threading

from agent.responders.ui_client import UiClient


def test_close_waits_for_a_restart_under_way_and_nothing_starts_after_it():
    ui = UiClient({"countdown_seconds": 3}, "en", tray=False)
    entered, release = threading.Event(), threading.Event()
    started = []

    def slow_start():
        entered.set()
        assert release.wait(10)
        started.append("helper")
    ui._start_helper = slow_start

    restart = threading.Thread(target=ui._spawn)
    restart.start()
    assert entered.wait(10)
    closer = threading.Thread(target=ui.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive(), "close() returned while a helper was being started"
    release.set()
    restart.join(10)
    closer.join(10)
    assert not closer.is_alive() and started == ["helper"]
    ui._spawn()   # the supervisor's next attempt, after close(): nothing starts
    assert started == ["helper"]
