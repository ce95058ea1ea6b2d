"""``shareguard native-host``: the browsers' native-messaging host.

The browser starts it when the companion extension connects, and talks to
it over stdin/stdout (:mod:`agent.companion.protocol`). Every fact is checked
and relayed, one JSON line each, to the agent of the same user over the
local channel (:mod:`agent.companion.channel`). The host adds only what the
browser cannot say itself: which browser process it belongs to.

It must never take the browser's port down: a malformed, oversized or
unknown message is refused with one log line (stderr, which the browsers
keep in their own logs) and an ``error`` reply, and the host reads on. It
ends only when the browser closes the port (end of input). Log lines never
contain addresses or titles.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, BinaryIO, Callable, Dict, Optional, Sequence

from agent.companion import channel, protocol

log = logging.getLogger("shareguard.native-host")

#: Process names of browsers (casefolded, without .exe) that start the host.
BROWSER_PROCESSES = ("chrome", "chromium", "chromium-browser", "msedge", "firefox", "firefox-esr", "firefox-bin",
                     "brave", "opera", "vivaldi", "vivaldi-bin", "librewolf", "waterfox", "floorp",
                     "google chrome", "microsoft edge")
#: Do not retry a missing agent more often than this (each fact would otherwise try).
RECONNECT_SECONDS = 2.0


def browser_pid(start: Optional[int] = None) -> Optional[int]:
    """The browser process above this host (Chrome on Windows starts it through cmd.exe)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return start or os.getppid()
    pid = start or os.getppid()
    try:
        proc = psutil.Process(pid)
        for _ in range(4):
            name = proc.name().casefold()
            if name.endswith(".exe"):
                name = name[:-4]
            if name in BROWSER_PROCESSES:
                return proc.pid
            parent = proc.parent()
            if parent is None:
                break
            proc = parent
    except (psutil.Error, OSError):
        pass
    return pid


def caller(argv: Sequence[str]) -> str:
    """Who started the host: Chrome passes the extension origin, Firefox the manifest path and add-on id."""
    for arg in argv:
        if arg.startswith("chrome-extension://"):
            return arg
    if len(argv) >= 2 and "@" in argv[1]:
        return "moz-extension:" + argv[1]
    return ""


class Relay:
    """Forwards facts to the agent, reconnecting lazily; remembers the hello to repeat it."""

    def __init__(self, connect: Callable[[], Any] = channel.connect,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._connect, self._clock = connect, clock
        self._conn: Any = None
        self._hello: Optional[Dict[str, Any]] = None
        self._next_try = 0.0
        self._said_missing = False

    def send(self, fact: Dict[str, Any]) -> bool:
        """Relay one fact; False when no agent listens (the fact is dropped)."""
        is_hello = fact.get("type") == "hello"
        if is_hello:
            self._hello = fact
        if self._conn is None:
            if not self._open():
                return False
            if is_hello:
                return True  # _open() has just sent it
        conn = self._conn
        try:
            conn.send(fact)
            return True
        except OSError as exc:
            log.warning("lost the agent's channel (%s); will reconnect", exc)
            self.close()
            if fact.get("type") != "hello" and self._open() and self._conn is not None:
                try:
                    self._conn.send(fact)
                    return True
                except OSError:
                    self.close()
            return False

    def _open(self) -> bool:
        now = self._clock()
        if now < self._next_try:
            return False
        self._next_try = now + RECONNECT_SECONDS
        try:
            conn = self._connect()
        except (channel.ChannelError, OSError) as exc:
            if not self._said_missing:
                log.warning("ShareGuard agent not reachable, facts are dropped until it is: %s", exc)
                self._said_missing = True
            self._conn = None
            return False
        self._conn = conn
        self._said_missing = False
        log.info("connected to the ShareGuard agent")
        if self._hello is not None:
            try:
                conn.send(self._hello)
            except OSError:
                self.close()
                return False
        return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def serve(stdin: BinaryIO, stdout: BinaryIO, relay: Relay, argv: Sequence[str] = (),
          pid_of_browser: Optional[int] = None) -> int:
    """Read framed messages until the browser closes the port; always returns 0."""
    origin = caller(argv)
    count = refused = 0
    while True:
        try:
            body = protocol.read_frame(stdin)
        except protocol.FrameError as exc:
            refused += 1
            log.warning("refused a message from the browser: %s", exc)
            if exc.kind == "truncated":
                break
            _reply(stdout, {"type": "error", "error": str(exc)})
            continue
        if body is None:
            break
        count += 1
        try:
            fact = protocol.parse_fact(protocol.decode(body))
        except protocol.MessageError as exc:
            refused += 1
            log.warning("refused message %d from the browser (%d bytes): %s", count, len(body), exc)
            _reply(stdout, {"type": "error", "error": str(exc)})
            continue
        try:
            if fact["type"] == "hello":
                fact.update(host_pid=os.getpid(), browser_pid=pid_of_browser, caller=origin)
            delivered = relay.send(fact)
            _reply(stdout, {"type": "ack", "seq": fact.get("seq", 0), "agent": delivered})
        except Exception:  # the port must survive whatever happens here
            log.exception("could not relay message %d; carrying on", count)
    relay.send({"type": "bye"})
    relay.close()
    log.info("browser closed the port after %d messages (%d refused)", count, refused)
    return 0


def _reply(stdout: BinaryIO, message: Dict[str, Any]) -> None:
    try:
        protocol.write_frame(stdout, message)
    except (OSError, ValueError):
        pass  # the browser is going away; its end-of-input ends the loop


def main(argv: Sequence[str] = ()) -> int:
    """Entry point of ``shareguard native-host`` (started by the browser, never by hand)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="shareguard native-host %(levelname)s: %(message)s")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    if sys.platform == "win32":
        import msvcrt

        msvcrt.setmode(stdin.fileno(), os.O_BINARY)
        msvcrt.setmode(stdout.fileno(), os.O_BINARY)
    # Nothing else may write to stdout: it is the browser's port.
    sys.stdout = sys.stderr
    return serve(stdin, stdout, Relay(), argv, pid_of_browser=browser_pid())
