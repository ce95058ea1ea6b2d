"""The decision table of docs/detection.md (section 3), as data.

Each row names the share situation it covers; :func:`share_level` finds the
first row that fits a graded share and returns the level for the mode. The
table only applies when a sensitive context is visible: with none, every
share is level ``none`` (first-seen notices are decided in the engine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from agent.model import ShareFinding


@dataclass(frozen=True)
class Row:
    """One row: a predicate on the share, levels per mode, a reason template."""

    name: str
    fits: Callable[[ShareFinding], bool]
    balanced: str
    strict: str
    reason: str


#: Ordered strongest first; the first row that fits decides.
TABLE: Tuple[Row, ...] = (
    Row("sharing", lambda s: s.state == "sharing", "block", "block",
        "screen is being shared by {app} while {what} is visible"),
    Row("remote_in_session", lambda s: s.kind == "remote_control" and s.state == "in_session", "block", "block",
        "{app} remote session is active while {what} is visible"),
    Row("meeting_in_session_no_share_signal",
        lambda s: s.kind == "meeting" and s.state == "in_session" and not s.has_share_signal, "block", "block",
        "{app} meeting is in session (its screen share cannot be told apart) while {what} is visible"),
    Row("meeting_in_session_not_sharing",
        lambda s: s.kind == "meeting" and s.state == "in_session" and s.has_share_signal, "warning", "block",
        "{app} meeting is in session (not sharing) while {what} is visible"),
    Row("remote_running", lambda s: s.kind == "remote_control" and s.state == "running", "warning", "block",
        "remote-control tool {app} is running while {what} is visible"),
    Row("browser_in_session", lambda s: s.kind == "browser" and s.state == "in_session", "warning", "block",
        "{app} shows a capture indicator (screen, camera or microphone) while {what} is visible"),
    Row("os_in_session", lambda s: s.kind == "os" and s.state == "in_session", "warning", "block",
        "the OS reports possible screen capture while {what} is visible"),
    Row("meeting_or_browser_running",
        lambda s: s.kind in ("meeting", "browser") and s.state == "running", "none", "warning",
        "{app} is running while {what} is visible"),
)


def match_row(share: ShareFinding) -> Optional[Row]:
    """The first table row that fits ``share``, or None."""
    for row in TABLE:
        if row.fits(share):
            return row
    return None


def share_level(share: ShareFinding, mode: str) -> Tuple[str, Optional[Row]]:
    """Level for ``share`` when a sensitive context is visible, and the row used.

    In ``monitor`` mode nothing is shown: the caller logs what the level
    would have been in ``balanced``.
    """
    row = match_row(share)
    if row is None:
        return "none", None
    if mode == "strict":
        return row.strict, row
    if mode == "monitor":
        return "none", row
    return row.balanced, row
