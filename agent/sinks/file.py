"""JSON-lines audit file: append-only, 0600, fsync per burst, size-rotated."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

from agent.safe_files import open_nofollow
from agent.sinks.base import Writer


class RotatingFileWriter(Writer):
    """Appends to ``path``; at ``max_bytes`` renames path -> path.1 -> ... path.N.

    The file is created 0600 (events name users and apps) and re-chmodded
    if it already existed with wider rights; a symlink or a file of another
    account at ``path`` is refused (agent.safe_files). ``flush`` fsyncs, so an event
    acknowledged by a flush survives a power cut.
    """

    name = "file"

    def __init__(self, path: str, max_bytes: int = 10 * 1024 * 1024, backups: int = 5, fsync: bool = True) -> None:
        self.path = path
        self.max_bytes = int(max_bytes)
        self.backups = int(backups)
        self.fsync = fsync
        self._fd: Optional[int] = None
        self._size = 0
        self._dirty = False
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", mode=0o700, exist_ok=True)
        # Open now: a path that is refused (a planted link, another account's
        # file) fails the build, and the factory falls back to the user's folder.
        self._open()

    def _open(self) -> int:
        if self._fd is None:
            # Never through a planted symlink, never into another account's file (docs/security.md).
            self._fd = open_nofollow(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._size = os.fstat(self._fd).st_size
        return self._fd

    def write(self, data: bytes, event: Dict[str, Any]) -> bool:
        if self._size and self._size + len(data) > self.max_bytes:
            self._rotate()
        fd = self._open()
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        self._size += len(data)
        self._dirty = True
        return True

    def flush(self) -> None:
        if self._fd is not None and self._dirty and self.fsync:
            os.fsync(self._fd)
        self._dirty = False

    def _rotate(self) -> None:
        self.flush()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.backups <= 0:
            os.remove(self.path)
            return
        for i in range(self.backups - 1, 0, -1):
            src = f"{self.path}.{i}"
            if os.path.exists(src):
                os.replace(src, f"{self.path}.{i + 1}")
        os.replace(self.path, f"{self.path}.1")

    def close(self) -> None:
        self.flush()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
