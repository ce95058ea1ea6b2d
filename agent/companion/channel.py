"""The local channel between ``shareguard native-host`` and the agent.

One stream per browser profile, carrying one JSON object per line. It never
touches the network and only the same user can open it:

* Linux, macOS: a Unix socket ``companion.sock`` in a ``shareguard`` folder
  of the user's runtime directory (``$XDG_RUNTIME_DIR``; ``$TMPDIR`` on
  macOS; else ``/tmp/shareguard-<uid>``). The folder is mode 0700 and owned
  by the user, the socket 0600, and both ends check the other's uid
  (``SO_PEERCRED`` / ``LOCAL_PEERCRED``) so root or a second user is turned
  away even where file modes would let them in.
* Windows: a named pipe ``\\\\.\\pipe\\shareguard-companion-<SID>`` whose
  security descriptor grants only the user's SID, that rejects remote
  clients, and whose owner the host checks before it sends anything
  (:mod:`agent.companion._win_pipe`).

docs/privacy.md describes what travels on it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import struct
import sys
from typing import Any, Dict, Iterator, Mapping, Optional

log = logging.getLogger("shareguard.companion.channel")

#: Longest line accepted on the channel (a fact is a few KiB).
MAX_LINE = 512 * 1024
SOCKET_NAME = "companion.sock"


class ChannelError(OSError):
    """The channel cannot be opened safely; the message says why and what to do."""


# -- where ----------------------------------------------------------------------
def runtime_dir(environ: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> str:
    """The per-user folder that holds the socket (not created here)."""
    env = os.environ if environ is None else environ
    platform = platform or sys.platform
    uid = os.getuid()
    base = env.get("XDG_RUNTIME_DIR", "")
    if base and os.path.isdir(base):
        try:
            if os.stat(base).st_uid == uid:
                return os.path.join(base, "shareguard")
        except OSError:
            pass
    if platform == "darwin" and env.get("TMPDIR"):
        return os.path.join(env["TMPDIR"], "shareguard")
    return os.path.join("/tmp", f"shareguard-{uid}")


def channel_address(environ: Optional[Mapping[str, str]] = None) -> str:
    """The socket path (Unix) or pipe name (Windows) of this user's channel."""
    env = os.environ if environ is None else environ
    forced = env.get("SHAREGUARD_COMPANION_CHANNEL")
    if forced:
        return forced
    if sys.platform == "win32":
        from agent.companion import _win_pipe

        return _win_pipe.pipe_name()
    return os.path.join(runtime_dir(env), SOCKET_NAME)


# -- Unix: private folder, peer credentials -------------------------------------------
def _check_private_dir(path: str, create: bool) -> None:
    uid = os.getuid()
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ChannelError(f"{path} does not exist: is the ShareGuard agent running for this user?") from None
    if not stat.S_ISDIR(st.st_mode):
        raise ChannelError(f"{path} is not a folder (a link or file is in the way): remove it and restart ShareGuard")
    if st.st_uid != uid:
        raise ChannelError(f"{path} belongs to uid {st.st_uid}, not to this user ({uid}): "
                           "refusing to use it; remove it and restart ShareGuard")
    if st.st_mode & 0o077:
        if not create:
            raise ChannelError(f"{path} is open to other users (mode {st.st_mode & 0o777:o}); "
                               "restart ShareGuard to fix it")
        os.chmod(path, 0o700)


def peer_uid(sock: socket.socket) -> Optional[int]:
    """The uid at the other end of a connected Unix socket (None if the OS cannot tell)."""
    if hasattr(socket, "SO_PEERCRED"):
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", raw)
        return uid
    if sys.platform == "darwin":
        # LOCAL_PEERCRED (SOL_LOCAL=0, 0x001) returns struct xucred {u_int version; uid_t uid; ...}.
        raw = sock.getsockopt(0, 0x001, struct.calcsize("IIh16I"))
        return struct.unpack_from("II", raw)[1]
    return None


class Connection:
    """One end of the channel: JSON lines in both directions."""

    def __init__(self, sock: Any, peer: Optional[int] = None) -> None:
        self._sock = sock
        self.peer_uid = peer
        self._reader = sock.makefile("rb")

    def send(self, message: Dict[str, Any]) -> None:
        """Send one object as a line (raises OSError when the other end is gone)."""
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        self._sock.sendall(data)

    def receive(self) -> Optional[Any]:
        """The next object; None at the end. Raises ValueError for a bad or overlong line."""
        line = self._reader.readline(MAX_LINE + 1)
        if not line:
            return None
        if len(line) > MAX_LINE:
            raise ValueError(f"a line of more than {MAX_LINE} bytes")
        return json.loads(line.decode("utf-8"))

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self.receive()
            if item is None:
                return
            yield item

    def settimeout(self, seconds: Optional[float]) -> None:
        self._sock.settimeout(seconds)

    def close(self) -> None:
        for part in (self._reader, self._sock):
            try:
                part.close()
            except OSError:
                pass


class UnixListener:
    """The agent's end: a listening Unix socket only this user can reach."""

    def __init__(self, path: str) -> None:
        self.path = path
        folder = os.path.dirname(path)
        _check_private_dir(folder, create=True)
        if os.path.exists(path) or os.path.islink(path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)  # left by an agent that did not stop cleanly
            else:
                probe.close()
                raise ChannelError(f"another ShareGuard agent already listens on {path}")
            finally:
                probe.close()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is born 0600: no window where others could connect
        try:
            self._sock.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        self._sock.listen(16)
        self._closed = False

    def accept(self) -> Optional[Connection]:
        """The next connection from this user; others are refused and logged. None once closed."""
        uid = os.getuid()
        while not self._closed:
            try:
                sock, _ = self._sock.accept()
            except OSError:
                if self._closed:
                    return None
                raise
            peer = peer_uid(sock)
            if peer is not None and peer != uid:
                log.warning("browser companion channel: refused a connection from uid %s (only uid %s may "
                            "connect)", peer, uid)
                sock.close()
                continue
            return Connection(sock, peer)
        return None

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        try:
            if os.path.exists(self.path):
                os.unlink(self.path)
        except OSError:
            pass


def listen(address: Optional[str] = None):
    """Open the agent's end of the channel (Unix socket or named pipe)."""
    address = address or channel_address()
    if sys.platform == "win32":
        from agent.companion import _win_pipe

        return _win_pipe.PipeListener(address)
    return UnixListener(address)


def connect(address: Optional[str] = None, timeout: float = 2.0):
    """Open the host's end; ChannelError when no agent of this user listens."""
    address = address or channel_address()
    if sys.platform == "win32":
        from agent.companion import _win_pipe

        return _win_pipe.connect(address, timeout)
    _check_private_dir(os.path.dirname(address), create=False)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except OSError as exc:
        sock.close()
        raise ChannelError(f"no ShareGuard agent listens on {address} ({exc.strerror or exc})") from None
    sock.settimeout(None)
    peer = peer_uid(sock)
    if peer is not None and peer != os.getuid():
        sock.close()
        raise ChannelError(f"{address} is served by uid {peer}, not by this user: not sending anything")
    return Connection(sock, peer)
