"""Bytes a process has sent and received so far, sockets included, for the I/O meter.

Measured on Linux (docs/detection.md, "Session evidence"): ``/proc/PID/io``
``wchar`` counts ``write()`` on a socket but NOT ``send()``/``sendmsg()``,
which is what most programs (and remote tools) use: 1 MB sent with
``send()`` added 0 to ``wchar``. So on Linux the TCP bytes come from the
kernel's per-socket counters (``bytes_acked`` / ``bytes_received`` of
``ss -tinp``, iproute2), added to the process's own I/O counters. Elsewhere
psutil's process I/O counters are all there is ([B] on Windows: said to
include socket I/O, not measured here; macOS has none).

The counters are asked of the kernel directly (sock_diag netlink, the
interface ``ss`` itself uses: one dump of the established TCP sockets with
their ``tcp_info``), and a socket is tied to a pid through that pid's own
``/proc/PID/fd`` links, for the pids asked only. Running ``ss -tinp`` instead
cost 7-14 ms per read on the project's machine (a process started, every
pid's descriptors listed), most of the tick that raises a warning
(benchmarks/README.md, warning latency); it stays the fallback where netlink
is refused.

:class:`ProcessBytes` keeps the totals growing when sockets close, so the
meter (agent/collectors/iorate.py) can take rates from plain differences.
"""

from __future__ import annotations

import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Callable, Dict, Iterable, Iterator, Optional, Tuple

from agent.collectors.connections import process_socket_inodes
from agent.collectors.iorate import read_counters

#: ``pid -> {socket -> (sent, received)}``: cumulative counters of each TCP socket.
Sockets = Mapping[int, Dict[str, Tuple[int, int]]]

# sock_diag (linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h, linux/tcp.h).
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
INET_DIAG_INFO = 2
TCP_ESTABLISHED = 1
_NLMSG = struct.Struct("=IHHII")        # nlmsghdr: length, type, flags, sequence, port id
_REQUEST = struct.Struct("=BBBBI48s")   # inet_diag_req_v2: family, protocol, extensions, pad, states, sockid
_DIAG_MSG = struct.Struct("=BBBB48sIIIII")  # inet_diag_msg: ..., sockid, expires, rqueue, wqueue, uid, inode
_ATTR = struct.Struct("=HH")            # rtattr: length, type
#: tcp_info's bytes_acked and bytes_received: after 8 one-byte fields, 24 u32 and two u64 (pacing rates).
_TCP_BYTES = struct.Struct("=QQ")
_TCP_BYTES_AT = 8 + 24 * 4 + 2 * 8

_SS_USERS = re.compile(r"pid=(\d+)")
_SS_SENT = re.compile(r"\bbytes_acked:(\d+)")
_SS_RECEIVED = re.compile(r"\bbytes_received:(\d+)")


def parse_ss(text: str) -> Sockets:
    """Per-socket byte counters from ``ss -tinpH`` output.

    ``ss`` prints one line per socket (addresses and ``users:((name,pid=N,fd=F))``)
    followed by an indented line of TCP info with ``bytes_acked`` (sent and
    acknowledged) and ``bytes_received``.
    """
    out: Dict[int, Dict[str, Tuple[int, int]]] = {}
    header: Optional[str] = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            header = line
            continue
        if header is None:
            continue
        fields = header.split()
        key = " ".join(fields[2:4]) if len(fields) >= 4 else header
        sent = _SS_SENT.search(line)
        received = _SS_RECEIVED.search(line)
        for pid in {int(p) for p in _SS_USERS.findall(header)}:
            out.setdefault(pid, {})[key] = (int(sent.group(1)) if sent else 0,
                                            int(received.group(1)) if received else 0)
        header = None
    return out


def _align(n: int) -> int:
    return (n + 3) & ~3


def parse_diag(data: bytes, out: Dict[int, Tuple[int, int]]) -> bool:
    """Add ``inode -> (bytes_acked, bytes_received)`` from one netlink reply to ``out``; True at its end."""
    offset = 0
    while offset + _NLMSG.size <= len(data):
        length, kind, _flags, _seq, _port = _NLMSG.unpack_from(data, offset)
        if length < _NLMSG.size or kind == NLMSG_DONE:
            return True
        if kind == NLMSG_ERROR:
            raise OSError("sock_diag refused the dump")
        body = offset + _NLMSG.size
        if kind == SOCK_DIAG_BY_FAMILY and length >= _NLMSG.size + _DIAG_MSG.size:
            inode = _DIAG_MSG.unpack_from(data, body)[-1]
            attr = body + _DIAG_MSG.size
            while attr + _ATTR.size <= offset + length:
                attr_len, attr_type = _ATTR.unpack_from(data, attr)
                if attr_len < _ATTR.size:
                    break
                if attr_type == INET_DIAG_INFO and attr_len - _ATTR.size >= _TCP_BYTES_AT + _TCP_BYTES.size:
                    out[inode] = _TCP_BYTES.unpack_from(data, attr + _ATTR.size + _TCP_BYTES_AT)
                attr += _align(attr_len)
        offset += _align(length)
    return False


