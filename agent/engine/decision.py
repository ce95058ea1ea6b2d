"""The decision table of docs/detection.md (section 3), as data.

Each row names the share situation it covers; :func:`share_level` finds the
first row that fits a graded share and returns the level for the mode. The
share rows only apply when a sensitive context is visible: with none, every
share is level ``none``. An impersonation page is a warning even with no
share at all (:data:`IMPERSONATION_ROW`); first-seen notices are decided in
the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from agent.model import ShareFinding


@dataclass(frozen=True)
class Situation:
    """What a row may look at besides the share: whether the tab being
    shared is itself a sensitive context."""

    shared_tab_sensitive: bool = False


@dataclass(frozen=True)
class Row:
    """One row: a predicate on the share, levels per mode, a reason template."""

    name: str
    fits: Callable[[ShareFinding, Situation], bool]
    balanced: str
    strict: str
    reason: str


def _tab_share(s: ShareFinding) -> bool:
    return s.state == "sharing" and s.surface == "browser"


#: Ordered strongest first; the first row that fits decides.
TABLE: Tuple[Row, ...] = (
    Row("tab_share_of_sensitive_tab", lambda s, c: _tab_share(s) and c.shared_tab_sensitive, "block", "block",
        "{app} is sharing a browser tab that is {what}"),
    Row("tab_share_sensitive_elsewhere", lambda s, c: _tab_share(s), "warning", "block",
        "{app} is sharing a browser tab while {what} is visible in another tab or window"),
    Row("sharing", lambda s, c: s.state == "sharing", "block", "block",
        "screen is being shared by {app} while {what} is visible"),
    Row("remote_in_session", lambda s, c: s.kind == "remote_control" and s.state == "in_session", "block", "block",
        "{app} remote session is active while {what} is visible"),
    Row("chat_call",
        lambda s, c: s.kind == "meeting" and s.state == "in_session" and s.chat_call, "warning", "block",
        "{app} call is under way (a chat call shows no share signal) while {what} is visible"),
    Row("meeting_in_session_no_share_signal",
        lambda s, c: s.kind == "meeting" and s.state == "in_session" and not s.has_share_signal, "block", "block",
        "{app} meeting is in session (its screen share cannot be told apart) while {what} is visible"),
    Row("meeting_in_session_not_sharing",
        lambda s, c: s.kind == "meeting" and s.state == "in_session" and s.has_share_signal, "warning", "block",
        "{app} meeting is in session (not sharing) while {what} is visible"),
    Row("remote_running", lambda s, c: s.kind == "remote_control" and s.state == "running", "warning", "block",
        "remote-control tool {app} is running while {what} is visible"),
    Row("browser_in_session", lambda s, c: s.kind == "browser" and s.state == "in_session", "warning", "block",
        "{app} shows a capture indicator (screen, camera or microphone) while {what} is visible"),
    Row("os_in_session", lambda s, c: s.kind == "os" and s.state == "in_session", "warning", "block",
        "the OS reports possible screen capture while {what} is visible"),
    Row("meeting_or_browser_running",
        lambda s, c: s.kind in ("meeting", "browser") and s.state == "running", "none", "warning",
        "{app} is running while {what} is visible"),
)


@dataclass(frozen=True)
class ContextRow:
    """A row decided by the sensitive context alone, with no share."""

    name: str
    balanced: str
    strict: str
    reason: str


#: "an impersonation page, no share": warning in balanced and strict, logged in monitor.
IMPERSONATION_ROW = ContextRow("impersonation_page", "warning", "warning",
                               "{name} is shown by a page that is not its own site (impersonation)")


def match_row(share: ShareFinding, situation: Situation = Situation()) -> Optional[Row]:
    """The first table row that fits ``share``, or None."""
    for row in TABLE:
        if row.fits(share, situation):
            return row
    return None


def share_level(share: ShareFinding, mode: str, situation: Situation = Situation()) -> Tuple[str, Optional[Row]]:
    """Level for ``share`` when a sensitive context is visible, and the row used.

    In ``monitor`` mode nothing is shown: the caller logs what the level
    would have been in ``balanced``.
    """
    row = match_row(share, situation)
    if row is None:
        return "none", None
    return level_for(row, mode), row


def level_for(row, mode: str) -> str:
    """A row's level in ``mode`` (``none`` in monitor: log only)."""
    if mode == "strict":
        return row.strict
    if mode == "monitor":
        return "none"
    return row.balanced
