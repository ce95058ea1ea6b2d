"""AuditLog: ``emit()`` never blocks; each sink drains its own queue on its own thread.

Detection calls ``emit`` from the responder thread; a sink that is slow or
down (syslog over TCP to a dead host, a full disk) only fills its own
bounded queue. Overflow is counted per sink and reported as an
``events_dropped`` event as soon as that sink has room again, so a loss is
visible in the very channel that lost it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Dict, List, Optional

from agent.audit import losses
from agent.audit.events import AuditContext, device_id, make_event
from agent.audit.losses import LossLedger
from agent.sinks.base import Sink

log = logging.getLogger("shareguard.audit")
_STOP = object()


class _SinkWorker:
    """One sink, one bounded queue, one daemon thread, one slot of loss counters.

    Every event offered is either written or counted lost in the durable
    ledger (agent/audit/losses.py). The sink's own ``events_dropped`` report
    is written straight into the sink by this thread and the count is
    cleared only once that write succeeded, so a report lost to the same
    fault is retried until delivery works again. The other sinks get one
    courtesy copy when the loss is first seen.
    """

    def __init__(self, sink: Sink, audit: "AuditLog", size: int, ledger: LossLedger) -> None:
        self.sink = sink
        self.audit = audit
        self.ledger = ledger
        self.slot = ledger.slot(sink.name)
        self.queue: "queue.Queue[Any]" = queue.Queue(maxsize=size)
        self.overflow = 0          # dropped because the queue was full (this run)
        self.lost = 0              # every loss of this run, whatever the reason
        self._told_others = 0
        #: Set by close() when this thread outlived its time: stop, the queue was counted lost.
        self.abandoned = False
        self.thread = threading.Thread(target=self._run, name=f"shareguard-sink-{sink.name}", daemon=True)
        self.thread.start()

    def offer(self, event: Dict[str, Any]) -> bool:
        # Counted before the put: a kill between the two counts one event too many, never one too few.
        self.ledger.offered(self.slot)
        try:
            self.queue.put_nowait(event)
            return True
        except queue.Full:
            self.ledger.settled(self.slot, lost=losses.QUEUE_FULL)
            self.overflow += 1
            self.lost += 1
            return False

    def count_lost(self, count: int, reason: int) -> None:
        """Losses the writer found on its own (an HTTP spool over its size limit)."""
        self.ledger.lost(self.slot, reason, count)
        self.lost += count

    def _run(self) -> None:
        while True:
            try:
                item = self.queue.get(timeout=1.0)
            except queue.Empty:
                self.sink.tick()
                self._report_losses()
                continue
            burst = [item]
            # Drain what is queued so one flush (fsync) covers the burst.
            while len(burst) < 512:
                try:
                    burst.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            stop = False
            written = 0
            for ev in burst:
                if ev is _STOP:
                    stop = True
                    continue
                ok = self.sink.emit(ev)
                if self.abandoned:
                    return     # close() already counted this event and the rest as lost
                if ok:
                    written += 1
                    self.ledger.settled(self.slot)
                elif ev.get("type") == "events_dropped":
                    # A lost courtesy copy of a loss report is not a new loss (two dead
                    # sinks would otherwise report to each other forever).
                    self.ledger.settled(self.slot)
                else:
                    self.lost += 1
                    self.ledger.settled(self.slot, lost=losses.WRITE_FAILED)
            if not self.sink.flush() and written:
                # Written but not made durable (fsync failed on a full disk): count them as lost.
                self.count_lost(written, losses.WRITE_FAILED)
            self.sink.tick()
            # Report before marking the burst done, so flush() also waits for the report.
            self._report_losses()
            for _ in burst:
                self.queue.task_done()
            if stop:
                return

    def _report_losses(self) -> None:
        if self.lost > self._told_others:
            count = self.lost - self._told_others
            self._told_others = self.lost
            self.audit.emit_to_others(self, "events_dropped", sink=self.sink.name, count=count,
                                      reason="lost here; this sink reports the exact count itself when it works again")
        for reason, count in enumerate(self.ledger.unreported(self.slot)):
            if not count:
                continue
            event = make_event("events_dropped", self.audit.context, sink=self.sink.name, count=count,
                               reason=losses.REASONS[reason])
            if not (self.sink.emit(event) and self.sink.flush()):
                return        # still failing: the count stays and is retried on the next burst or tick
            self.ledger.reported(self.slot, reason, count)
        self.ledger.sync()


class AuditLog:
    """The agent's audit channel."""

    def __init__(self, context: AuditContext, sinks: List[Sink], queue_size: int = 10000,
                 problems: Optional[List[str]] = None, queue_sizes: Optional[Dict[str, int]] = None,
                 ledger: Optional[LossLedger] = None) -> None:
        self.context = context
        self.sinks = list(sinks)
        self.problems = list(problems or [])
        self.emitted = 0
        sizes = queue_sizes or {}
        #: Durable loss counters (in memory when no state folder is given).
        self.ledger = ledger or LossLedger()
        self._workers = [_SinkWorker(s, self, sizes.get(s.name, queue_size), self.ledger) for s in self.sinks]
        self._closed = False
        #: The folder the file sink and the HTTP spool use (the tray opens it).
        self.log_dir = ""

    @classmethod
    def from_policy(cls, policy, state_dir: Optional[str] = None, **kwargs: Any) -> "AuditLog":
        """Build the log and its sinks from an :class:`agent.policy.Policy`."""
        from agent.policy import paths
        from agent.sinks.factory import build_sinks
        state_dir = state_dir or paths.state_dir()
        context = AuditContext(device_id=device_id(state_dir),
                               include_titles=bool(policy.get("events_include_titles")))
        log_dir, fallback = _log_dir(policy.get("log_dir") or "", context.user)
        holder: Dict[str, AuditLog] = {}

        def on_drop(sink: str, count: int, why: str) -> None:
            for worker in holder["log"]._workers if "log" in holder else ():
                if worker.sink.name == sink:
                    worker.count_lost(count, losses.SPOOL_FULL)

        sinks, problems = build_sinks(policy.get("sinks") or [], log_dir, on_drop)
        for p in problems:
            log.warning("%s", p)
        kwargs.setdefault("ledger", LossLedger(state_dir))
        audit = cls(context, sinks, problems=problems, **kwargs)
        audit.log_dir = log_dir
        holder["log"] = audit
        if fallback:
            log.warning("%s", fallback["reason"])
            audit.emit("log_dir_fallback", **fallback)
        return audit

    def emit(self, type_: str, **fields: Any) -> Dict[str, Any]:
        """Record one event (see agent.audit.events.EVENT_TYPES); returns it.

        Never blocks and never raises for a sink problem; an unknown type or
        missing field raises ValueError (a bug, caught by the tests).
        """
        event = make_event(type_, self.context, **fields)
        self.emitted += 1
        for worker in self._workers:
            if self._closed:
                # Too late for the queue: counted, and reported by the sink at the next start.
                worker.count_lost(1, losses.NOT_WRITTEN)
            else:
                worker.offer(event)
        return event

    def emit_to_others(self, source: "_SinkWorker", type_: str, **fields: Any) -> None:
        """A courtesy copy of ``source``'s loss report for the other sinks (its own is durable)."""
        event = make_event(type_, self.context, **fields)
        for worker in self._workers:
            if worker is not source and not self._closed:
                try:
                    worker.queue.put_nowait(event)
                except queue.Full:
                    continue      # a courtesy copy: not counted (or two dead sinks would report forever)
                worker.ledger.offered(worker.slot)

    def report_policy(self, policy) -> None:
        """Emit what loading ``policy`` found: insecure/rejected sources, then policy_loaded."""
        for type_, fields in policy.notices:
            self.emit(type_, **fields)
        for problem in self.problems:
            self.emit("policy_rejected", source="sinks", problems=[problem])
        self.emit("policy_loaded", mode=policy.get("mode"),
                  sources=sorted({s for s in policy.sources.values() if s != "default"}),
                  locked=sorted(policy.locked))

    @property
    def dropped(self) -> int:
        """Events lost in this run, over all sinks (each is also in the durable ledger)."""
        return sum(w.lost for w in self._workers)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queue is drained (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        for w in self._workers:
            while w.queue.unfinished_tasks and time.monotonic() < deadline:
                time.sleep(0.005)
        return all(not w.queue.unfinished_tasks for w in self._workers)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers after they wrote what is queued; close the sinks."""
        if self._closed:
            return
        deadline = time.monotonic() + timeout
        # Twice: loss reports raised while draining one sink land in the others' queues.
        self.flush(timeout / 3)
        self.flush(timeout / 3)
        self._closed = True
        for w in self._workers:
            try:
                w.queue.put(_STOP, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                pass
        for w in self._workers:
            w.thread.join(max(0.0, deadline - time.monotonic()))
            if w.thread.is_alive():
                # A stuck sink (a peer that never reads): what it still has queued is
                # lost. Count it now, durably; the sink reports it at the next start.
                # The one event it may be sending right now is counted too.
                w.abandoned = True
            w.lost += w.ledger.abandon(w.slot)
        for s in self.sinks:
            s.close()
        self.ledger.sync()


def _log_dir(machine_dir: str, user: str):
    """``(folder, fallback)``: where this user's file sink and spool live.

    A machine ``log_dir`` is shared by every user of the machine, so each
    user writes to an own 0700 subfolder of it, created without following
    links. If that is impossible (no right to create it, a planted link,
    another account's folder) events go to the user's own log folder and
    ``fallback`` holds the fields of a ``log_dir_fallback`` event
    (docs/security.md, "a second local user").
    """
    from agent.policy import paths
    from agent.safe_files import private_dir, user_subfolder

    own = paths.default_log_dir()
    if machine_dir:
        try:
            return user_subfolder(machine_dir, user), None
        except OSError as exc:
            fallback = {"requested": machine_dir, "used": own,
                        "reason": f"cannot use a private folder for {user} in {machine_dir}: {exc}"}
    else:
        fallback = None
    try:
        private_dir(own)
    except OSError as exc:
        log.warning("log folder %s: %s", own, exc)   # the file sink reports its own failures
    return own, fallback
