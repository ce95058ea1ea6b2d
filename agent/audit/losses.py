"""Durable per-sink loss counters: every lost audit event is counted, even across a SIGKILL.

A loss report that is itself lost (a full disk, a dead collector) must not
make the loss invisible, and a queue that dies with the process must not
vanish uncounted (docs/events.md, "What can be lost"). So each sink has a
slot in a small memory-mapped file in the private state folder:

- ``offered`` / ``settled``: events put on the sink's queue / taken off it
  (written, or counted as lost). A process killed with events queued leaves
  ``offered > settled``; the next start counts the difference as lost.
- ``unreported[reason]``: losses not yet reported *by that sink itself*.
  They are cleared only after the sink wrote its ``events_dropped`` report.

Stores into a shared file mapping land in the page cache at once, so they
survive the process being killed (not a power cut: the counters are synced
with the file sink's fsync rhythm, see :meth:`LossLedger.sync`). The file is
allocated in full when created, so a full disk cannot fault a store.
Without a usable state folder the ledger lives in memory (counted, but not
across restarts).
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
import threading
from typing import Dict, List, Optional

from agent.safe_files import open_nofollow, private_dir

log = logging.getLogger("shareguard.audit")

#: Why events were lost, in slot order; the text goes into ``events_dropped.reason``.
REASONS = (
    "queue full: the sink could not keep up",
    "write failed (disk full, transport down or a partial write)",
    "queued but not written when the agent stopped or was killed",
    "spool full: the oldest batches were dropped",
)
QUEUE_FULL, WRITE_FAILED, NOT_WRITTEN, SPOOL_FULL = range(len(REASONS))

_MAGIC = b"SGLOSS01"
_NAME = 40
_SLOT = struct.Struct(f"<{_NAME}sQQ{len(REASONS)}Q")
SLOTS = 32
SIZE = len(_MAGIC) + SLOTS * _SLOT.size


class LossLedger:
    """The per-sink counters (thread-safe)."""

    FILE = "audit-losses.bin"

    def __init__(self, state_dir: Optional[str] = None) -> None:
        self._lock = threading.Lock()
        mapped = self._map(state_dir) if state_dir else None
        if mapped is None:
            mapped = bytearray(SIZE)
            mapped[:len(_MAGIC)] = _MAGIC
        self._buf = mapped
        self._slots: Dict[str, int] = {}
        self._recover()

    def _map(self, state_dir: str):
        path = os.path.join(state_dir, self.FILE)
        try:
            private_dir(state_dir)
            fd = open_nofollow(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.warning("loss counters kept in memory only: %s", exc)
            return None
        try:
            if os.fstat(fd).st_size != SIZE:
                os.ftruncate(fd, 0)
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(fd, 0, SIZE)   # no page fault on a full disk later
                else:
                    os.ftruncate(fd, SIZE)
            buf = mmap.mmap(fd, SIZE)
            if buf[:len(_MAGIC)] != _MAGIC:
                buf[:] = bytes(SIZE)
                buf[:len(_MAGIC)] = _MAGIC
            return buf
        except (OSError, ValueError) as exc:
            log.warning("loss counters kept in memory only: %s", exc)
            return None
        finally:
            os.close(fd)   # the mapping keeps the file

    def _recover(self) -> None:
        """Events offered but never settled belong to a run that was killed: count them lost."""
        for i in range(SLOTS):
            name, offered, settled, *unreported = self._read(i)
            if not name:
                continue
            self._slots[name] = i
            if offered > settled:
                unreported[NOT_WRITTEN] += offered - settled
            self._write(i, name, 0, 0, unreported)

    # -- slots -------------------------------------------------------------
    def _off(self, i: int) -> int:
        return len(_MAGIC) + i * _SLOT.size

    def _read(self, i: int):
        raw_name, offered, settled, *unreported = _SLOT.unpack_from(self._buf, self._off(i))
        return raw_name.rstrip(b"\0").decode("utf-8", "replace"), offered, settled, *unreported

    def _write(self, i: int, name: str, offered: int, settled: int, unreported: List[int]) -> None:
        _SLOT.pack_into(self._buf, self._off(i), name.encode("utf-8")[:_NAME], offered, settled, *unreported)

    def slot(self, name: str) -> int:
        """The slot of sink ``name`` (created on first use; the last slot is shared when all are used)."""
        with self._lock:
            if name not in self._slots:
                used = set(self._slots.values())
                free = next((i for i in range(SLOTS) if i not in used), SLOTS - 1)
                self._write(free, name, 0, 0, [0] * len(REASONS))
                self._slots[name] = free
            return self._slots[name]

    def _update(self, i: int, d_offered: int = 0, d_settled: int = 0, reason: Optional[int] = None,
                d_lost: int = 0) -> None:
        with self._lock:
            name, offered, settled, *unreported = self._read(i)
            if reason is not None:
                unreported[reason] = max(0, unreported[reason] + d_lost)
            self._write(i, name, offered + d_offered, settled + d_settled, unreported)

    # -- counting ----------------------------------------------------------
    def offered(self, i: int) -> None:
        """One event was put on the sink's queue."""
        self._update(i, d_offered=1)

    def settled(self, i: int, lost: Optional[int] = None) -> None:
        """One event left the queue: written, or lost for ``lost`` (a REASONS index)."""
        self._update(i, d_settled=1, reason=lost, d_lost=1 if lost is not None else 0)

    def lost(self, i: int, reason: int, count: int = 1) -> None:
        """``count`` events that never reached the queue (or left the spool) were lost."""
        self._update(i, reason=reason, d_lost=count)

    def abandon(self, i: int) -> int:
        """At close: what is still queued will not be written. Count it lost now; returns how many."""
        with self._lock:
            name, offered, settled, *unreported = self._read(i)
            left = max(0, offered - settled)
            unreported[NOT_WRITTEN] += left
            self._write(i, name, offered, offered, unreported)
            return left

    def unreported(self, i: int) -> List[int]:
        """Losses per reason not yet reported by the sink itself."""
        with self._lock:
            return list(self._read(i)[3:])

    def reported(self, i: int, reason: int, count: int) -> None:
        """The sink delivered its own report of ``count`` losses for ``reason``."""
        self._update(i, reason=reason, d_lost=-count)

    def sync(self) -> None:
        """Push the counters to disk (power-cut safety; a kill needs no sync)."""
        if isinstance(self._buf, mmap.mmap):
            try:
                self._buf.flush()
            except (OSError, ValueError):
                pass
