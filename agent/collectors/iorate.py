"""Bytes per second a process sends and receives, from its I/O counters.

The collector only measures (``ProcessInfo.io_rate``, spec in
docs/replay.md); the engine decides what a screen stream looks like. Only
the pids the collector asks for are read (remote-control candidates), one
counter read per pid and snapshot. On Linux the "chars" counters are used,
plus each TCP socket's own byte counters (agent/collectors/socket_bytes.py):
measured, ``wchar`` counts ``write()`` on a socket but not ``send()``.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Deque, Dict, Iterable, Optional, Tuple

import psutil

from agent.model import IoRate

Sample = Tuple[float, float, float]  # (monotonic time, bytes written, bytes read)


def read_counters(pid: int) -> Optional[Tuple[float, float]]:
    """(written, read) bytes of one process so far, or None when refused or gone."""
    try:
        counters = psutil.Process(pid).io_counters()
    except (psutil.Error, OSError, AttributeError, NotImplementedError):
        return None  # another user's process, gone, or no counters on this OS (macOS)
    sent = getattr(counters, "write_chars", None)
    received = getattr(counters, "read_chars", None)
    if sent is None:
        sent, received = counters.write_bytes, counters.read_bytes
    return float(sent), float(received or 0)


class IoMeter:
    """Keeps recent counter samples per pid and turns them into rates.

    A rate is given once two samples are at least ``min_seconds`` apart; it
    is averaged over the samples of the last ``window`` seconds. Pids not
    asked for in a call are forgotten.
    """

    def __init__(self, window: float = 5.0, min_seconds: float = 1.0,
                 read: Optional[Callable[[int], Optional[Tuple[float, float]]]] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.min_seconds = min_seconds
        if read is None:
            # Sockets included (a send() never reaches /proc/PID/io on Linux).
            from agent.collectors.socket_bytes import ProcessBytes
            read = ProcessBytes()
        self._read = read
        self._clock = clock
        self._samples: Dict[int, Deque[Sample]] = {}

    def rates(self, pids: Iterable[int]) -> Tuple[Tuple[int, IoRate], ...]:
        """``(pid, IoRate)`` for the pids measured long enough; reads each pid's counters once."""
        now = self._clock()
        out = []
        seen: Dict[int, Deque[Sample]] = {}
        for pid in pids:
            got = self._read(pid)
            if got is None:
                continue
            samples = self._samples.get(pid) or deque()
            if samples and (got[0] < samples[-1][1] or got[1] < samples[-1][2]):
                samples.clear()  # counters went back: another process now has this pid
            samples.append((now, got[0], got[1]))
            while len(samples) > 2 and now - samples[1][0] >= self.window:
                samples.popleft()
            seen[pid] = samples
            first = samples[0]
            span = now - first[0]
            if span >= self.min_seconds:
                out.append((pid, IoRate(sent=round((got[0] - first[1]) / span, 1),
                                        received=round((got[1] - first[2]) / span, 1),
                                        seconds=round(span, 2))))
        self._samples = seen
        return tuple(out)
