"""The watch loop: collectors -> engine -> responders.

Detection runs on the main thread; each responder runs on its own thread
behind a one-slot, latest-wins mailbox, so a tray host that hangs or a sink
that is down can never delay the next judgement. Window events (X11
PropertyNotify, SetWinEventHook) wake the loop at once; a slow poll is the
safety net. The user's choices on the warning arrive through
:meth:`Runtime.post_event` and ride on the next snapshot, so the engine
handles them exactly as ``shareguard replay`` does.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from typing import Callable, List, Optional, Sequence, Tuple

from agent.alert_hold import AlertHold
from agent.engine import Engine
from agent.engine.interest import ProcessInterest
from agent.model import Snapshot, UserEvent, Verdict
from agent.responders.base import Responder

log = logging.getLogger("shareguard.runtime")

#: Do not judge more often than this, however many window events arrive.
MIN_TICK_SECONDS = 0.03
#: The poll while no meeting, remote-control or browser process runs: then
#: only a new process can start a share, and window events still wake the
#: loop at once (docs/collectors-linux.md, "Events first").
QUIET_POLL_SECONDS = 5.0


class ResponderWorker:
    """Runs one responder on its own thread; only the newest verdict waits.

    A verdict is dropped only when a newer one replaces it before the
    responder got to it: responders act on state, and the newest state is
    the one that matters. Exceptions are logged and the worker carries on.
    """

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self._cond = threading.Condition()
        self._pending: Optional[Tuple[Verdict, Snapshot]] = None
        self._closed = False
        self.handled = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._loop, name=f"responder-{responder.name}", daemon=True)

    def start(self, post_event: Callable[[UserEvent], None]) -> None:
        try:
            self.responder.start(post_event)
        except Exception:  # a responder that cannot start must not stop the guard
            self.failures += 1
            log.exception("responder %s failed to start; detection continues without it", self.responder.name)
        self._thread.start()

    def offer(self, verdict: Verdict, snapshot: Snapshot) -> None:
        with self._cond:
            self._pending = (verdict, snapshot)
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed and self._pending is None:
                    return
                item, self._pending = self._pending, None
            if item is None:
                continue  # not reached: the wait above ends with a verdict or returns
            try:
                self.responder.handle(*item)
                self.handled += 1
            except Exception:
                self.failures += 1
                log.exception("responder %s failed on a verdict; it will get the next one", self.responder.name)

    def close(self, timeout: float = 3.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)
        try:
            self.responder.close()
        except Exception:
            log.exception("responder %s failed to close", self.responder.name)


class Runtime:
    """Owns the loop; also the ``controls`` object the tray menu drives."""

    def __init__(self, collector, engine: Engine, responders: Sequence[Responder] = (),
                 poll_seconds: float = 2.0, signature_source=None, state_store=None,
                 on_tick_error: Optional[Callable[[Exception], None]] = None) -> None:
        self.collector = collector
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.quiet_poll_seconds = max(poll_seconds, QUIET_POLL_SECONDS)
        self.signature_source = signature_source
        self.state_store = state_store
        self.on_tick_error = on_tick_error
        self.workers: List[ResponderWorker] = [ResponderWorker(r) for r in responders]
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending_events: List[UserEvent] = []
        self.paused_until: float = 0.0
        self.last_verdict: Optional[Verdict] = None
        self.ticks = 0
        #: Callables run after each tick with a monotonic clock reading (so a
        #: clock set back cannot stall them); each keeps its own pace
        #: (heartbeat file, policy file watch). Failures are logged only.
        self.housekeeping: List[Callable[[float], None]] = []
        #: An alert ends for responders only once it stayed ended a moment (agent/alert_hold.py).
        self.alert_hold = AlertHold()
        self._share_interest()

    def _share_interest(self) -> None:
        """Tell the collector which processes the current signatures look at."""
        self.collector.set_interest(ProcessInterest(self.engine.signatures, self.collector.platform))

    def next_wait(self, backoff: float) -> float:
        """Seconds to wait for a wake before the next safety-net tick."""
        wait = backoff
        if backoff == self.poll_seconds and self.collector.quiet:
            wait = self.quiet_poll_seconds
        held = self.alert_hold.remaining(time.monotonic())
        if held is not None:
            wait = min(wait, held + MIN_TICK_SECONDS)  # look again the moment the hold is up
        return wait

    def add_responders(self, responders: Sequence[Responder]) -> None:
        """Add responders before :meth:`run` (the UI needs the runtime to exist first)."""
        self.workers += [ResponderWorker(r) for r in responders]

    # -- controls (thread-safe; called by the tray, signals, tests) -------------
    def post_event(self, event: UserEvent) -> None:
        """Deliver a user's choice to the engine with the next snapshot, now."""
        with self._lock:
            self._pending_events.append(event)
        self._wake.set()

    def wake(self) -> None:
        """Judge again as soon as possible (a window appeared or changed)."""
        self._wake.set()

    def pause(self, seconds: float) -> None:
        """Show no warnings for ``seconds`` (detection and logging go on)."""
        self.paused_until = time.time() + seconds
        self._wake.set()

    def resume(self) -> None:
        self.paused_until = 0.0
        self._wake.set()

    @property
    def paused(self) -> bool:
        return time.time() < self.paused_until

    def quit(self) -> None:
        self._stop.set()
        self._wake.set()

    # -- the loop ----------------------------------------------------------------
    def tick(self) -> Verdict:
        """Collect, judge and hand the verdict to every responder."""
        if self.signature_source is not None:
            try:
                if self.signature_source.check():
                    self.engine.set_signatures(self.signature_source.current())
                    self._share_interest()
            except Exception:  # a broken bundle keeps the last good set (the source reports it)
                log.exception("signature reload failed; keeping the current signatures")
        snapshot = self.collector.snapshot()
        with self._lock:
            events, self._pending_events = tuple(self._pending_events), []
        if events:
            snapshot = dataclasses.replace(snapshot, events=snapshot.events + events)
        known_before = len(self.engine.known_executables)
        verdict = self.engine.evaluate(snapshot)
        if self.paused:
            # The user paused the guard from the tray: nothing is shown or
            # frozen, but everything is still judged and logged.
            verdict = dataclasses.replace(verdict, alert=False, freeze_pids=(),
                                          actions=("log",) if verdict.level != "none" else (),
                                          reasons=verdict.reasons + ("paused by the user",))
        verdict = self.alert_hold.apply(verdict, time.monotonic(), user_chose=bool(events), paused=self.paused)
        if self.state_store is not None and len(self.engine.known_executables) != known_before:
            self.state_store.save_known_executables(self.engine.known_executables)
        self.last_verdict = verdict
        self.ticks += 1
        for worker in self.workers:
            worker.offer(verdict, snapshot)
        now = time.monotonic()
        for task in self.housekeeping:
            try:
                task(now)
            except Exception:
                log.exception("housekeeping task failed; detection continues")
        return verdict

    def run(self) -> None:
        """Run until :meth:`quit` (or SIGINT/SIGTERM via :func:`install_signal_handlers`)."""
        for worker in self.workers:
            worker.start(self.post_event)
        watcher = None
        try:
            watcher = self.collector.start_watch(self.wake)
        except Exception:
            log.exception("window events unavailable; polling every %.1fs", self.poll_seconds)
        backoff = self.poll_seconds
        last = 0.0
        try:
            while not self._stop.is_set():
                since = time.monotonic() - last
                if since < MIN_TICK_SECONDS:
                    time.sleep(MIN_TICK_SECONDS - since)
                last = time.monotonic()
                self._wake.clear()
                if self._stop.is_set():
                    # quit() during the pause above set the wake that clear() just dropped.
                    break
                try:
                    self.tick()
                    backoff = self.poll_seconds
                except Exception as exc:
                    # Collectors are written not to raise; if one does anyway,
                    # keep guarding and slow down so a crash loop stays cheap.
                    log.exception("a detection pass failed; retrying")
                    if self.on_tick_error:
                        self.on_tick_error(exc)
                    backoff = min(max(backoff * 2, self.poll_seconds), 30.0)
                # quit() may have come between the loop's check and clear(): look
                # again, or a slow (quiet) poll would hold the exit back.
                if not self._stop.is_set():
                    self._wake.wait(self.next_wait(backoff))
        finally:
            if watcher is not None:
                self.collector.stop_watch()
            for worker in self.workers:
                worker.close()
            self.collector.close()


def install_signal_handlers(runtime: Runtime) -> None:
    """SIGTERM/SIGINT end the loop cleanly (remote tools get resumed on close)."""
    def handler(signum, frame):
        # A handler runs on the main thread between two bytecodes, possibly while
        # the loop holds the wake Event's (non-reentrant) lock in clear()/wait():
        # quit() here could deadlock, so a short-lived thread delivers it.
        threading.Thread(target=runtime.quit, name="shareguard-quit", daemon=True).start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread, or not supported here
            pass
