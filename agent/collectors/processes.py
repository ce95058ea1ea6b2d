"""The process table, read incrementally with psutil (every OS).

A tick lists pids and reads each process's identity ``(pid, create_time)``;
only processes not seen before are read in full (name, exe, cmdline, ppid,
user). A process that vanishes, turns zombie or is protected never raises:
protected fields stay ``None`` and vanished or zombie processes are left out.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, Iterable, Optional, Sequence, Tuple

import psutil

from agent.model import ProcessInfo

#: Length at which the kernel cuts a process's short name: Linux ``comm`` keeps
#: 15 bytes, macOS ``p_comm`` 16. Windows names are never cut.
if sys.platform.startswith("linux"):
    COMM_LIMIT: Optional[int] = 15
elif sys.platform == "darwin":
    COMM_LIMIT = 16
else:
    COMM_LIMIT = None

Key = Tuple[int, float]


def _basename(path: Optional[str]) -> str:
    if not path:
        return ""
    # Linux marks a replaced binary "/opt/x/ToDesk (deleted)"; the name is still ToDesk.
    if path.endswith(" (deleted)"):
        path = path[: -len(" (deleted)")]
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def pick_name(comm: str, exe: Optional[str], cmdline: Sequence[str], limit: Optional[int] = COMM_LIMIT) -> str:
    """The name to match signatures on.

    The kernel's short name (``comm``) is what a user sees in ``ps`` and is
    right for scripts (``python3 bank_bot.py`` has exe ``python3.11`` but
    comm may be the script's name), so it wins unless it was cut at
    ``limit`` characters: then the file name of ``exe`` or of ``argv[0]``
    that starts with it is the real name ("UltraViewer_Des" ->
    "UltraViewer_Desktop"). With no comm at all, exe/argv[0] is used.
    """
    candidates = [_basename(exe)]
    if cmdline:
        first = cmdline[0]
        candidates.append(_basename(first))
        # Some processes rewrite argv into one string: "ToDesk_Service --daemon".
        if " " in first:
            candidates.append(_basename(first.split(" ", 1)[0]))
    candidates = [c for c in candidates if c]
    if not comm:
        return candidates[0] if candidates else ""
    if limit is not None and len(comm) == limit:
        for candidate in candidates:
            if len(candidate) > len(comm) and candidate.startswith(comm):
                return candidate
    return comm


def _field(proc: psutil.Process, getter: str):
    """One attribute, or None when the OS refuses it (AccessDenied)."""
    try:
        return getattr(proc, getter)()
    except psutil.AccessDenied:
        return None
    except (NotImplementedError, OSError, KeyError):
        # username() can fail on a uid without a passwd entry on some psutil
        # versions; exe() can hit odd OSErrors on special processes.
        return None


def read_process(proc: psutil.Process) -> Optional[ProcessInfo]:
    """Read one process in full; None when it vanished or is a zombie."""
    try:
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            comm = proc.name()
            exe = _field(proc, "exe")
            cmdline = _field(proc, "cmdline") or ()
            ppid = _field(proc, "ppid")
            user = _field(proc, "username")
            create_time = proc.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        # Even the name is protected (rare: some Windows system processes).
        return ProcessInfo(pid=proc.pid, name="", create_time=_safe_create_time(proc))
    name = pick_name(comm or "", exe, cmdline)
    return ProcessInfo(pid=proc.pid, name=name, ppid=ppid, exe=exe or None, cmdline=tuple(cmdline),
                       create_time=create_time, user=user)


def _safe_create_time(proc: psutil.Process) -> Optional[float]:
    try:
        return proc.create_time()
    except psutil.Error:
        return None


class ProcessTable:
    """Keeps the last process list and reads only what is new.

    ``refresh()`` is the only method a collector needs. Identity is
    ``(pid, create_time)`` so a reused pid is read again.
    """

    def __init__(self) -> None:
        self._known: Dict[Key, ProcessInfo] = {}
        self.full_reads = 0  # how many processes were read in full (for tests and benchmarks)

    def refresh(self, pids: Optional[Iterable[int]] = None) -> Tuple[ProcessInfo, ...]:
        """The processes alive now, sorted by pid."""
        seen: Dict[Key, ProcessInfo] = {}
        for pid in (psutil.pids() if pids is None else pids):
            try:
                proc = psutil.Process(pid)  # reads create_time: the identity check
                key = (pid, proc.create_time())
            except psutil.Error:
                continue  # vanished (or protected beyond its start time) since pids()
            info = self._known.get(key)
            if info is None:
                info = read_process(proc)
                self.full_reads += 1
                if info is None:
                    continue
            elif _is_zombie(proc):
                continue
            seen[key] = info
        self._known = seen
        return tuple(sorted(seen.values(), key=lambda p: p.pid))


def _is_zombie(proc: psutil.Process) -> bool:
    # A dead child nobody reaped still has its pid; it shares nothing.
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def own_user() -> Optional[str]:
    """The user this agent runs as, in psutil's spelling (for per-user fallbacks)."""
    try:
        return psutil.Process(os.getpid()).username()
    except (psutil.Error, KeyError):
        return None
