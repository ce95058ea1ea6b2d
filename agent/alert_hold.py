"""Keep a blocking warning up through a momentary drop of what raised it.

A bank page that navigates shows its address or "Loading..." as its title
for a moment; a window that is re-created vanishes from the window list for
one read. Judged alone, that one snapshot has no sensitive window, and
acting on it would close the warning and resume the frozen remote tool, so
the caller gets the screen and the mouse back for a few hundred
milliseconds, then the warning flashes up again. The runtime therefore ends
an alert only after it has stayed ended for :data:`HOLD_SECONDS`.

The hold never outlives a real end: it lets go at once when the user chose
(continue, stop sharing, dismiss: the choice rides on the snapshot), when
the guard is paused, or when the blocking share itself stopped. It changes
what responders are shown, never what the engine judges, so
``shareguard replay`` verdicts are untouched (docs/detection.md).
"""

from __future__ import annotations

from typing import Dict, Optional

from agent.model import Verdict, state_rank

#: How long an alert must stay ended before the warning closes and frozen
#: tools resume. A page load's placeholder title lasts well under this.
HOLD_SECONDS = 1.5


def _share_states(verdict: Verdict) -> Dict[str, int]:
    """The rank of each app's strongest share state in ``verdict``."""
    ranks: Dict[str, int] = {}
    for share in verdict.shares:
        ranks[share.app] = max(ranks.get(share.app, 0), state_rank(share.state))
    return ranks


class AlertHold:
    """Decides which verdict responders see: the new one, or the alert still held."""

    def __init__(self, seconds: float = HOLD_SECONDS) -> None:
        self.seconds = seconds
        self._held: Optional[Verdict] = None
        self._ended_at: Optional[float] = None

    def apply(self, verdict: Verdict, now: float, user_chose: bool, paused: bool) -> Verdict:
        """The verdict to hand to responders at monotonic time ``now``."""
        if verdict.alert:
            self._held, self._ended_at = verdict, None
            return verdict
        held = self._held
        if held is None or self.seconds <= 0 or user_chose or paused or self._share_stopped(held, verdict):
            return self._release(verdict)
        if self._ended_at is None:
            self._ended_at = now
        if now - self._ended_at >= self.seconds:
            return self._release(verdict)
        return held

    def remaining(self, now: float) -> Optional[float]:
        """Seconds until a held alert is looked at again (None when nothing is held)."""
        if self._ended_at is None:  # set only while an alert is held
            return None
        return max(0.0, self.seconds - (now - self._ended_at))

    @property
    def holding(self) -> bool:
        """True while an ended alert is still being shown."""
        return self._ended_at is not None

    def _release(self, verdict: Verdict) -> Verdict:
        self._held, self._ended_at = None, None
        return verdict

    @staticmethod
    def _share_stopped(held: Verdict, verdict: Verdict) -> bool:
        """True when a share that made the held alert block is gone or weaker now."""
        before, now = _share_states(held), _share_states(verdict)
        return any(now.get(app, 0) < before.get(app, 0) for app in held.blocking_shares)
