"""The watch loop: responders never block detection; user events reach the engine."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from agent.collectors.base import Collector
from agent.engine import Engine
from agent.model import ProcessInfo, Snapshot, UserEvent, WindowInfo
from agent.responders.base import Responder
from agent.runtime import ResponderWorker, Runtime, install_signal_handlers
from agent.signatures.loader import load_signatures
from agent.single_instance import InstanceLock
from tests.support.fake_os import FakeProcessTable
from tests.support.waiting import poll

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIGS = load_signatures()


class ScriptedCollector(Collector):
    """Returns a remote session with a bank window open (or not)."""

    platform = "linux"
    name = "scripted"

    def __init__(self):
        super().__init__(processes=FakeProcessTable(), connections=None, lang="en", user="alice")
        self.bank = True
        self.calls = 0
        self.fail_next = False

    def snapshot(self):
        self.calls += 1
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("collector bug")
        procs = (ProcessInfo(50, "rustdesk", cmdline=("rustdesk",), create_time=1.0),
                 ProcessInfo(51, "rustdesk", cmdline=("rustdesk", "--cm"), create_time=2.0))
        wins = (WindowInfo("中国工商银行 - Mozilla Firefox", pid=60),) if self.bank else ()
        return Snapshot(platform="linux", time=time.time(), processes=procs, windows=wins)

    def start_watch(self, wake):
        return None

    def stop_watch(self):
        pass

    def close(self):
        pass


class Recorder(Responder):
    name = "recorder"

    def __init__(self, delay=0.0, explode=False):
        self.verdicts = []
        self.delay = delay
        self.explode = explode
        self.post = None
        self.seen = threading.Event()

    def start(self, post_event=None):
        self.post = post_event

    def handle(self, verdict, snapshot):
        if self.explode:
            raise ValueError("responder bug")
        time.sleep(self.delay)
        self.verdicts.append(verdict)
        self.seen.set()


def wait_for(predicate, timeout=10.0):
    return poll(predicate, timeout, interval=0.01)


def make_runtime(*responders, poll=0.05):
    collector = ScriptedCollector()
    engine = Engine(SIGS)
    engine.known_executables.update({"name:rustdesk"})
    return Runtime(collector, engine, responders, poll_seconds=poll), collector


@contextlib.contextmanager
def running(runtime, join_seconds=10.0):
    """The runtime's loop on a thread for the ``with`` block; quit and joined after it, even on failure."""
    thread = threading.Thread(target=runtime.run, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        runtime.quit()
        thread.join(join_seconds)


def test_verdicts_reach_responders_and_a_crashing_one_does_not_stop_detection():
    good, bad = Recorder(), Recorder(explode=True)
    runtime, collector = make_runtime(good, bad)
    with running(runtime, join_seconds=5) as t:
        assert wait_for(lambda: len(good.verdicts) >= 3)
        assert good.verdicts[0].alert and good.verdicts[0].level == "block"
    assert not t.is_alive()
    bad_worker = [w for w in runtime.workers if w.responder is bad][0]
    assert bad_worker.failures >= 1 and runtime.ticks >= 3


def test_slow_responder_does_not_delay_ticks():
    slow = Recorder(delay=1.0)
    runtime, collector = make_runtime(slow, poll=0.02)
    with running(runtime):
        assert wait_for(lambda: runtime.ticks >= 20, timeout=5)
        # While the slow responder handled at most a few verdicts, detection went on.
        assert len(slow.verdicts) < runtime.ticks


def test_latest_wins_mailbox_keeps_only_newest():
    rec = Recorder(delay=0.2)
    worker = ResponderWorker(rec)
    worker.start(lambda e: None)
    snap = Snapshot(platform="linux")
    from agent.model import Verdict
    for i in range(10):
        worker.offer(Verdict(alert=False, level="none", time=float(i)), snap)
    assert wait_for(lambda: rec.verdicts and rec.verdicts[-1].time == 9.0)
    worker.close()
    assert len(rec.verdicts) <= 3  # the first, maybe one in between, and the newest


def test_user_continue_reaches_engine_and_snoozes():
    rec = Recorder()
    runtime, collector = make_runtime(rec, poll=0.05)
    with running(runtime):
        assert wait_for(lambda: rec.verdicts and rec.verdicts[-1].alert)
        rec.post(UserEvent("continue"))
        assert wait_for(lambda: rec.verdicts and not rec.verdicts[-1].alert and "snooze" in rec.verdicts[-1].actions)
        time.sleep(0.2)
        assert not rec.verdicts[-1].alert and rec.verdicts[-1].snoozed == ("rustdesk",)


def test_pause_shows_nothing_but_keeps_judging():
    rec = Recorder()
    runtime, collector = make_runtime(rec)
    runtime.pause(60)
    v = runtime.tick()
    assert v.level == "block" and not v.alert and v.freeze_pids == () and "paused by the user" in v.reasons
    runtime.resume()
    assert runtime.tick().alert


def test_collector_exception_does_not_end_the_loop():
    rec = Recorder()
    runtime, collector = make_runtime(rec, poll=0.02)
    collector.fail_next = True
    errors = []
    runtime.on_tick_error = errors.append
    with running(runtime):
        assert wait_for(lambda: len(rec.verdicts) >= 2, timeout=10)
        assert errors and isinstance(errors[0], RuntimeError)


def test_housekeeping_failure_is_contained():
    runtime, _ = make_runtime()
    calls = []
    runtime.housekeeping += [lambda now: 1 / 0, calls.append]
    runtime.tick()
    assert len(calls) == 1


def test_wake_triggers_an_immediate_tick():
    runtime, collector = make_runtime(poll=30)
    with running(runtime):
        assert wait_for(lambda: runtime.ticks >= 1)
        before = runtime.ticks
        runtime.wake()
        assert wait_for(lambda: runtime.ticks > before, timeout=5)  # long before the 30 s poll


def test_instance_lock(tmp_path):
    first, second = InstanceLock(str(tmp_path)), InstanceLock(str(tmp_path))
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def _env(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"), LANG="en_US.UTF-8",
               # Its own companion channel: another agent on the machine may hold the user's default one.
               SHAREGUARD_COMPANION_CHANNEL=str(tmp_path / "run" / "companion.sock"))
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("LC_ALL", None)
    return env


@pytest.mark.live
def test_run_without_display_is_a_clear_console_mode(tmp_path):
    env = _env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert "no graphical display found" in line and "console mode" in line
        # A second guard for the same user refuses to start and says why.
        second = subprocess.run([sys.executable, "-m", "agent", "run"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 0 and "already running" in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Traceback" not in out


@pytest.mark.live
def test_run_console_mode_in_chinese(tmp_path):
    env = dict(_env(tmp_path), LANG="zh_CN.UTF-8")
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "--console"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "控制台模式" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_signal_during_the_loops_own_wake_bookkeeping_does_not_deadlock():
    # A signal handler runs on the main thread between two bytecodes, possibly
    # while that thread holds the wake Event's lock (inside clear() or wait()).
    # This drives the installed handler at exactly that moment, on a helper
    # thread standing in for the main loop.
    runtime, _ = make_runtime()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        install_signal_handlers(runtime)
        handler = signal.getsignal(signal.SIGTERM)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)

    def loop_holding_the_wake_lock():
        with runtime._wake._cond:
            handler(signal.SIGTERM, None)

    t = threading.Thread(target=loop_holding_the_wake_lock, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "the signal handler deadlocked on the lock its own thread holds"
    assert wait_for(runtime._stop.is_set) and wait_for(runtime._wake.is_set)


# -- events first, polls as a safety net -------------------------------------------------------
class OwnChildren:
    """A /proc lister that keeps only this test's processes (others on the machine may be browsers)."""

    def __init__(self):
        from agent.collectors.processes import ProcfsLister

        self.inner = ProcfsLister()
        self.allowed = {os.getpid()}

    def list(self):
        return {pid: token for pid, token in self.inner.list().items() if pid in self.allowed}

    def quick(self, pid):
        return self.inner.quick(pid)


def _quiet_runtime(poll, quiet_poll, with_pages=False):
    from agent.collectors._linux import LinuxApi, LinuxCollector
    from agent.collectors.processes import ProcessTable
    from tests.support.fake_os import FakeX11Windows, RecordedPipeWire

    lister = OwnChildren()
    collector = LinuxCollector(LinuxApi(windows=FakeX11Windows(), capture=RecordedPipeWire()),
                               processes=ProcessTable(lister=lister), connections=None, lang="en")
    if with_pages:
        # As `shareguard run` wires it (agent/app.py): the OS collector inside the companion's wrapper.
        from agent.companion.collector import WithPages
        from agent.companion.receiver import CompanionReceiver

        collector = WithPages(collector, CompanionReceiver("/nonexistent/companion.sock"))
    rec = Recorder()
    runtime = Runtime(collector, Engine(SIGS), [rec], poll_seconds=poll)
    runtime.quiet_poll_seconds = quiet_poll
    return runtime, collector, lister, rec


@pytest.mark.parametrize("with_pages", [False, True], ids=["os-collector", "as-run-wires-it"])
def test_a_process_started_while_no_candidate_runs_is_seen_by_the_slow_poll(tmp_path, with_pages):
    from tests.support.fakeapps import start_fake_process, stop

    runtime, collector, lister, rec = _quiet_runtime(poll=0.05, quiet_poll=0.5, with_pages=with_pages)
    # The interest reached the OS collector, not only a wrapper around it.
    assert getattr(collector, "inner", collector).interest is not None
    proc = None
    try:
        with running(runtime):
            assert wait_for(lambda: runtime.ticks >= 1)
            assert collector.quiet and runtime.next_wait(runtime.poll_seconds) == 0.5
            proc = start_fake_process("rustdesk", ["--cm"], directory=str(tmp_path))
            lister.allowed.add(proc.pid)  # nothing wakes the loop: only the slow poll can see it
            assert wait_for(lambda: any(s.app == "rustdesk" for v in rec.verdicts for s in v.shares), 30)
            assert not collector.quiet and runtime.next_wait(runtime.poll_seconds) == 0.05
    finally:
        if proc is not None:
            stop(proc)


@pytest.mark.parametrize("with_pages", [False, True], ids=["os-collector", "as-run-wires-it"])
def test_a_window_event_wakes_a_quiet_loop_at_once(with_pages):
    runtime, collector, _lister, rec = _quiet_runtime(poll=3600, quiet_poll=3600, with_pages=with_pages)
    with running(runtime):
        assert wait_for(lambda: runtime.ticks >= 1)
        assert collector.quiet
        before = runtime.ticks
        runtime.wake()  # what the window watcher calls on an event
        assert wait_for(lambda: runtime.ticks > before), "the hour-long poll held back a window event"


def test_a_one_tick_drop_of_the_bank_window_neither_ends_the_alert_nor_waits_out_a_real_end():
    collector = ScriptedCollector()
    runtime = Runtime(collector, Engine(SIGS), [], poll_seconds=3600)
    assert runtime.tick().alert
    collector.bank = False  # e.g. the page navigating: one read without its title
    assert runtime.tick().alert and runtime.last_verdict.alert
    collector.bank = True
    assert runtime.tick().alert
    # A real end: the bank window stays closed. The hour-long poll does not hold the end back:
    # the loop looks again by itself when the hold is up.
    runtime.alert_hold.seconds = 0.3
    collector.bank = False
    rec = Recorder()
    runtime.add_responders([rec])
    with running(runtime):
        assert wait_for(lambda: rec.verdicts and not rec.verdicts[-1].alert, 10), "the alert never ended"
        assert rec.verdicts[0].alert  # the first look after the close was still held


def test_the_users_choice_ends_a_held_alert_at_once():
    collector = ScriptedCollector()
    runtime = Runtime(collector, Engine(SIGS), [], poll_seconds=3600)
    assert runtime.tick().alert
    runtime.post_event(UserEvent("stop_sharing"))
    collector.bank = False
    assert not runtime.tick().alert
