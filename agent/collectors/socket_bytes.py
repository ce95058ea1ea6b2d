"""Bytes a process has sent and received so far, sockets included, for the I/O meter.

Measured on Linux (docs/detection.md, "Session evidence"): ``/proc/PID/io``
``wchar`` counts ``write()`` on a socket but NOT ``send()``/``sendmsg()``,
which is what most programs (and remote tools) use: 1 MB sent with
``send()`` added 0 to ``wchar``. So on Linux the TCP bytes come from the
kernel's per-socket counters (``bytes_acked`` / ``bytes_received`` of
``ss -tinp``, iproute2), added to the process's own I/O counters. Elsewhere
psutil's process I/O counters are all there is ([B] on Windows: said to
include socket I/O, not measured here; macOS has none).

:class:`ProcessBytes` keeps the totals growing when sockets close, so the
meter (agent/collectors/iorate.py) can take rates from plain differences.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from typing import Callable, Dict, Iterable, Optional, Tuple

from agent.collectors.iorate import read_counters

#: ``pid -> {socket -> (sent, received)}``: cumulative counters of each TCP socket.
Sockets = Dict[int, Dict[str, Tuple[int, int]]]

_SS_USERS = re.compile(r"pid=(\d+)")
_SS_SENT = re.compile(r"\bbytes_acked:(\d+)")
_SS_RECEIVED = re.compile(r"\bbytes_received:(\d+)")


def parse_ss(text: str) -> Sockets:
    """Per-socket byte counters from ``ss -tinpH`` output.

    ``ss`` prints one line per socket (addresses and ``users:((name,pid=N,fd=F))``)
    followed by an indented line of TCP info with ``bytes_acked`` (sent and
    acknowledged) and ``bytes_received``.
    """
    out: Sockets = {}
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
    read once per ``refresh`` seconds however many pids are asked (one ``ss``
    run per snapshot); a socket counts from the moment it is first seen, and
    one that closes keeps what it carried, so a pid's totals only grow.
    """

    def __init__(self, process: Callable[[int], Optional[Tuple[float, float]]] = read_counters,
                 sockets: Callable[[], Sockets] = read_ss, clock: Callable[[], float] = time.monotonic,
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
