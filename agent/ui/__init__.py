"""The guard a person sees: tray icon, toasts, the blocking warning, the console.

The responders that drive them live in agent.responders (``ui_client``,
``console``); this package draws: the UI helper process (``helper``: tray,
toasts, warning window) and the words and view it shows. agent.app picks the
graphical responders when :func:`has_display` is true, else console mode.
The tray reaches back into the runtime through a small
:class:`RuntimeControls` object (pause is not an engine event, so it does not
go through ``post_event``).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Optional, Protocol, Tuple, runtime_checkable

from agent.policy.keys import key_default
from agent.policy.reader import PolicyReader

if TYPE_CHECKING:
    from agent.audit import AuditTrail


@runtime_checkable
class RuntimeControls(Protocol):
    """What the tray may ask of the watch loop. The runtime implements it."""

    def pause(self, seconds: float) -> None:
        """Show no warnings and freeze nothing for ``seconds`` (the tray's "pause
        for 15 min / 1 h"); detection and audit logging go on."""

    def resume(self) -> None:
        """End a pause now."""

    def quit(self) -> None:
        """Stop the guard (only offered when policy allow_quit is true)."""

    #: Epoch seconds the current pause ends (0 when not paused).
    paused_until: float


def paused_until(controls: Optional[RuntimeControls]) -> float:
    """The end of the current pause (epoch seconds), 0 when not paused or unknown."""
    value = getattr(controls, "paused_until", 0.0) if controls is not None else 0.0
    value = value() if callable(value) else value
    return float(value or 0.0)


def policy_value(policy: Optional[PolicyReader], key: str) -> Any:
    """Read ``key`` from a Policy, a plain mapping, or None; unset keys give the
    key table's built-in default (agent/policy/keys.py)."""
    value = None
    if policy is not None:
        try:
            value = policy.get(key)
        except LookupError:  # Policy.get refuses keys it does not know
            value = None
    return key_default(key) if value is None else value


def has_display(environ=None) -> Tuple[bool, str]:
    """Whether a graphical session is there to draw on, and if not, why.

    Windows and macOS always have one for an interactive user; on Linux an
    X server must answer on $DISPLAY (Wayland sessions run XWayland, which
    sets DISPLAY too).
    """
    env = os.environ if environ is None else environ
    if sys.platform == "win32" or sys.platform == "darwin":
        return True, ""
    display = env.get("DISPLAY")
    if not display:
        return False, "DISPLAY is not set"
    try:
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError

        try:
            xdisplay.Display(display).close()
        except (DisplayError, OSError) as exc:
            return False, f"cannot open display {display}: {exc}"
    except ImportError:
        pass  # without python-xlib the helper will find out and report it
    return True, ""


def default_log_dir(audit: Optional[AuditTrail] = None) -> str:
    """Where the event log lives, for the tray's "open the event log folder":
    the folder the audit log really writes to (its per-user subfolder of a
    machine ``log_dir``), else the per-user default of agent.policy.paths."""
    from agent.policy import paths

    return (audit.log_dir if audit is not None else "") or paths.default_log_dir()
