"""The UI helper protocol: how the agent starts the helper process and what they say.

The agent side (agent.responders.ui_client) and the helper (agent.ui.helper)
both speak through the types here: one JSON object per line, the parent's
messages on the helper's stdin (``op`` names the kind), the helper's on its
stdout (``type`` names the kind). stdin closing means the parent is gone: the
helper exits, so no warning or frozen-looking screen outlives the guard.

The helper owns its command-line flag here too, so the agent's side and the
command line (agent.cli) both import it from the UI package instead of from
each other.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, Union

#: Hidden first argument that runs the UI helper process. A frozen build
#: (PyInstaller: shareguard.exe, ShareGuard.app) has no ``python -m``, so the
#: UI client starts the same executable with this argument instead.
UI_HELPER_FLAG = "--ui-helper"


class ProtocolError(ValueError):
    """A line that is not a message of this protocol (the reader logs it and goes on)."""


# -- parent -> helper -----------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """Everything the helper shows by policy, in the user's language. Sent first,
    and again when the policy is reloaded (the helper takes it as an update)."""

    OP: ClassVar[str] = "config"
    lang: str
    tray: bool
    countdown_seconds: int
    hotlines: Tuple[str, ...]
    custom_message: str
    help_url: str
    allow_pause: bool
    allow_quit: bool
    log_dir: str


@dataclass(frozen=True)
class AlertTexts:
    """The policy's custom message and help URL with this alert's placeholders
    filled in; the helper takes them as an update of the same fields of :class:`Config`."""

    OP: ClassVar[str] = "alert_texts"
    custom_message: str
    help_url: str


@dataclass(frozen=True)
class ShowView:
    """What to show now: ``view`` is agent.ui.view.summarize() of the verdict."""

    OP: ClassVar[str] = "view"
    view: Dict[str, Any]
    tooltip: str


@dataclass(frozen=True)
class Toast:
    """Show a notification."""

    OP: ClassVar[str] = "toast"
    title: str
    body: str


@dataclass(frozen=True)
class Quit:
    """Close every window and exit."""

    OP: ClassVar[str] = "quit"


ParentMessage = Union[Config, AlertTexts, ShowView, Toast, Quit]

# -- helper -> parent -----------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """The helper is configured: whether the tray icon and toasts work, and its pid."""

    TYPE: ClassVar[str] = "ready"
    tray: bool
    tray_error: Optional[str]
    toasts: bool
    toasts_why: str
    pid: int


@dataclass(frozen=True)
class Choice:
    """The person's answer on the warning: continue, stop_sharing or hotline."""

    TYPE: ClassVar[str] = "choice"
    choice: str
    alert_key: str


@dataclass(frozen=True)
class Control:
    """A tray menu action: pause (for ``seconds``), resume or quit."""

    TYPE: ClassVar[str] = "control"
    op: str
    seconds: float = 0.0


@dataclass(frozen=True)
class Report:
    """What is on screen, for logs and tests: ``event`` is ``shown`` (the warning
    is mapped), ``geometry`` (its windows and buttons) or ``menu`` (the tray
    menu's entries); ``details`` holds that event's fields."""

    TYPE: ClassVar[str] = "report"
    event: str
    details: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToastResult:
    """Whether a toast was shown, and if not, why."""

    TYPE: ClassVar[str] = "toast_result"
    ok: bool
    why: str


@dataclass(frozen=True)
class Log:
    """A line for the agent's log (level: info, warning or error)."""

    TYPE: ClassVar[str] = "log"
    level: str
    message: str


@dataclass(frozen=True)
class Fatal:
    """The helper cannot start (no display, no Tk); it exits after this."""

    TYPE: ClassVar[str] = "fatal"
    message: str


HelperMessage = Union[Ready, Choice, Control, Report, ToastResult, Log, Fatal]

_PARENT: Dict[str, Type[Any]] = {m.OP: m for m in (Config, AlertTexts, ShowView, Toast, Quit)}
_HELPER: Dict[str, Type[Any]] = {m.TYPE: m for m in (Ready, Choice, Control, Report, ToastResult, Log, Fatal)}


def to_wire(message: Union[ParentMessage, HelperMessage]) -> Dict[str, Any]:
    """The JSON object of ``message`` (``op`` or ``type`` first; a report's details flat)."""
    fields = {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}
    if isinstance(message, Report):
        return {"type": Report.TYPE, "event": message.event, **message.details}
    if isinstance(message, (Config, AlertTexts, ShowView, Toast, Quit)):
        out: Dict[str, Any] = {"op": message.OP, **fields}
        if isinstance(message, Config):
            out["hotlines"] = list(message.hotlines)
        return out
    return {"type": message.TYPE, **fields}


def encode(message: Union[ParentMessage, HelperMessage]) -> str:
    """One line of the protocol (no newline)."""
    return json.dumps(to_wire(message), ensure_ascii=False)


def _build(cls: Type[Any], data: Mapping[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as exc:  # a field missing
        raise ProtocolError(f"{cls.__name__}: {exc}") from None


def parse_line(line: str) -> Dict[str, Any]:
    """The JSON object on one line (:class:`ProtocolError` if it is none)."""
    try:
        data = json.loads(line)
    except ValueError:
        raise ProtocolError(f"not JSON: {line[:100]!r}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"not a JSON object: {line[:100]!r}")
    return data


def parent_message(data: Mapping[str, Any]) -> ParentMessage:
    """The parent message a JSON object holds."""
    cls = _PARENT.get(data.get("op", ""))
    if cls is None:
        raise ProtocolError(f"unknown op {data.get('op')!r}")
    message = _build(cls, data)
    if isinstance(message, Config):
        message = dataclasses.replace(message, hotlines=tuple(str(h) for h in message.hotlines))
    return message


def helper_message(data: Mapping[str, Any]) -> HelperMessage:
    """The helper message a JSON object holds."""
    cls = _HELPER.get(data.get("type", ""))
    if cls is None:
        raise ProtocolError(f"unknown type {data.get('type')!r}")
    if cls is Report:
        details = {k: v for k, v in data.items() if k not in ("type", "event")}
        return Report(event=str(data.get("event", "")), details=details)
    return _build(cls, data)


def decode_parent(line: str) -> ParentMessage:
    """A parent message from one line of the helper's stdin."""
    return parent_message(parse_line(line))


def decode_helper(line: str) -> HelperMessage:
    """A helper message from one line of its stdout."""
    return helper_message(parse_line(line))


__all__ = ["UI_HELPER_FLAG", "ProtocolError", "Config", "AlertTexts", "ShowView", "Toast", "Quit", "ParentMessage",
           "Ready", "Choice", "Control", "Report", "ToastResult", "Log", "Fatal", "HelperMessage", "to_wire",
           "encode", "parse_line", "parent_message", "helper_message", "decode_parent", "decode_helper"]