def read_tcp_diag() -> Dict[int, Tuple[int, int]]:
    """``socket inode -> (bytes acked, bytes received)`` of every established TCP socket (IPv4 and IPv6).

    Raises OSError where the kernel refuses (no netlink, no inet_diag).
    """
    out: Dict[int, Tuple[int, int]] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(2.0)
        for seq, family in enumerate((socket.AF_INET, socket.AF_INET6), start=1):
            request = _REQUEST.pack(family, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), 0,
                                    1 << TCP_ESTABLISHED, b"")
            nl.send(_NLMSG.pack(_NLMSG.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP,
                                seq, 0) + request)
            while not parse_diag(nl.recv(256 * 1024), out):
                pass
    return out


class DiagSockets(Mapping):
    """:data:`Sockets` from one sock_diag dump; a pid's part is worked out when first asked."""

    def __init__(self, by_inode: Dict[int, Tuple[int, int]],
                 inodes: Callable[[int], Iterable[int]] = process_socket_inodes) -> None:
        self._by_inode = by_inode
        self._inodes = inodes
        self._pids: Dict[int, Dict[str, Tuple[int, int]]] = {}

    def __getitem__(self, pid: int) -> Dict[str, Tuple[int, int]]:
        if pid not in self._pids:
            self._pids[pid] = {str(i): self._by_inode[i] for i in self._inodes(pid) if i in self._by_inode}
        if not self._pids[pid]:
            raise KeyError(pid)
        return self._pids[pid]

    def __iter__(self) -> Iterator[int]:
        return iter([pid for pid, sockets in self._pids.items() if sockets])

    def __len__(self) -> int:
        return sum(1 for sockets in self._pids.values() if sockets)


def read_sockets() -> Sockets:
    """The TCP sockets' counters by pid: from netlink, else from ``ss``, else none (not Linux)."""
    if not sys.platform.startswith("linux"):
        return {}
    try:
        return DiagSockets(read_tcp_diag())
    except OSError:
        return read_ss()


def read_ss() -> Sockets:
    """The established TCP sockets of every process we may see, by pid (empty without ``ss``)."""
    if not sys.platform.startswith("linux") or not shutil.which("ss"):
        return {}
    try:
        text = subprocess.run(["ss", "-tinpH", "state", "established"], capture_output=True, text=True,
                              timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return parse_ss(text)


class ProcessBytes:
    """``(sent, received)`` bytes of a pid so far: its I/O counters plus its TCP sockets' bytes.

    A reader for :class:`agent.collectors.iorate.IoMeter`. The socket table is
    read once per ``refresh`` seconds however many pids are asked (one netlink
    dump per snapshot); a socket counts from the moment it is first seen, and
    one that closes keeps what it carried, so a pid's totals only grow.
    """

    def __init__(self, process: Callable[[int], Optional[Tuple[float, float]]] = read_counters,
                 sockets: Callable[[], Sockets] = read_sockets, clock: Callable[[], float] = time.monotonic,
                 refresh: float = 0.5, forget_after: float = 30.0) -> None:
        self._process = process
        self._sockets = sockets
        self._clock = clock
        self.refresh = refresh
        self.forget_after = forget_after
        self._table: Tuple[float, Sockets] = (float("-inf"), {})
        self._last: Dict[int, Dict[str, Tuple[int, int]]] = {}
        self._totals: Dict[int, Tuple[int, int]] = {}
        self._asked: Dict[int, float] = {}

    def __call__(self, pid: int) -> Optional[Tuple[float, float]]:
        own = self._process(pid)
        if own is None:
            return None
        now = self._clock()
        if now - self._table[0] >= self.refresh:
            self._table = (now, self._sockets())
            self._forget(now)
        self._asked[pid] = now
        sent, received = self._totals.get(pid, (0, 0))
        before = self._last.get(pid, {})
        current = self._table[1].get(pid, {})
        for key, (s, r) in current.items():
            old = before.get(key, (0, 0))
            sent += max(0, s - old[0])
            received += max(0, r - old[1])
        self._last[pid] = dict(current)
        self._totals[pid] = (sent, received)
        return own[0] + sent, own[1] + received

    def _forget(self, now: float) -> None:
        for pid in [p for p, t in self._asked.items() if now - t > self.forget_after]:
            for table in (self._asked, self._last, self._totals):
                table.pop(pid, None)


def pids_with_sockets(sockets: Sockets) -> Iterable[int]:
    """The pids that own an established TCP socket (for diagnostics)."""
    return sorted(sockets)
