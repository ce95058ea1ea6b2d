"""The UI helper protocol: how the agent starts the helper process and what they say.

The agent side (agent.responders.ui_client) and the helper (agent.ui.helper)
both speak through the types here: one JSON object per line, the parent's
messages on the helper's stdin (``op`` names the kind), the helper's on its
stdout (``type`` names the kind). stdin closing means the parent is gone: the
helper exits, so no warning or frozen-looking screen outlives the guard.

Each line is authenticated by agent/ui/channel.py (per-launch secret,
sequence number, HMAC; on POSIX a socketpair nobody can open through
``/proc/<pid>/fd``). What a message may hold is checked here, when it is read
(:func:`parent_message`, :func:`helper_message`): every field has its
declared type, and fields with a closed set of values (``ALLOWED``) or a range
(``RANGES``) keep to it, so nothing the other side sends reaches code
unchecked (docs/security.md). The helper acknowledges every parent message
(:class:`Ack`) once handled, so the agent can tell a deaf helper.

The helper owns its command-line flag here too, so the agent's side and the
command line (agent.cli) both import it from the UI package instead of from
each other.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, Union, get_type_hints

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
    RANGES: ClassVar[Mapping[str, Tuple[float, float]]] = {"countdown_seconds": (0, 3600)}
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
    ALLOWED: ClassVar[Mapping[str, Tuple[str, ...]]] = {"choice": ("continue", "stop_sharing", "dismiss", "hotline")}
    choice: str
    alert_key: str


@dataclass(frozen=True)
class Control:
    """A tray menu action: pause (for ``seconds``), resume or quit."""

    TYPE: ClassVar[str] = "control"
    ALLOWED: ClassVar[Mapping[str, Tuple[str, ...]]] = {"op": ("pause", "resume", "quit")}
    RANGES: ClassVar[Mapping[str, Tuple[float, float]]] = {"seconds": (0, 7 * 24 * 3600)}
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
    ALLOWED: ClassVar[Mapping[str, Tuple[str, ...]]] = {"level": ("info", "warning", "error")}
    level: str
    message: str


@dataclass(frozen=True)
class Fatal:
    """The helper cannot start (no display, no Tk); it exits after this."""

    TYPE: ClassVar[str] = "fatal"
    message: str


@dataclass(frozen=True)
class Ack:
    """The parent's message number ``seq`` (agent/ui/channel.py) was handled, or
    refused as malformed: either way the helper is listening."""

    TYPE: ClassVar[str] = "ack"
    seq: int


HelperMessage = Union[Ready, Choice, Control, Report, ToastResult, Log, Fatal, Ack]

_PARENT: Dict[str, Type[Any]] = {m.OP: m for m in (Config, AlertTexts, ShowView, Toast, Quit)}
_HELPER: Dict[str, Type[Any]] = {m.TYPE: m for m in (Ready, Choice, Control, Report, ToastResult, Log, Fatal, Ack)}


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


#: Each message class's resolved field types (read once).
_HINTS: Dict[Type[Any], Dict[str, Any]] = {}


def _short(value: Any) -> str:
    """``value`` for an error message, bounded whatever it is."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return repr(value)[:60]
    return f"a {type(value).__name__}"


def _fits(value: Any, kind: Any) -> bool:
    """Whether a JSON value has the declared type of a message field."""
    if kind is Any:
        return True
    if kind is bool:
        return isinstance(value, bool)
    if kind in (int, float):
        # bool is an int in Python; on the wire it is not a number.
        return isinstance(value, (int, float) if kind is float else int) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    origin, args = getattr(kind, "__origin__", None), tuple(getattr(kind, "__args__", ()))
    if origin is Union:
        return any(_fits(value, a) for a in args)
    if origin is tuple and args:     # Tuple[X, ...]: a JSON list of X
        item = args[0]
        return isinstance(value, (list, tuple)) and all(_fits(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    return kind is type(None) and value is None


def _build(cls: Type[Any], data: Mapping[str, Any]) -> Any:
    """A ``cls`` from the wire's object: every field checked against its
    declared type, ``ALLOWED`` values and ``RANGES`` (fields it does not
    know are ignored: a newer peer may add some)."""
    hints = _HINTS.get(cls) or _HINTS.setdefault(cls, get_type_hints(cls))
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if not _fits(value, hints[f.name]):
            raise ProtocolError(f"{cls.__name__}: bad {f.name} {_short(value)}")
        allowed = getattr(cls, "ALLOWED", {}).get(f.name)
        if allowed is not None and value not in allowed:
            raise ProtocolError(f"{cls.__name__}: {f.name} {_short(value)} is not one of {', '.join(allowed)}")
        low, high = getattr(cls, "RANGES", {}).get(f.name, (None, None))
        if low is not None and not low <= value <= high:
            raise ProtocolError(f"{cls.__name__}: {f.name} {_short(value)} is outside {low:g}..{high:g}")
        values[f.name] = value
    try:
        return cls(**values)
    except TypeError as exc:  # a field missing
        raise ProtocolError(f"{cls.__name__}: {exc}") from None


def _kind(data: Mapping[str, Any], key: str, table: Mapping[str, Type[Any]]) -> Type[Any]:
    """The message class ``data[key]`` names (it may be anything a peer sent)."""
    name = data.get(key)
    cls = table.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ProtocolError(f"unknown {key} {_short(name)}")
    return cls


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
    message = _build(_kind(data, "op", _PARENT), data)
    if isinstance(message, Config):
        message = dataclasses.replace(message, hotlines=tuple(message.hotlines))
    return message


def helper_message(data: Mapping[str, Any]) -> HelperMessage:
    """The helper message a JSON object holds."""
    cls = _kind(data, "type", _HELPER)
    if cls is Report:
        if not isinstance(data.get("event"), str):
            raise ProtocolError(f"Report: bad event {_short(data.get('event'))}")
        details = {k: v for k, v in data.items() if k not in ("type", "event")}
        return Report(event=data["event"], details=details)
    return _build(cls, data)


def decode_parent(line: str) -> ParentMessage:
    """A parent message from one line of the helper's stdin."""
    return parent_message(parse_line(line))


def decode_helper(line: str) -> HelperMessage:
    """A helper message from one line of its stdout."""
    return helper_message(parse_line(line))


__all__ = ["UI_HELPER_FLAG", "ProtocolError", "Config", "AlertTexts", "ShowView", "Toast", "Quit", "ParentMessage",
           "Ready", "Choice", "Control", "Report", "ToastResult", "Log", "Fatal", "Ack", "HelperMessage", "to_wire",
           "encode", "parse_line", "parent_message", "helper_message", "decode_parent", "decode_helper"]
