"""Grading every app that can show the screen to someone else.

Each meeting, remote-control or browser app is graded from signature
evidence (docs/detection.md, section 1):
- ``running``: one of its processes exists;
- ``in_session``: a session signal (helper process, session port) is seen;
- ``sharing``: a share-only signal (share bar window, connection manager)
  is seen.
OS-level capture facts become one ``os`` finding: ``sharing`` when a
high-confidence fact is active, ``in_session`` for a low-confidence one.
Pages the browser companion reports as capturing make their browser
``sharing`` (a tab share, ``surface: browser``, when only a tab is shared).
A remote tool's sustained outgoing stream (``ProcessInfo.io_rate`` at or
above its ``stream_min_rate``) is session evidence (docs/detection.md).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Collection, Dict, List, Optional, Pattern, Sequence, Set, Tuple

from agent.engine.matching import ListMemo, LruMemo, ProcessIndex, applies_to
from agent.model import CaptureFact, PageInfo, ProcessInfo, ShareFinding, Snapshot, WindowInfo, state_rank
from agent.signatures.model import AppSignature, Signal, SignatureSet, WindowMatcher

OS_APP = "os"

#: A stream counts as session evidence only when the collector measured it over at
#: least this many seconds: a burst (an update check, a file) is not a screen stream.
STREAM_MIN_SECONDS = 3.0


@dataclass
class _Evidence:
    """What was seen of one app during one grading pass."""

    app: AppSignature
    running_pids: Set[int] = field(default_factory=set)
    # grade -> pids carrying evidence of that grade (windows without a pid add none)
    grade_pids: Dict[str, Set[int]] = field(default_factory=dict)
    labels: Dict[str, str] = field(default_factory=dict)  # label -> strongest grade it proved
    state: Optional[str] = None
    meeting: bool = False      # a signal proving a dedicated meeting (not a chat call) was seen
    screen_share: bool = False  # a screen or window share (not only a tab) was seen
    tab_share: bool = False

    def add(self, grade: str, label: str, pid: Optional[int], meeting: bool = False) -> None:
        self.meeting = self.meeting or meeting
        if state_rank(grade) > state_rank(self.state):
            self.state = grade
        pids = self.grade_pids.setdefault(grade, set())
        if pid is not None:
            pids.add(pid)
        if state_rank(grade) > state_rank(self.labels.get(label)):
            self.labels[label] = grade

    def ordered_labels(self) -> Tuple[str, ...]:
        """Evidence labels, the strongest first (insertion order within a grade)."""
        order = list(self.labels)
        return tuple(sorted(order, key=lambda lb: (-state_rank(self.labels[lb]), order.index(lb))))


#: One process's evidence for an app: (app, is one of its own processes, grade, label, pid, meeting).
_ProcessEvidence = Tuple[AppSignature, bool, str, str, int, bool]


@dataclass(frozen=True)
class _WindowSignal:
    app: AppSignature
    signal: Signal
    window: WindowMatcher
    title: Optional[Pattern[str]]
    wm_class: Optional[Pattern[str]]


def _class_pattern(wm_class: Optional[str]) -> Optional[Pattern[str]]:
    """A window class compared casefolded and whole; ``*``, ``?`` and ``[..]`` are
    wildcards (AnyDesk's numbered ``ad_win#N`` classes)."""
    if wm_class is None:
        return None
    return re.compile(fnmatch.translate(wm_class.casefold()))


class ShareGrader:
    """Compiled app signatures for one platform."""

    def __init__(self, signatures: SignatureSet, platform: str) -> None:
        self.platform = platform
        apps = signatures.apps
        self._running = ProcessIndex(((m, a) for a in apps for m in a.processes), platform)
        self._signal_procs = ProcessIndex(
            ((s.process, (a, s)) for a in apps for s in a.signals
             if s.process is not None and applies_to(s.platforms, platform)), platform)
        self._window_signals = [
            _WindowSignal(a, s, s.window, re.compile(s.window.title) if s.window.title else None,
                          _class_pattern(s.window.wm_class))
            for a in apps for s in a.signals
            if s.window is not None and applies_to(s.platforms, platform)
        ]
        self._conn_signals = [
            (a, s, s.connection) for a in apps for s in a.signals
            if s.connection is not None and applies_to(s.platforms, platform)
        ]
        self._device_signals = [
            (a, s, s.device) for a in apps for s in a.signals
            if s.device is not None and applies_to(s.platforms, platform)
        ]
        self._streamers = [a for a in apps if a.stream_min_rate > 0]
        self._window_memo: LruMemo[Tuple[Tuple[_WindowSignal, ...], Tuple[_WindowSignal, ...]]] = LruMemo()
        self._browsers = {a.id: a for a in apps if a.kind == "browser"}
        self._process_memo: ListMemo[_ProcessEvidence] = ListMemo(self._evidence_of)

    def process_evidence(self, processes: Sequence[ProcessInfo]) -> Tuple[_ProcessEvidence, ...]:
        """What the processes prove, in process order: ``(app, running, grade, label, pid,
        meeting)`` per app process (``running``) and per signal process.

        Remembered for the last process list (:class:`agent.engine.matching.ListMemo`):
        an equal list is answered at once, and in a changed one only the new records
        are matched.
        """
        return self._process_memo(processes)

    def _evidence_of(self, proc: ProcessInfo) -> Tuple[_ProcessEvidence, ...]:
        out: List[_ProcessEvidence] = []
        for _, app in self._running.match(proc):
            out.append((app, True, "running", f"process:{proc.name}", proc.pid, False))
        for _, (app, sig) in self._signal_procs.match(proc):
            out.append((app, False, sig.grade, sig.label, proc.pid, sig.meeting))
        return tuple(out)

    def is_main_process(self, proc: ProcessInfo, app_id: str) -> bool:
        """True when ``proc`` is one of ``app_id``'s own executables (not a helper
        such as Zoom's CptHost.exe that only proves a session)."""
        return any(app.id == app_id for _, app in self._running.match(proc))

    def grade(self, snapshot: Snapshot, procs_by_pid: Dict[int, ProcessInfo]) -> Tuple[ShareFinding, ...]:
        """All graded apps in ``snapshot``, strongest first."""
        seen: Dict[str, _Evidence] = {}

        def evidence(app: AppSignature) -> _Evidence:
            return seen.setdefault(app.id, _Evidence(app))

        for app, running, grade, label, pid, meeting in self.process_evidence(snapshot.processes):
            found = evidence(app)
            if running:
                found.running_pids.add(pid)
            found.add(grade, label, pid, meeting)

        for win in snapshot.windows:
            listed, fallback = self._window_candidates(win)
            claimed = False
            for ws in listed:
                if self._same_app(ws, win, seen):
                    evidence(ws.app).add(ws.signal.grade, ws.signal.label, win.pid, ws.signal.meeting)
                    claimed = True
            if claimed:
                continue
            # Apps that catch a share bar whatever the executable (a Chromium-family
            # browser we do not list) only get windows no listed app claimed.
            for ws in fallback:
                if self._same_app(ws, win, seen):
                    evidence(ws.app).add(ws.signal.grade, ws.signal.label, win.pid, ws.signal.meeting)

        for app, sig, cm in self._conn_signals:
            ev = seen.get(app.id)
            if ev is None:
                continue  # ports prove a session only for a process we know is this app
            app_pids = ev.running_pids | set().union(*ev.grade_pids.values())
            for conn in snapshot.connections:
                if conn.pid not in app_pids or (cm.statuses and conn.status.upper() not in cm.statuses):
                    continue
                if (cm.remote_ports and conn.remote_port in cm.remote_ports) or \
                        (cm.local_ports and conn.local_port in cm.local_ports):
                    ev.add(sig.grade, sig.label, conn.pid)

        for app, sig, dm in self._device_signals:
            ev = seen.get(app.id)
            if ev is None:
                continue  # a microphone in use proves a call only for a process we know is this app
            for use in snapshot.devices:
                if use.pid in ev.running_pids and use.device in dm.devices:
                    ev.add(sig.grade, sig.label, use.pid, sig.meeting)

        for app in self._streamers:
            ev = seen.get(app.id)
            if ev is None:
                continue
            for pid in sorted(ev.running_pids):
                rate = procs_by_pid[pid].io_rate if pid in procs_by_pid else None
                if rate is not None and rate.seconds >= STREAM_MIN_SECONDS and rate.sent >= app.stream_min_rate:
                    ev.add("in_session", f"stream:{int(rate.sent // 1000)}KB/s-for-{rate.seconds:g}s", pid)

        self._grade_pages(snapshot.pages, seen)

        findings = [self._finding(ev, procs_by_pid) for ev in seen.values()]
        os_finding = grade_capture(snapshot.capture, procs_by_pid)
        if os_finding is not None:
            findings.append(os_finding)
        findings.sort(key=lambda f: (-state_rank(f.state), f.app))
        return tuple(findings)

    def _grade_pages(self, pages: Sequence[PageInfo], seen: Dict[str, _Evidence]) -> None:
        """Captures the browser companion reported: a page capturing the screen or a
        window makes its browser ``sharing``; a tab capture (or a tab marked shared)
        is a tab share."""
        for page in pages:
            if page.capturing is None and not page.shared:
                continue
            app = self._browsers.get(page.browser) or AppSignature(
                id=page.browser or "browser", kind="browser", names={"en": page.browser or "browser"})
            ev = seen.setdefault(app.id, _Evidence(app))
            if page.capturing in ("monitor", "window"):
                ev.screen_share = True
                ev.add("sharing", f"page-capture:{page.capturing}", page.pid)
            else:
                ev.tab_share = True
                ev.add("sharing", "page-capture:browser" if page.capturing else "page-shared-tab", page.pid)

    def _window_candidates(self, win: WindowInfo) -> Tuple[Tuple[_WindowSignal, ...], Tuple[_WindowSignal, ...]]:
        """The window signals (listed apps', fallback apps') whose title, class and
        visibility rules ``win`` meets, remembered per (title, class, visible): only
        the same-app rule depends on the rest of the snapshot."""
        key = (win.title, win.wm_class, win.visible)
        hit = self._window_memo.get(key)
        if hit is None:
            hits = [ws for ws in self._window_signals if self._window_shape_matches(ws, win)]
            hit = self._window_memo.put(key, (tuple(ws for ws in hits if not ws.app.fallback),
                                              tuple(ws for ws in hits if ws.app.fallback)))
        return hit

    def forget(self) -> None:
        """Drop every memo (windows and process names)."""
        self._window_memo.clear()
        self._process_memo.clear()
        self._running.forget()
        self._signal_procs.forget()

    @staticmethod
    def _window_shape_matches(ws: _WindowSignal, win: WindowInfo) -> bool:
        wm = ws.window
        if wm.visible_only and not win.visible:
            return False
        if ws.wm_class is not None and not ws.wm_class.match((win.wm_class or "").casefold()):
            return False
        if ws.title is not None and not ws.title.search(win.title or ""):
            return False
        return True

    @staticmethod
    def _same_app(ws: _WindowSignal, win: WindowInfo, seen: Dict[str, _Evidence]) -> bool:
        if ws.window.same_app and win.pid is not None:
            ev = seen.get(ws.app.id)
            if ev is None or win.pid not in ev.running_pids:
                return False
        return True

    @staticmethod
    def _finding(ev: _Evidence, procs_by_pid: Dict[int, ProcessInfo]) -> ShareFinding:
        all_pids = set(ev.running_pids).union(*ev.grade_pids.values())
        # The session is identified by the processes carrying the strongest
        # evidence (a new `rustdesk --cm` is a new session), else the app itself.
        key_pids = (ev.grade_pids.get(ev.state) if ev.state else None) or ev.running_pids or all_pids
        state = ev.state or "running"
        # Only a tab is shared when every share-grade proof is a tab capture (a share bar
        # window or a screen capture would have set screen_share or come from signals).
        sharing_labels = [lb for lb, g in ev.labels.items() if g == "sharing"]
        tab_only = ev.tab_share and not ev.screen_share and all(
            lb in ("page-capture:browser", "page-shared-tab") for lb in sharing_labels)
        return ShareFinding(
            app=ev.app.id,
            name=ev.app.display_name("en"),
            kind=ev.app.kind,
            state=state,
            pids=tuple(sorted(all_pids)),
            evidence=ev.ordered_labels(),
            has_share_signal=ev.app.has_share_signal,
            session_key=session_key(ev.app.id, state + (":tab" if tab_only else ""), key_pids, procs_by_pid),
            chat_call=ev.app.calls == "chat" and state == "in_session" and not ev.meeting,
            surface="browser" if tab_only and state == "sharing" else "",
        )


def session_key(app: str, state: str, pids: Collection[int], procs_by_pid: Dict[int, ProcessInfo]) -> str:
    """``app:state:pids:start`` — changes when a new share session begins."""
    times = (procs_by_pid[p].create_time for p in pids if p in procs_by_pid)
    starts = [t for t in times if t]
    start = f"{min(starts):.3f}" if starts else "0"
    return f"{app}:{state}:{','.join(str(p) for p in sorted(pids))}:{start}"


def grade_capture(facts: Sequence[CaptureFact], procs_by_pid: Dict[int, ProcessInfo]) -> Optional[ShareFinding]:
    """One ``os`` finding from active capture facts, or None."""
    active = [f for f in facts if f.active]
    if not active:
        return None
    state = "sharing" if any(f.confidence != "low" for f in active) else "in_session"
    strongest = [f for f in active if (f.confidence != "low") == (state == "sharing")]
    pids = sorted({f.pid for f in active if f.pid is not None})
    key_pids = sorted({f.pid for f in strongest if f.pid is not None})
    labels = []
    for f in active:
        label = f"capture:{f.source}" + (f":{f.detail}" if f.detail else "")
        if label not in labels:
            labels.append(label)
    return ShareFinding(
        app=OS_APP, name="Screen capture (OS)", kind="os", state=state, pids=tuple(pids),
        evidence=tuple(labels), has_share_signal=True,
        session_key=session_key(OS_APP, state, key_pids, procs_by_pid) + ":" + ",".join(
            sorted(f"{f.source}/{f.detail}" for f in strongest)),
    )
