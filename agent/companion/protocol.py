"""Native messaging framing and the companion's fact messages.

Browsers talk to a native host with messages framed as a 4-byte length in
the machine's native byte order followed by that many bytes of UTF-8 JSON
(the same for Chrome, Edge and Firefox). :func:`read_frame` and
:func:`write_frame` implement that framing; :func:`parse_fact` checks a
decoded message against the few shapes the extension sends and returns a
normalised copy, so nothing else a page or a broken extension might send
reaches the agent.

Limits are small on purpose: a report of every window of a browser is a few
KiB, so anything above :data:`MAX_MESSAGE` is refused (and skipped, so the
browser's port stays usable).
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO, Dict, List, Optional

#: Largest message accepted from the browser, in bytes.
MAX_MESSAGE = 256 * 1024
#: Largest message sent to the browser (the browsers' own limit is 1 MiB).
MAX_REPLY = 1024 * 1024

_LENGTH = struct.Struct("=I")  # native byte order, as the browsers write it

SURFACES = ("monitor", "window", "browser", "unknown")
WINDOW_STATES = ("normal", "minimized", "maximized", "fullscreen", "docked", "locked-fullscreen")
BROWSERS = ("chrome", "chromium", "edge", "firefox", "brave", "opera", "vivaldi")

MAX_URL = 2048
MAX_TITLE = 512
MAX_WINDOWS = 200
MAX_CAPTURES = 32
MAX_CAUSES = 16


class FrameError(Exception):
    """A frame that cannot be read: ``kind`` is ``truncated`` or ``oversized``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class MessageError(ValueError):
    """A frame that was read but is not a fact the companion sends."""


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    chunks: List[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO, limit: int = MAX_MESSAGE) -> Optional[bytes]:
    """The next message's bytes; None at a clean end of input.

    A length above ``limit`` raises ``FrameError('oversized')`` after the
    body was read and thrown away (so the next frame can be read); input
    that ends inside a frame raises ``FrameError('truncated')``.
    """
    head = _read_exact(stream, _LENGTH.size)
    if not head:
        return None
    if len(head) < _LENGTH.size:
        raise FrameError("truncated", f"input ended inside a length prefix ({len(head)} of 4 bytes)")
    (size,) = _LENGTH.unpack(head)
    if size > limit:
        skipped = _discard(stream, size)
        if skipped < size:
            raise FrameError("truncated", f"a {size}-byte message (over the {limit}-byte limit) ended after "
                                          f"{skipped} bytes")
        raise FrameError("oversized", f"refused a {size}-byte message: the limit is {limit} bytes "
                                      "(skipped; the next message is read normally)")
    body = _read_exact(stream, size)
    if len(body) < size:
        raise FrameError("truncated", f"input ended inside a message: {len(body)} of {size} bytes")
    return body


def _discard(stream: BinaryIO, size: int) -> int:
    left = size
    while left:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            break
        left -= len(chunk)
    return size - left


def encode_frame(message: Any) -> bytes:
    """One message as the browsers expect it: length prefix + compact JSON."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_REPLY:
        raise MessageError(f"reply of {len(body)} bytes exceeds {MAX_REPLY}")
    return _LENGTH.pack(len(body)) + body


def write_frame(stream: BinaryIO, message: Any) -> None:
    """Write and flush one framed message."""
    stream.write(encode_frame(message))
    stream.flush()


def decode(body: bytes) -> Any:
    """UTF-8 JSON of a frame body, or MessageError saying what is wrong."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MessageError(f"not UTF-8 (byte {exc.start})") from None
    except ValueError as exc:
        raise MessageError(f"not JSON: {exc}") from None


# -- fact shapes ----------------------------------------------------------
def _text(value: Any, limit: int, what: str) -> str:
    if not isinstance(value, str):
        raise MessageError(f"{what}: expected a string, got {type(value).__name__}")
    return value[:limit]


def _int(value: Any, what: str, optional: bool = False) -> Optional[int]:
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise MessageError(f"{what}: expected an integer, got {type(value).__name__}")
    return value


def _list(value: Any, limit: int, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MessageError(f"{what}: expected a list, got {type(value).__name__}")
    if len(value) > limit:
        raise MessageError(f"{what}: {len(value)} entries, at most {limit}")
    return value


def _dict(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise MessageError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def _tab(raw: Any, what: str) -> Dict[str, Any]:
    raw = _dict(raw, what)
    return {"id": _int(raw.get("id"), f"{what}.id"), "url": _text(raw.get("url", ""), MAX_URL, f"{what}.url"),
            "title": _text(raw.get("title", ""), MAX_TITLE, f"{what}.title")}


def parse_fact(message: Any) -> Dict[str, Any]:
    """A normalised copy of one fact from the extension, or MessageError.

    Shapes: ``hello`` (browser, extension version), ``state`` (windows with
    their active tab, captures, extra background tabs that capture or are
    shared), ``bye``. Unknown keys are dropped; strings are cut to size.
    """
    message = _dict(message, "message")
    kind = message.get("type")
    if kind == "hello":
        browser = message.get("browser")
        return {"type": "hello", "browser": browser if browser in BROWSERS else "chromium",
                "extension": _text(message.get("extension", ""), 32, "extension")}
    if kind == "bye":
        return {"type": "bye"}
    if kind != "state":
        raise MessageError(f"unknown message type {kind!r} (expected hello, state or bye)")
    windows = []
    for i, raw in enumerate(_list(message.get("windows"), MAX_WINDOWS, "windows")):
        raw = _dict(raw, f"windows[{i}]")
        state = raw.get("state", "normal")
        windows.append({
            "id": _int(raw.get("id"), f"windows[{i}].id"),
            "focused": bool(raw.get("focused", False)),
            "state": state if state in WINDOW_STATES else "normal",
            "incognito": bool(raw.get("incognito", False)),
            "tab": None if raw.get("tab") is None else _tab(raw["tab"], f"windows[{i}].tab"),
        })
    captures = []
    for i, raw in enumerate(_list(message.get("captures"), MAX_CAPTURES, "captures")):
        raw = _dict(raw, f"captures[{i}]")
        surface = raw.get("surface")
        captures.append({"tab": _int(raw.get("tab"), f"captures[{i}].tab"),
                         "surface": surface if surface in SURFACES else "unknown",
                         "shared_tab": _int(raw.get("shared_tab"), f"captures[{i}].shared_tab", optional=True)})
    tabs = []
    for i, raw in enumerate(_list(message.get("tabs"), MAX_CAPTURES * 2, "tabs")):
        tab = _tab(raw, f"tabs[{i}]")
        tab["window"] = _int(_dict(raw, f"tabs[{i}]").get("window"), f"tabs[{i}].window", optional=True)
        tabs.append(tab)
    causes = [c for c in _list(message.get("causes"), MAX_CAUSES, "causes") if isinstance(c, str)]
    seq = message.get("seq")
    return {"type": "state", "seq": seq if isinstance(seq, int) and not isinstance(seq, bool) else 0,
            "causes": [c[:32] for c in causes], "windows": windows, "captures": captures, "tabs": tabs}
