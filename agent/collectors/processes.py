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
        # Some processes rewrite argv into one string: "ToDesk_Service --daemon".
        if " " in first:
            candidates.append(_basename(first.split(" ", 1)[0]))
        candidates.append(_basename(first))
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
    got = _read(proc)
    return got[1] if got is not None else None


def _read(proc: psutil.Process) -> Optional[Tuple[str, ProcessInfo, bool]]:
    """(raw name, info, settled) of one process; None when vanished or zombie.

    ``settled`` is False for a process caught inside exec(): its new name is
    set but its argv is still empty, so it must be read again next time.
    """
    try:
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            comm = proc.name() or ""
            exe = _field(proc, "exe")
            cmdline = _field(proc, "cmdline")
            ppid = _field(proc, "ppid")
            user = _field(proc, "username")
            create_time = proc.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except (psutil.AccessDenied, OSError):
        # Even the name is protected (rare: some Windows system processes), or
        # the OS failed in a way psutil does not translate: keep the process,
        # nameless, rather than lose it (or, worse, the whole list).
        return "", ProcessInfo(pid=proc.pid, name="", create_time=_safe_create_time(proc)), True
    # An empty but readable argv with a real executable only happens mid-exec
    # (kernel threads have no exe; a refused argv is None, not empty).
    settled = not (cmdline == [] and exe)
    info = ProcessInfo(pid=proc.pid, name=pick_name(comm, exe, cmdline or ()), ppid=ppid, exe=exe or None,
                       cmdline=tuple(cmdline or ()), create_time=create_time, user=user)
    return comm, info, settled


def _safe_create_time(proc: psutil.Process) -> Optional[float]:
    try:
        return proc.create_time()
    except (psutil.Error, OSError):
        return None


def _quick_name(proc: psutil.Process) -> Optional[str]:
    """The process's current name, or None when it is a zombie or gone.

    Compared with the cached name it catches exec() without a new pid
    (fork, then exec of ``rustdesk --cm``): create_time does not change then.
    """
    try:
        with proc.oneshot():  # status and name come from the same /proc read
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc.name() or ""
    except psutil.NoSuchProcess:
        return None
    except (psutil.AccessDenied, OSError):
        return ""


class ProcessTable:
    """Keeps the last process list and reads only what is new.

    ``refresh()`` is the only method a collector needs. Identity is
    ``(pid, create_time)`` plus the name, so a reused pid or an exec() is
    read again; everything else is taken from the previous tick.
    """

    def __init__(self) -> None:
        self._known: Dict[Key, Tuple[str, ProcessInfo, bool]] = {}
        self.full_reads = 0  # how many processes were read in full (for tests and benchmarks)

    def refresh(self, pids: Optional[Iterable[int]] = None) -> Tuple[ProcessInfo, ...]:
        """The processes alive now, sorted by pid."""
        seen: Dict[Key, Tuple[str, ProcessInfo, bool]] = {}
        for pid in (psutil.pids() if pids is None else pids):
            try:
                proc = psutil.Process(pid)  # reads create_time: the identity check
                key = (pid, proc.create_time())
            except (psutil.Error, OSError):
                continue  # vanished (or protected beyond its start time) since pids()
            entry = self._known.get(key)
            if entry is not None:
                name = _quick_name(proc)
                if name is None:
                    continue
                if name != entry[0] or not entry[2]:
                    entry = None  # exec'd meanwhile, or was caught mid-exec
            if entry is None:
                entry = _read(proc)
                self.full_reads += 1
                if entry is None:
                    continue
            seen[key] = entry
        self._known = seen
        return tuple(sorted((e[1] for e in seen.values()), key=lambda p: p.pid))


def own_user() -> Optional[str]:
    """The user this agent runs as, in psutil's spelling (for per-user fallbacks)."""
    try:
        return psutil.Process(os.getpid()).username()
    except (psutil.Error, KeyError):
        return None
