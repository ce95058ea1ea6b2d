"""Windows: one system-wide process snapshot per tick.

``NtQuerySystemInformation(SystemProcessInformation)`` answers, in one call,
every process's pid, parent, start time and image name (Task Manager reads
the same list). The start time is the identity token of
:class:`~agent.collectors.processes.ProcessTable`, so a tick costs one call
instead of opening every process; only new processes are opened and read in
full (exe, command line, user) through psutil.

:func:`parse_process_information` is pure and tested on a buffer laid out as
the structure is documented (``SYSTEM_PROCESS_INFORMATION`` in winternl.h);
:class:`SnapshotLister` makes the call (Windows only).
"""

from __future__ import annotations

import ctypes
import struct
from typing import Dict, Optional, Tuple

SYSTEM_PROCESS_INFORMATION = 5
STATUS_INFO_LENGTH_MISMATCH = 0xC0000004

#: Field offsets per pointer size: (CreateTime, ImageName.Length, ImageName.Buffer, UniqueProcessId, parent).
_LAYOUT = {
    8: (32, 56, 64, 80, 88),
    4: (32, 56, 60, 68, 72),
}

Entry = Tuple[int, str, Optional[int]]  # (create time in FILETIME units, image name, parent pid)


def parse_process_information(buf: bytes, pointer_size: int, base_address: int) -> Dict[int, Entry]:
    """``{pid: (create time, image name, parent pid)}`` from a SystemProcessInformation buffer.

    ``base_address`` is where ``buf`` lives in memory: each image name is a
    pointer into the same buffer. Malformed entries end the walk (the list
    is what the kernel wrote; a short read must not raise).
    """
    created_at, name_len_at, name_ptr_at, pid_at, parent_at = _LAYOUT[pointer_size]
    ptr = "<Q" if pointer_size == 8 else "<I"
    out: Dict[int, Entry] = {}
    offset = 0
    while offset + parent_at + pointer_size <= len(buf):
        (following,) = struct.unpack_from("<I", buf, offset)
        (created,) = struct.unpack_from("<q", buf, offset + created_at)
        (name_len,) = struct.unpack_from("<H", buf, offset + name_len_at)
        (name_ptr,) = struct.unpack_from(ptr, buf, offset + name_ptr_at)
        (pid,) = struct.unpack_from(ptr, buf, offset + pid_at)
        (parent,) = struct.unpack_from(ptr, buf, offset + parent_at)
        name = ""
        start = name_ptr - base_address
        if name_ptr and 0 <= start and start + name_len <= len(buf):
            name = buf[start:start + name_len].decode("utf-16-le", "replace")
        out[pid] = (created, name, parent or None)
        if not following:
            break
        offset += following
    return out


class SnapshotLister:
    """:class:`~agent.collectors.processes.Lister` over NtQuerySystemInformation (Windows only)."""

    def __init__(self) -> None:
        loader = getattr(ctypes, "WinDLL", None)
        if loader is None:
            raise OSError("NtQuerySystemInformation exists only on Windows")
        ntdll = loader("ntdll")
        self._query = ntdll.NtQuerySystemInformation
        self._query.restype = ctypes.c_long
        self._size = 256 * 1024
        self._names: Dict[int, str] = {}

    def _snapshot(self) -> Dict[int, Entry]:
        needed = ctypes.c_ulong(0)
        for _ in range(8):
            buf = ctypes.create_string_buffer(self._size)
            status = self._query(SYSTEM_PROCESS_INFORMATION, buf, self._size, ctypes.byref(needed)) & 0xFFFFFFFF
            if status == STATUS_INFO_LENGTH_MISMATCH:
                self._size = max(self._size * 2, needed.value + 64 * 1024)  # processes start meanwhile
                continue
            if status != 0:
                raise OSError(f"NtQuerySystemInformation failed (NTSTATUS 0x{status:08X})")
            return parse_process_information(buf.raw[:needed.value or self._size], ctypes.sizeof(ctypes.c_void_p),
                                             ctypes.addressof(buf))
        raise OSError("NtQuerySystemInformation: the process list kept growing")

    def list(self) -> Dict[int, object]:
        """``{pid: start time}`` of every process, from one call."""
        entries = self._snapshot()
        self._names = {pid: name for pid, (_created, name, _parent) in entries.items()}
        return {pid: created for pid, (created, _name, _parent) in entries.items()}

    def quick(self, pid: int) -> Optional[str]:
        """The image name from the last snapshot (Windows has no exec and lists no zombies)."""
        return self._names.get(pid)
