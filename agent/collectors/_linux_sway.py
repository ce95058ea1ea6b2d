"""Window titles under sway: the compositor's IPC tree (i3-compatible protocol).

On Wayland an ordinary client cannot list other apps' windows. sway is an
exception: any program of the session may ask it over the socket named in
``SWAYSOCK`` for its tree (GET_TREE), which lists every window, native
Wayland (``app_id``) and XWayland (``window_properties.class``) alike, with
its title, the owning pid, whether it is visible and which has focus. So on
sway the agent sees bank pages in window titles as it does on X11; on GNOME
and KDE it does not (docs/platforms.md).

:func:`parse_tree` is pure (tested on a tree recorded from headless sway,
tests/fixtures/sway/); :class:`SwayWindows` talks to the socket and
:class:`SwayWatcher` wakes the agent on window events, as the X11 watcher does.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import threading
from typing import Any, Callable, List, Mapping, Optional, Tuple

from agent import i18n
from agent.collectors.reasons import reason
from agent.model import WindowInfo

Unavailable = Tuple[str, str]

MESSAGES = i18n.register(__name__, {
    "no_swaysock": {
        "en": "SWAYSOCK is not set: not a sway session",
        "zh_CN": "未设置 SWAYSOCK：不是 sway 会话",
    },
    "no_answer": {
        "en": "sway's IPC socket {path} did not answer: {error}",
        "zh_CN": "sway 的 IPC 套接字 {path} 没有响应：{error}",
    },
})

log = logging.getLogger(__name__)

MAGIC = b"i3-ipc"
SUBSCRIBE = 2
GET_TREE = 4
HEADER = struct.Struct("=II")  # payload length, message type (native byte order)
TIMEOUT = 2.0
MAX_REPLY = 16 * 1024 * 1024  # a tree is kilobytes; anything this big is not sway


def swaysock(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The sway IPC socket of this session, or None when not under sway."""
    env = os.environ if environ is None else environ
    return env.get("SWAYSOCK") or None


def parse_tree(tree: Any) -> Tuple[WindowInfo, ...]:
    """The windows (leaf containers with a pid) of a GET_TREE reply.

    Malformed parts are skipped: this reads what another program sent.
    """
    found: List[WindowInfo] = []
    _walk(tree, found)
    return tuple(found)


def _walk(node: Any, found: List[WindowInfo]) -> None:
    if not isinstance(node, Mapping):
        return
    pid = node.get("pid")
    if isinstance(pid, int) and node.get("type") in ("con", "floating_con") and pid > 0:
        props = node.get("window_properties")
        wm_class = node.get("app_id") or (props.get("class") if isinstance(props, Mapping) else None)
        found.append(WindowInfo(title=str(node.get("name") or ""), pid=pid,
                                wm_class=str(wm_class) if wm_class else None,
                                visible=bool(node.get("visible")), foreground=bool(node.get("focused")),
                                window_id=node.get("id") if isinstance(node.get("id"), int) else None))
    for key in ("nodes", "floating_nodes"):
        children = node.get(key)
        if isinstance(children, list):
            for child in children:
                _walk(child, found)


def _request(sock: socket.socket, kind: int, payload: bytes = b"") -> bytes:
    """Send one i3-ipc message on ``sock`` and return the next reply's payload."""
    sock.sendall(MAGIC + HEADER.pack(len(payload), kind) + payload)
    return _reply(sock)


def _reply(sock: socket.socket) -> bytes:
    head = _recv(sock, len(MAGIC) + HEADER.size)
    if head[:len(MAGIC)] != MAGIC:
        raise ValueError("not an i3-ipc reply")
    length, _kind = HEADER.unpack(head[len(MAGIC):])
    if length > MAX_REPLY:
        raise ValueError(f"reply of {length} bytes is too large")
    return _recv(sock, length)


class SwayWindows:
    """Reads sway's window tree (same ``read()``/``close()`` as X11Windows)."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.path = path or swaysock()

    def read(self) -> Tuple[Tuple[WindowInfo, ...], Tuple[Unavailable, ...]]:
        """Windows now, or ``("windows", reason)`` when sway does not answer."""
        if not self.path:
            return (), (("windows", reason(MESSAGES, "no_swaysock")),)
        try:
            return parse_tree(json.loads(self._ask(GET_TREE))), ()
        except (OSError, ValueError) as exc:
            return (), (("windows", reason(MESSAGES, "no_answer", path=self.path, error=exc)),)

    def _ask(self, kind: int) -> bytes:
        if not self.path:
            raise OSError("no sway socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(self.path)
            return _request(sock, kind)

    def close(self) -> None:
        """Nothing is kept open between reads."""


def _recv(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ValueError("sway closed the connection mid-reply")
        data += chunk
    return data


class SwayWatcher:
    """Calls ``wake()`` on every sway window event (new, close, focus, title...).

    Its own daemon thread and IPC connection, subscribed to ``["window"]``;
    the snapshot then reads the tree again. Same ``start()``/``stop()`` as
    the X11 watcher.
    """

    def __init__(self, wake: Callable[[], None], path: Optional[str] = None) -> None:
        self.wake = wake
        self.path = path or swaysock()
        self._sock: Optional[socket.socket] = None
        self.thread: Optional[threading.Thread] = None

    def start(self) -> Optional[threading.Thread]:
        """Subscribe and start the thread; None when sway does not answer."""
        if not self.path:
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(TIMEOUT)
            sock.connect(self.path)
            answer = json.loads(_request(sock, SUBSCRIBE, b'["window"]'))
            if not (isinstance(answer, Mapping) and answer.get("success")):
                raise ValueError(f"subscription refused: {answer!r}")
            sock.settimeout(None)  # events come when they come; stop() closes the socket
        except (OSError, ValueError) as exc:
            sock.close()
            log.info("sway window watcher not started: %s", exc)
            return None
        self._sock = sock
        self.thread = threading.Thread(target=self._run, args=(sock,), name="sway-watcher", daemon=True)
        self.thread.start()
        return self.thread

    def _run(self, sock: socket.socket) -> None:
        try:
            while True:
                _reply(sock)  # each event's payload; the tree is read again by the snapshot
                self.wake()
        except (OSError, ValueError) as exc:
            if self._sock is not None:  # not a stop(): sway went away
                log.info("sway window watcher ended: %s", exc)

    def stop(self, timeout: float = 2.0) -> None:
        """Close the connection (ends the thread) and wait for the thread."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
