"""Freezes remote-control tools while the warning is up; ends them on request.

The engine says *which* pids (Verdict.freeze_pids, Verdict.end_pids); this
responder makes the machine match, declaratively:

- a pid in ``freeze_pids`` is suspended together with its children (a
  remote tool often draws or injects input from a child process), and is
  resumed as soon as it drops out of the list (the user chose "continue",
  or the danger is over);
- a pid in ``end_pids`` is terminated with its children, resumed so it can
  act on the signal, and killed if it is still there after the grace period;
  what was ended is reported to the user (``on_ended``) and to the audit log.

Which processes it will touch (decided here, not in the engine):
never pid 0/1, never this process, its ancestors or its helpers (the UI
helper, named by ``protect``), and never the tree below any of those; as a
normal user only processes of the same user (others would be refused
anyway, and trying would only add noise); as root any other process,
because remote-control services (ToDesk_Service, rustdesk --service) run as
root while the user's session is being watched. Never a compositor, portal or
session process either (agent.protected_processes): an OS-level share is
performed by them, and ending them ends the session, not the share.

Identity: a pid named by a verdict is checked against the snapshot's
``create_time``, and every signal is sent through agent.responders.signalling,
which checks it again at the moment of signalling (race-free with a pidfd on
Linux), so a pid reused by an unrelated process is never stopped or ended.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import psutil

from agent.audit import AuditTrail
from agent.audit.events import EVENT_TYPES
from agent.model import Snapshot, Verdict
from agent.policy.reader import PolicyReader
from agent.protected_processes import never_signal_reason
from agent.responders import signalling
from agent.responders.base import EventSink, Responder

log = logging.getLogger(__name__)

#: (pid, create_time): a pid alone may be reused by an unrelated process.
ProcKey = Tuple[int, float]

#: More descendants than this and the tree is not a remote tool's (see _tree).
MAX_TREE = 32


def _key(proc: psutil.Process) -> ProcKey:
    return proc.pid, proc.create_time()


class ProcessController(Responder):
    """Reconciles Verdict.freeze_pids (suspend/resume) and Verdict.end_pids (end)."""

    name = "process-control"

    def __init__(self, audit: Optional[AuditTrail] = None, grace_seconds: float = 3.0,
                 on_ended: Optional[Callable[[List[Dict]], None]] = None, own_pid: Optional[int] = None,
                 protect: Callable[[], Set[int]] = set) -> None:
        self.audit = audit
        self.grace_seconds = float(grace_seconds)
        self.on_ended = on_ended
        self.own_pid = own_pid if own_pid is not None else os.getpid()
        #: Our own helper processes (the UI helper): never frozen or ended.
        self.protect = protect
        self.is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        self._username = self._own_username()
        #: root pid named by the engine -> the processes we suspended for it.
        self.frozen: Dict[int, List[psutil.Process]] = {}
        self._ended: Set[ProcKey] = set()
        self._lock = threading.Lock()

    def _own_username(self) -> Optional[str]:
        try:
            return psutil.Process(self.own_pid).username()
        except psutil.Error:
            return None

    # --- Responder ---------------------------------------------------------------
    def start(self, post_event: Optional[EventSink] = None) -> None:
        """Nothing to start; listed for the Responder contract."""

    def apply_policy(self, policy: PolicyReader, lang: str) -> None:
        """A reloaded policy may change the grace period before a kill."""
        value = policy.get("end_grace_seconds")
        if value is not None:
            self.grace_seconds = float(value)

    def handle(self, verdict: Verdict, snapshot: Snapshot) -> None:
        """Make the frozen set equal ``verdict.freeze_pids``; end ``verdict.end_pids``."""
        # The start times the snapshot saw: the identity of each pid the verdict names.
        started = {p.pid: p.create_time for p in snapshot.processes if p.create_time}
        with self._lock:
            self._reconcile_frozen(set(verdict.freeze_pids) - set(verdict.end_pids), started)
        if verdict.end_pids:
            self.end(verdict.end_pids, started)

    def close(self) -> None:
        """Resume everything still frozen: nothing may stay stopped once the guard is gone."""
        with self._lock:
            self._reconcile_frozen(set())

    # --- safety ------------------------------------------------------------------------
    def protected(self, proc: psutil.Process) -> Optional[str]:
        """Why ``proc`` must not be touched, or None when it may be."""
        try:
            if proc.pid in (0, 1):
                return "system process"
            if proc.pid == self.own_pid:
                return "ShareGuard itself"
            me = psutil.Process(self.own_pid)
            if proc.pid in {p.pid for p in me.parents()}:
                return "a parent of ShareGuard"
            if proc.pid in self.protect():
                return "part of ShareGuard"
            if not self.is_root and self._username and proc.username() != self._username:
                return "belongs to another user"
            desktop = never_signal_reason(proc.name())
            if desktop:
                return f"{proc.name()} is {desktop}"
        except psutil.NoSuchProcess:
            return "gone"
        except psutil.AccessDenied:
            return "access denied"
        return None

    def _tree(self, pid: int, started: Optional[float] = None) -> List[psutil.Process]:
        """The process and its descendants that we may touch, parent first.

        ``started`` is the root's create_time in the snapshot: if the pid now
        belongs to a process started at another time, it was reused and
        nothing is touched. A protected root protects its whole tree: the
        descendants of pid 1 or of our own parent are the whole session,
        never "the remote tool".
        """
        try:
            root = psutil.Process(pid)
            if started is not None and abs(root.create_time() - started) > signalling.TOLERANCE:
                log.warning("not touching pid %s: it was reused by %s since the snapshot", pid, root.name())
                self._emit("process_freeze_failed", pid=pid, reason="pid reused by another process")
                return []
        except psutil.Error:
            return []
        why = self.protected(root)
        if why is not None:
            if why != "gone":
                log.warning("not touching pid %s or its children: %s", pid, why)
            return []
        try:
            children = root.children(recursive=True)
        except psutil.Error:
            children = []
        if len(children) > MAX_TREE:
            # A remote tool has a handful of helpers; hundreds means the engine
            # named something like a session manager: act on the root only.
            log.warning("pid %s has %d descendants; acting on it alone", pid, len(children))
            children = []
        procs = [root] + children
        allowed = []
        for proc in procs:
            why = self.protected(proc)
            if why is None:
                allowed.append(proc)
            elif why != "gone":
                log.warning("not touching pid %s: %s", proc.pid, why)
        return allowed

    # --- freezing -------------------------------------------------------------------------
    def _reconcile_frozen(self, wanted: Set[int], started: Optional[Dict[int, float]] = None) -> None:
        for pid in list(self.frozen):
            if pid not in wanted:
                self._resume(pid, self.frozen.pop(pid))
        for pid in sorted(wanted - set(self.frozen)):
            self.frozen[pid] = self._suspend(pid, (started or {}).get(pid))

    def _suspend(self, pid: int, started: Optional[float] = None) -> List[psutil.Process]:
        done = []
        # Parent first, so it cannot start a new child while we walk the tree.
        for proc in self._tree(pid, started):
            try:
                name = proc.name()
                _signal(proc, "stop")
                done.append(proc)
                self._emit("process_frozen", pid=proc.pid, name=name, root_pid=pid)
            except signalling.PidReused:
                log.warning("not freezing pid %s: reused by another process", proc.pid)
                self._emit("process_freeze_failed", pid=proc.pid, reason="pid reused by another process")
            except psutil.NoSuchProcess:
                continue
            except psutil.AccessDenied as exc:
                log.warning("cannot freeze pid %s: %s", proc.pid, exc)
                self._emit("process_freeze_failed", pid=proc.pid, reason="access denied")
        return done

    def _resume(self, root_pid: int, procs: List[psutil.Process]) -> None:
        for proc in procs:
            try:
                # The identity check in _signal: never resume a reused pid.
                if proc.is_running():
                    _signal(proc, "cont")
                    self._emit("process_resumed", pid=proc.pid, name=proc.name(), root_pid=root_pid)
            except psutil.Error as exc:
                log.debug("resume of pid %s: %s", proc.pid, exc)

    # --- ending ---------------------------------------------------------------------------
    def end(self, pids, started: Optional[Dict[int, float]] = None) -> List[Dict]:
        """Terminate ``pids`` and their children, kill what outlives the grace period.

        ``started``: pid -> create_time from the snapshot (a reused pid is left
        alone). Returns one ``{pid, name, how}`` per process ended (how:
        terminated, killed, or failed) and reports the list through ``on_ended``.
        """
        targets: List[psutil.Process] = []
        with self._lock:
            for pid in pids:
                for proc in self._tree(pid, (started or {}).get(pid)):
                    try:
                        key = _key(proc)
                    except psutil.Error:
                        continue
                    if key not in self._ended:
                        self._ended.add(key)
                        targets.append(proc)
                # Ending supersedes freezing: forget it, the processes are going.
                self.frozen.pop(pid, None)
        if not targets:
            return []
        names = {}
        for proc in targets:
            try:
                names[proc.pid] = proc.name()
                _signal(proc, "term")
                # A stopped process keeps a SIGTERM pending until it runs again.
                _signal(proc, "cont")
            except psutil.NoSuchProcess:
                pass
            except psutil.AccessDenied as exc:
                log.warning("cannot end pid %s: %s", proc.pid, exc)
        gone, alive = wait_dead(targets, self.grace_seconds)
        results = [{"pid": p.pid, "name": names.get(p.pid, "?"), "how": "terminated"} for p in gone]
        for proc in alive:
            try:
                _signal(proc, "kill")
            except psutil.NoSuchProcess:
                pass
            except psutil.Error as exc:
                log.warning("cannot kill pid %s: %s", proc.pid, exc)
        _, still = wait_dead(alive, 2.0)
        for proc in alive:
            how = "failed" if proc in still else "killed"
            results.append({"pid": proc.pid, "name": names.get(proc.pid, "?"), "how": how})
            if how == "failed":
                log.warning("cannot kill pid %s (%s)", proc.pid, names.get(proc.pid, "?"))
        for r in results:
            self._emit("process_ended", **r)
        if self.on_ended:
            try:
                self.on_ended([r for r in results if r["how"] != "failed"])
            except Exception:
                log.exception("reporting ended processes failed")
        return results

    def _emit(self, event_type: str, **fields: Any) -> None:
        emit_if_known(self.audit, event_type, **fields)


def _signal(proc: psutil.Process, action: str) -> None:
    """Signal ``proc`` only if its pid still names the process we looked at
    (psutil recorded its create_time when ``proc`` was made)."""
    signalling.send(proc.pid, proc.create_time(), action)


def _dead(proc: psutil.Process) -> bool:
    try:
        # A zombie has ended; it only waits for its parent to collect its status.
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def wait_dead(procs: List[psutil.Process], timeout: float) -> Tuple[List[psutil.Process], List[psutil.Process]]:
    """Wait up to ``timeout`` seconds for ``procs`` to end; returns (ended, still running).

    Unlike psutil.wait_procs this counts a zombie as ended: the tool we end is
    rarely our child, and its parent may not collect it before we report.
    """
    deadline = time.monotonic() + timeout
    alive = list(procs)
    while True:
        alive = [p for p in alive if not _dead(p)]
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return [p for p in procs if p not in alive], alive


def emit_if_known(audit: Optional[AuditTrail], event_type: str, **fields: Any) -> Optional[Dict[str, Any]]:
    """Emit an audit event if the audit schema knows its type; otherwise log it.

    Returns the event (with its ``event_id``) when it was recorded.

    The audit log rejects unknown types (agent.audit.events.EVENT_TYPES) so a
    typo is caught; event types the UI would like to add are logged here until
    the schema has them, and an audit failure never stops a responder.
    """
    if audit is None:
        return None
    if event_type not in EVENT_TYPES:
        log.info("event %s %s", event_type, fields)
        return None
    try:
        event = audit.emit(event_type, **fields)
    except Exception:
        log.exception("audit emit of %s failed", event_type)
        return None
    return event if isinstance(event, dict) else None
