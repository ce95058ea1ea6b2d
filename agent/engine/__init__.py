"""The decision engine: a snapshot goes in, a verdict comes out.

Pure by design (docs/detection.md): no I/O, no clocks, no OS branches. The
only state it keeps between snapshots is what the contract asks for:
snoozes per share session and the executables seen before (first-seen
notices). Time comes from ``Snapshot.time``, so replays are exact.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from agent.engine.decision import IMPERSONATION_ROW, Situation, level_for, share_level
from agent.engine.matching import frozen, same_items
from agent.engine.policy import EnginePolicy
from agent.engine.sensitive import SensitiveMatcher
from agent.engine.shares import ShareGrader
from agent.model import (
    PLATFORMS,
    ProcessInfo,
    SensitiveFinding,
    ShareFinding,
    Snapshot,
    Verdict,
    level_rank,
    state_rank,
)
from agent.protected_processes import never_signal_reason
from agent.signatures.model import SignatureSet

__all__ = ["Engine", "EnginePolicy"]

#: Kinds whose executables earn a first-seen notice.
_FIRST_SEEN_KINDS = ("meeting", "remote_control")

_CATEGORY_WORDS = {
    "bank": "a bank window",
    "loan": "a loan window",
    "payment": "a payment window",
    "credit_report": "a credit-report window",
    "investment": "an investment window",
}


#: What :meth:`Engine._judge` finds: ``(procs_by_pid, shares, sensitive, mentions)``.
_Judged = Tuple[Dict[int, ProcessInfo], Tuple[ShareFinding, ...], Tuple[SensitiveFinding, ...],
                Tuple[SensitiveFinding, ...]]


def _max_level(levels: Iterable[str]) -> str:
    return max(levels, key=level_rank, default="none")


def describe_sensitive(sensitive: Sequence[SensitiveFinding]) -> str:
    """Words for the reason strings: "a bank window"."""
    if not sensitive:
        return "nothing sensitive"
    return _CATEGORY_WORDS.get(sensitive[0].category, "a sensitive window")


#: Signature sets whose indexes are kept for new engines: the current one and the one before
#: it (a hot reload swaps them; the agent's memory stays that of about one set).
SHARED_SETS = 2
_shared: "OrderedDict[Tuple[int, str], Tuple[SignatureSet, Tuple[ShareGrader, SensitiveMatcher]]]" = OrderedDict()
_shared_lock = threading.Lock()


def shared_indexes(signatures: SignatureSet, platform: str) -> Tuple[ShareGrader, SensitiveMatcher]:
    """The compiled indexes of ``signatures`` for ``platform``, built once per set and shared by
    every engine on the same set (``shareguard replay`` makes one engine per file).

    Sharing is safe: a signature set is frozen, the indexes' memos hold pure results of
    it (never of a snapshot's state or the policy), and they tolerate engines in other
    threads. Keyed by the set's identity, holding it so the id is not reused.
    """
    key = (id(signatures), platform)
    with _shared_lock:
        entry = _shared.get(key)
        if entry is not None and entry[0] is signatures:
            _shared.move_to_end(key)
            return entry[1]
    built = (ShareGrader(signatures, platform), SensitiveMatcher(signatures, platform))
    with _shared_lock:
        entry = _shared.setdefault(key, (signatures, built))
        if entry[0] is not signatures:
            entry = _shared[key] = (signatures, built)
        while len(_shared) > SHARED_SETS * len(PLATFORMS):
            _shared.popitem(last=False)
        return entry[1]


class Engine:
    """Evaluates snapshots against signatures and policy, keeping session state."""

    def __init__(self, signatures: SignatureSet, policy: Optional[EnginePolicy] = None,
                 known_executables: Optional[Iterable[str]] = None) -> None:
        self.signatures = signatures
        self.policy = policy or EnginePolicy()
        #: Casefolded exe paths (or names) of meeting/remote apps seen before.
        self.known_executables: Set[str] = set(known_executables or ())
        self._compiled: Dict[str, Tuple[ShareGrader, SensitiveMatcher]] = {}
        self._snoozes: Dict[str, float] = {}  # session_key -> snoozed until (snapshot time)
        self._last_judged: Optional[Tuple[tuple, tuple, _Judged]] = None  # see _judge

    # -- configuration -------------------------------------------------
    def set_signatures(self, signatures: SignatureSet) -> None:
        """Swap in a new signature set (hot reload); session state is kept."""
        self.signatures = signatures
        self._compiled.clear()
        self._last_judged = None

    def set_policy(self, policy: EnginePolicy) -> None:
        """Swap in a new policy; the matchers' memos start afresh with it."""
        self.policy = policy
        self._last_judged = None
        for grader, matcher in self._compiled.values():
            grader.forget()
            matcher.forget()

    def compiled(self, platform: str) -> Tuple[ShareGrader, SensitiveMatcher]:
        """The signature indexes for ``platform``, built on first use (:func:`shared_indexes`)."""
        found = self._compiled.get(platform)
        if found is None:
            found = self._compiled[platform] = shared_indexes(self.signatures, platform)
        return found

    # -- evaluation ----------------------------------------------------
    def evaluate(self, snapshot: Snapshot) -> Verdict:
        """Judge one snapshot, then apply the user's choices it carries."""
        policy = self.policy
        grader = self.compiled(snapshot.platform)[0]
        procs_by_pid, shares, sensitive, mentions = self._judge(snapshot)
        self._expire_snoozes(snapshot.time, shares)
        first_seen = self._first_seen(shares, procs_by_pid, grader)

        levels: List[str] = ["none"]
        logged: List[str] = []  # what monitor mode records instead of showing
        reasons: List[str] = []
        blocking: List[ShareFinding] = []
        snoozed: List[ShareFinding] = []
        what = describe_sensitive(sensitive)
        situation = Situation(shared_tab_sensitive=any(f.shared for f in sensitive))
        if sensitive:
            for share in shares:
                level, row = share_level(share, policy.mode, situation)
                if row is None:
                    continue
                if share.trusted:
                    reasons.append(f"{share.app} is trusted by policy: " + row.reason.format(app=share.app, what=what))
                    continue
                if policy.mode == "monitor":
                    would, _ = share_level(share, "balanced", situation)
                    if would != "none":
                        logged.append(would)
                        reasons.append("monitor mode, not shown: " + row.reason.format(app=share.app, what=what))
                    continue
                if level == "block" and share.session_key in self._snoozes:
                    level = "warning"
                    snoozed.append(share)
                if level != "none":
                    reasons.append(row.reason.format(app=share.app, what=what))
                if level == "block":
                    blocking.append(share)
                levels.append(level)
        posing = [f for f in sensitive if f.basis == "impersonation"]
        if posing:
            # A page posing as an institution is a warning even with no share (docs/detection.md).
            reason = IMPERSONATION_ROW.reason.format(name=posing[0].name_en or posing[0].name)
            if policy.mode == "monitor":
                logged.append(IMPERSONATION_ROW.balanced)
                reasons.append("monitor mode, not shown: " + reason)
            else:
                levels.append(level_for(IMPERSONATION_ROW, policy.mode))
                reasons.append(reason)
        if not policy.first_seen_notice:
            first_seen = []  # still learned (above), never announced
        for app, exe in first_seen:
            reasons.append(f"first time seen on this machine: {app} ({exe})")
        if first_seen:
            if policy.mode == "monitor":
                logged.append("notice")
            else:
                levels.append("notice")
        for share in snoozed:
            reasons.append(f"{share.app}: the user chose to continue for this session (snoozed)")

        level = _max_level(levels)
        alert = level == "block"
        freeze_pids = self._freeze_pids(alert, shares)
        verdict = Verdict(
            alert=alert,
            level=level,
            shares=shares,
            sensitive=sensitive,
            reasons=tuple(reasons),
            actions=self._actions(level, freeze_pids, bool(logged)),
            mode=policy.mode,
            freeze_pids=freeze_pids,
            snoozed=tuple(s.app for s in snoozed),
            first_seen=tuple(app for app, _ in first_seen),
            blocking_shares=tuple(s.app for s in blocking),
            time=snapshot.time,
            mentions=mentions,
        )
        for event in snapshot.events:
            verdict = self._apply_event(event.action, verdict, blocking, shares, snapshot.time, procs_by_pid)
        return verdict

    # -- helpers -------------------------------------------------------
    def _judge(self, snapshot: Snapshot) -> _Judged:
        """``(procs_by_pid, shares, sensitive, mentions)``: what the snapshot shows, before any
        session state (snoozes, first-seen) or user choice is applied.

        A pure function of the snapshot's lists (the only fields the grader and the matcher
        read; tests/unit/test_engine_incremental.py holds them to it), the signatures and the
        policy (compared; new signatures drop it), so it is remembered for the last snapshot:
        a step equal to the previous one in everything but its time and events (most ticks of
        a quiet desktop, most replay steps) is not judged again. The lists are compared by
        value; records handed over unchanged (the same objects) make that a pointer check.
        """
        lists = tuple(map(frozen, (snapshot.processes, snapshot.windows, snapshot.connections, snapshot.capture,
                                   snapshot.devices, snapshot.pages)))
        last = self._last_judged
        if last is not None and last[0] == (self.policy, snapshot.platform) \
                and all(map(same_items, last[1], lists)):
            return last[2]
        grader, matcher = self.compiled(snapshot.platform)
        processes = snapshot.processes
        procs_by_pid = {p.pid: p for p in processes}
        shares = tuple(self._mark_trusted(s, procs_by_pid) for s in grader.grade(snapshot, procs_by_pid))
        sensitive, mentions = matcher.find(snapshot.windows, processes, procs_by_pid, snapshot.pages)
        judged = (procs_by_pid, shares, sensitive, mentions)
        self._last_judged = ((self.policy, snapshot.platform), lists, judged)
        return judged

    def _mark_trusted(self, share: ShareFinding, procs_by_pid: Dict[int, ProcessInfo]) -> ShareFinding:
        policy = self.policy
        if share.app in policy.trusted_apps:
            return dataclasses.replace(share, trusted=True)
        wanted = policy.trusted_executable_names
        if wanted:
            for pid in share.pids:
                proc = procs_by_pid.get(pid)
                if proc is None:
                    continue
                names = {proc.name.casefold()}
                if proc.exe:
                    names.add(proc.exe.casefold())
                    names.add(proc.exe.replace("\\", "/").rsplit("/", 1)[-1].casefold())
                if names & wanted:
                    return dataclasses.replace(share, trusted=True)
        return share

    def _expire_snoozes(self, now: float, shares: Sequence[ShareFinding]) -> None:
        # A snooze covers one share session: it ends when its time is up or
        # when that session is no longer seen (the share stopped; a new one
        # has a new key and blocks again at once).
        live = {s.session_key for s in shares}
        for key, until in list(self._snoozes.items()):
            if now >= until or key not in live:
                del self._snoozes[key]

    def _first_seen(self, shares: Sequence[ShareFinding], procs_by_pid: Dict[int, ProcessInfo],
                    grader: ShareGrader) -> List[Tuple[str, str]]:
        new: List[Tuple[str, str]] = []
        for share in shares:
            if share.kind not in _FIRST_SEEN_KINDS or share.trusted:
                continue
            for pid in share.pids:
                proc = procs_by_pid.get(pid)
                # Only the app's own executables: its helpers (CptHost.exe)
                # start with the first meeting and would announce it twice.
                if proc is None or not grader.is_main_process(proc, share.app):
                    continue
                # Keyed by full path when known: the same Zoom.exe copied
                # into Downloads is a new executable worth a notice. The bare
                # name is kept too, for collectors that cannot read paths.
                name_key = "name:" + proc.name.casefold()
                key = proc.exe.casefold() if proc.exe else name_key
                if key in self.known_executables:
                    continue
                self.known_executables.update((key, name_key))
                new.append((share.app, proc.exe or proc.name))
        return new

    def _freeze_pids(self, alert: bool, shares: Sequence[ShareFinding]) -> Tuple[int, ...]:
        if not (alert and self.policy.freeze_remote_tools):
            return ()
        pids: Set[int] = set()
        for share in shares:
            if (share.kind == "remote_control" and not share.trusted
                    and state_rank(share.state) >= state_rank("in_session")):
                pids.update(share.pids)
        return tuple(sorted(pids))

    @staticmethod
    def _actions(level: str, freeze_pids: Sequence[int], logged: bool) -> Tuple[str, ...]:
        actions: List[str] = []
        if level == "block":
            actions.append("show_block_warning")
            if freeze_pids:
                actions.append("freeze_remote")
        elif level == "warning":
            actions += ["notify", "tray_warning"]
        elif level == "notice":
            actions.append("notify")
        if logged:
            actions.append("log")
        return tuple(actions)

    def _apply_event(self, action: str, verdict: Verdict, blocking: Sequence[ShareFinding],
                     shares: Sequence[ShareFinding], now: float,
                     procs_by_pid: Optional[Dict[int, ProcessInfo]] = None) -> Verdict:
        """Apply one user choice to the verdict of the same step."""
        if action == "continue":
            if not verdict.alert:
                return dataclasses.replace(verdict, reasons=verdict.reasons + ("continue ignored: no warning was up",))
            for share in blocking:
                self._snoozes[share.session_key] = now + self.policy.snooze_seconds
            minutes = f"{self.policy.snooze_minutes:g}"
            return dataclasses.replace(
                verdict, alert=False, level="warning", freeze_pids=(),
                snoozed=tuple(dict.fromkeys(verdict.snoozed + tuple(s.app for s in blocking))),
                actions=("snooze", "resume_remote", "tray_warning"),
                reasons=verdict.reasons
                + (f"user chose to continue: not blocking this session again for {minutes} min",))
        if action == "stop_sharing":
            targets = list(blocking) or [s for s in shares
                                         if not s.trusted and state_rank(s.state) >= state_rank("in_session")]
            end = sorted({pid for s in targets for pid in s.pids})
            # An OS-level share is performed by the compositor / portal: ending it
            # ends the session, not the share (agent/protected_processes.py).
            spared = [(pid, procs_by_pid[pid].name) for pid in end
                      if procs_by_pid and pid in procs_by_pid and never_signal_reason(procs_by_pid[pid].name)]
            end = [pid for pid in end if pid not in {p for p, _ in spared}]
            # Remote tools stay frozen until they are gone, so the caller
            # cannot use the last seconds.
            frozen = tuple(p for p in verdict.freeze_pids if p in end)
            return dataclasses.replace(
                verdict, alert=False, level="warning" if verdict.level == "block" else verdict.level,
                end_pids=tuple(end), freeze_pids=frozen,
                actions=("end_processes",) + (("freeze_remote",) if frozen else ()),
                reasons=verdict.reasons
                + ("user chose to stop sharing: ending " + (", ".join(s.app for s in targets) or "nothing"),)
                + tuple(f"not ending {name} ({pid}): {never_signal_reason(name)}; stop the share from the "
                        f"system's sharing indicator" for pid, name in spared))
        if action == "dismiss":
            if not verdict.alert:
                return verdict
            return dataclasses.replace(
                verdict, alert=False, level="warning",
                actions=tuple(a for a in verdict.actions if a != "show_block_warning") + ("dismiss",),
                reasons=verdict.reasons + ("user dismissed the warning; it returns while the danger lasts",))
        return verdict
