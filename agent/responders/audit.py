"""AuditResponder: turn consecutive verdicts into transition events.

The engine says what is true now; auditors want what changed: a share
started or ended, a bank window opened, the warning went up, the user chose
"continue", a remote tool was frozen. This responder keeps the previous
verdict's facts and emits one event per difference.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

from agent.audit import AuditTrail
from agent.domains import registrable_domain
from agent.model import SensitiveFinding, ShareFinding, Snapshot, Verdict
from agent.responders.base import Responder


class AuditResponder(Responder):
    name = "audit"

    def __init__(self, audit: AuditTrail) -> None:
        self.audit = audit
        self._shares: Dict[str, Tuple[ShareFinding, float]] = {}
        self._sensitive: Dict[str, Tuple[SensitiveFinding, float]] = {}
        self._alert_since: Optional[float] = None
        self._level = "none"
        self._frozen: Set[int] = set()
        self._ended: Set[int] = set()
        self._first_seen: Set[str] = set()

    def handle(self, verdict: Verdict, snapshot: Snapshot) -> None:
        now = verdict.time or snapshot.time
        apps = sorted(s.app for s in verdict.shares if s.state != "running") or sorted(s.app for s in verdict.shares)
        sens_ids = [s.id for s in verdict.sensitive]
        emit = self.audit.emit

        for user_event in snapshot.events:
            emit("user_choice", action=user_event.action,
                 apps=list(verdict.blocking_shares) or apps, sensitive=sens_ids)
        self._diff_shares(verdict, now)
        self._diff_sensitive(verdict, snapshot, now)
        for app in verdict.first_seen:
            if app not in self._first_seen:
                self._first_seen.add(app)
                emit("first_seen", app=app)

        if verdict.level != self._level:
            emit("level_changed", level=verdict.level, previous_level=self._level, mode=verdict.mode,
                 apps=apps, sensitive=sens_ids)
            self._level = verdict.level
        if verdict.alert and self._alert_since is None:
            self._alert_since = now
            emit("alert_raised", level=verdict.level, mode=verdict.mode,
                 apps=list(verdict.blocking_shares) or apps, sensitive=sens_ids,
                 reasons=list(verdict.reasons))
        elif not verdict.alert and self._alert_since is not None:
            reason = _clear_reason(snapshot)
            emit("alert_cleared", reason=reason, duration_seconds=_dur(now, self._alert_since))
            self._alert_since = None

        frozen = set(verdict.freeze_pids)
        ended = set(verdict.end_pids)
        if frozen - self._frozen:
            emit("remote_frozen", pids=sorted(frozen - self._frozen), apps=_apps_of(verdict, frozen))
        # A pid that leaves the freeze list because it is being ended is not "resumed".
        resumed = self._frozen - frozen - ended
        if resumed:
            emit("remote_resumed", pids=sorted(resumed))
        if ended - self._ended:
            emit("remote_ended", pids=sorted(ended - self._ended), apps=_apps_of(verdict, ended))
        self._frozen, self._ended = frozen, ended

    def _diff_shares(self, verdict: Verdict, now: float) -> None:
        current = {s.app: s for s in verdict.shares}
        for app, (old, since) in list(self._shares.items()):
            new = current.get(app)
            new_session = new is not None and old.session_key and new.session_key and new.session_key != old.session_key
            if new is None or new_session:
                self.audit.emit("share_ended", app=app, kind=old.kind, duration_seconds=_dur(now, since),
                                session_key=old.session_key)
                del self._shares[app]
        for app, s in current.items():
            if app not in self._shares:
                self.audit.emit("share_started", app=app, name=s.name, kind=s.kind, state=s.state,
                                pids=list(s.pids), session_key=s.session_key, trusted=s.trusted,
                                evidence=list(s.evidence))
                self._shares[app] = (s, now)
            else:
                old, since = self._shares[app]
                if old.state != s.state:
                    self.audit.emit("share_state_changed", app=app, kind=s.kind, state=s.state,
                                    previous_state=old.state, session_key=s.session_key, trusted=s.trusted)
                self._shares[app] = (s, since)

    def _diff_sensitive(self, verdict: Verdict, snapshot: Snapshot, now: float) -> None:
        current = {s.id: s for s in verdict.sensitive}
        for sid, (old, since) in list(self._sensitive.items()):
            if sid not in current:
                self.audit.emit("sensitive_closed", signature_id=sid, category=old.category,
                                duration_seconds=_dur(now, since))
                del self._sensitive[sid]
        for sid, s in current.items():
            if sid in self._sensitive:
                continue
            fields: Dict[str, Any] = dict(signature_id=sid, category=s.category, name=s.name, evidence=s.evidence,
                                          basis=s.basis)
            # The registrable domain only, never a page's full address nor, when the context
            # was judged from a title, the title's site part (title text stays out of events
            # unless policy asks for titles; docs/privacy.md).
            site = registrable_domain(s.site) if s.site else None
            if site:
                fields["site"] = site
            if s.shared:
                fields["shared"] = True
            if self.audit.context.include_titles:
                fields["titles"] = _titles(snapshot, s.pids)
            self.audit.emit("sensitive_opened", **fields)
            self._sensitive[sid] = (s, now)


def _dur(now: float, since: float) -> float:
    return round(max(0.0, now - since), 3)


def _apps_of(verdict: Verdict, pids: Set[int]) -> List[str]:
    return sorted({s.app for s in verdict.shares if pids & set(s.pids)})


def _titles(snapshot: Snapshot, pids) -> List[str]:
    wanted = set(pids)
    return [w.title for w in snapshot.windows if w.visible and w.pid in wanted]


def _clear_reason(snapshot: Snapshot) -> str:
    actions = [e.action for e in snapshot.events]
    return actions[-1] if actions else "condition_gone"
