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
    #: os.write, replaceable per instance to inject faults (a full disk) in tests.
    _os_write = staticmethod(os.write)

    def __init__(self, path: str, max_bytes: int = 10 * 1024 * 1024, backups: int = 5, fsync: bool = True) -> None:
        self.path = path
        self.max_bytes = int(max_bytes)
        self.backups = int(backups)
        self.fsync = fsync
        self._fd: Optional[int] = None
        self._size = 0
        self._dirty = False
        self._torn = False
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
        start = self._size
        if self._torn:
            # An earlier write stopped mid-line and could not be cut back:
            # end that fragment so this event is a line of its own.
            data = b"\n" + data
        view = memoryview(data)
        try:
            while view:
                n = self._os_write(fd, view)
                view = view[n:]
                self._size += n
        except OSError:
            # A disk that fills mid-event leaves part of a line; cut it off so the
            # next event is not glued to it (it would be unreadable, and silently lost).
            self._cut_back(fd, start)
            raise
        self._torn = False
        self._dirty = True
        return True

    def _cut_back(self, fd: int, size: int) -> None:
        try:
            if os.fstat(fd).st_size == size:
                self._size = size
                return
            os.ftruncate(fd, size)
            self._size = size
        except OSError:
            self._torn = True

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
