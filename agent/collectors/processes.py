"""The process table, read incrementally (docs/collectors-linux.md, "Processes").

A tick only *lists* the processes with an identity token each: on Linux one
``os.scandir("/proc")`` whose entries carry their inode, which changes when
a pid is reused (:class:`ProcfsLister`); elsewhere psutil's pid list with
each process's start time (:class:`PsutilLister`). Only a pid whose token is
new is read in full (name, exe, ppid, user, and the command line when
something needs it); a known one is not read again, except:

- a process younger than :data:`YOUNG_SECONDS`, or caught mid-exec, is
  re-checked each tick (fork-then-exec keeps the pid: ``rustdesk --cm``);
- a process whose exit was signalled (Linux pidfd, :class:`ExitWatch`) is
  re-checked: it turned zombie or its pid was reused;
- every process is re-checked at least every :data:`SWEEP_SECONDS`, a few
  per tick (exec in an old process; zombies where pidfds are unavailable);
- :meth:`ProcessTable.recheck` asks for given pids (a window event named them).

A process that vanishes, turns zombie or is protected never raises:
protected fields stay ``None`` and vanished or zombie processes are left out.
"""

from __future__ import annotations

import math
import os
import select
import sys
import time
from typing import Callable, Dict, Iterable, List, Optional, Protocol, Sequence, Set, Tuple

import psutil

from agent.collectors.self_filter import might_be_ui_helper
from agent.model import ProcessInfo

#: Re-check processes this young each tick: fork-then-exec changes the program without a new pid.
YOUNG_SECONDS = 10.0
#: Every known process is re-checked at least this often (spread over the ticks).
SWEEP_SECONDS = 60.0

#: Length at which the kernel cuts a process's short name: Linux ``comm`` keeps
#: 15 bytes, macOS ``p_comm`` 16. Windows names are never cut.
if sys.platform.startswith("linux"):
    COMM_LIMIT: Optional[int] = 15
elif sys.platform == "darwin":
    COMM_LIMIT = 16
else:
    COMM_LIMIT = None



class ProcessInterest(Protocol):
    """What the signatures need from the process table (agent/engine/interest.py builds it).

    ``kind(name)``: ``meeting``/``remote_control``/``browser`` for a process
    an app signature names (a *candidate*: its sockets and I/O matter), else
    None. ``needs_cmdline(name)``: a signature matches this name's arguments.
    """

    def kind(self, name: str) -> Optional[str]: ...
    def needs_cmdline(self, name: str) -> bool: ...


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


def _read(proc: psutil.Process, interest: Optional[ProcessInterest] = None
          ) -> Optional[Tuple[str, ProcessInfo, bool]]:
    """(raw name, info, settled) of one process; None when vanished or zombie.

    ``settled`` is False for a process caught inside exec(): its new name is
    set but its argv is still empty, so it must be read again next time.
    With an ``interest``, the command line is read only when a signature or
    the self-filter needs it, or when the name was cut and only argv[0] can
    restore it.
    """
    try:
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            comm = proc.name() or ""
            exe = _field(proc, "exe")
            cmdline = None
            if interest is None or _wants_cmdline(comm, exe, interest):
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


def _wants_cmdline(comm: str, exe: Optional[str], interest: ProcessInterest) -> bool:
    name = pick_name(comm, exe, ())
    if COMM_LIMIT is not None and len(comm) >= COMM_LIMIT and name == comm:
        return True  # cut name and no exe to restore it: argv[0] may
    return might_be_ui_helper(name) or interest.needs_cmdline(name)


def _safe_create_time(proc: psutil.Process) -> Optional[float]:
    try:
        return proc.create_time()
    except (psutil.Error, OSError):
        return None


def _quick_name(proc: psutil.Process) -> Optional[str]:
    """The process's current name, or None when it is a zombie or gone."""
    try:
        with proc.oneshot():  # status and name come from the same /proc read
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc.name() or ""
    except psutil.NoSuchProcess:
        return None
    except (psutil.AccessDenied, OSError):
        return ""


# -- listing ------------------------------------------------------------------------
class Lister(Protocol):
    """Lists the processes with an identity token each, and re-checks one cheaply."""

    def list(self) -> Dict[int, object]:
        """``{pid: token}``; a token changes when the pid is reused."""

    def quick(self, pid: int) -> Optional[str]:
        """The current short name, None when the process is a zombie or gone."""


class ProcfsLister:
    """Linux: one ``scandir`` of ``/proc``; the token is the ``/proc/<pid>`` inode.

    procfs gives each process's directory a fresh inode number when the
    process is created, so a reused pid shows a new inode without any read
    (checked with a forced pid reuse in tests/unit/test_process_table.py).
    The inode comes with the directory entry: no ``stat`` per process. If
    the kernel ever re-numbers a live process's entry, that process is only
    read again.
    """

    def __init__(self, root: str = "/proc") -> None:
        self.root = root

    def list(self) -> Dict[int, object]:
        with os.scandir(self.root) as entries:
            return {int(e.name): e.inode() for e in entries if e.name.isdigit()}

    def quick(self, pid: int) -> Optional[str]:
        """``comm`` and state from ``/proc/<pid>/stat`` in one read."""
        try:
            fd = os.open(f"{self.root}/{pid}/stat", os.O_RDONLY)
        except OSError:
            return None
        try:
            data = os.read(fd, 512)
        except OSError:
            return None
        finally:
            os.close(fd)
        # "pid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ')'.
        close = data.rfind(b")")
        if close < 0 or data[close + 2:close + 3] in (b"Z", b"X"):
            return None
        return data[data.find(b"(") + 1:close].decode("utf-8", "replace")


class PsutilLister:
    """Other OSes: psutil's pid list; the token is each process's start time.

    This still asks the OS once per pid and tick (macOS ``proc_pidinfo``);
    only the full reads are saved.
    """

    def list(self) -> Dict[int, object]:
        out: Dict[int, object] = {}
        for pid in psutil.pids():
            try:
                out[pid] = psutil.Process(pid).create_time()
            except psutil.AccessDenied:
                out[pid] = None
            except (psutil.Error, OSError):
                continue  # vanished since pids()
        return out

    def quick(self, pid: int) -> Optional[str]:
        try:
            return _quick_name(psutil.Process(pid))
        except (psutil.Error, OSError):
            return None


def default_lister() -> Lister:
    """The cheapest lister this OS has."""
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self"):
        return ProcfsLister()
    if sys.platform == "win32":
        from agent.collectors._windows_processes import SnapshotLister

        try:
            return SnapshotLister()
        except OSError:
            pass  # no ntdll answer: psutil per pid
    return PsutilLister()


class ExitWatch:
    """Linux: learns which known processes exited, without asking each one.

    One pidfd per process (``pidfd_open``, no privilege needed) in one
    epoll set: a pidfd turns readable when its process exits, i.e. turns
    zombie, so one ``epoll.poll(0)`` per tick names every process that
    ended. The descriptors are moved above :data:`FD_FLOOR` so the low
    numbers stay free for code that uses ``select()`` (python-xlib). When
    pidfds are unavailable or the descriptor limit is reached, the process
    is simply not watched: the sweep re-checks it.
    """

    FD_FLOOR = 1024
    MAX_WATCHES = 32768

    def __init__(self) -> None:
        self._fd_of: Dict[int, int] = {}
        self._pid_of: Dict[int, int] = {}
        self._epoll = None
        if not hasattr(os, "pidfd_open") or not hasattr(select, "epoll"):
            return
        try:
            import fcntl
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            want = self.FD_FLOOR + self.MAX_WATCHES
            if soft < want:
                target = want if hard == resource.RLIM_INFINITY else min(hard, want)
                if target > soft:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                    soft = target
            if soft <= self.FD_FLOOR + 64:
                return  # no room above the select() range
            self._fcntl = fcntl
            self._epoll = select.epoll()
        except (OSError, ValueError, ImportError):
            self._epoll = None

    @property
    def available(self) -> bool:
        """True when exits are being watched."""
        return self._epoll is not None

    def add(self, pid: int) -> bool:
        """Watch ``pid``; False when it cannot be watched (gone, no pidfds, no descriptors)."""
        if self._epoll is None or pid in self._fd_of:
            return pid in self._fd_of
        try:
            low = os.pidfd_open(pid)
        except OSError:
            return False
        try:
            fd = self._fcntl.fcntl(low, self._fcntl.F_DUPFD_CLOEXEC, self.FD_FLOOR)
        except OSError:
            return False
        finally:
            os.close(low)
        try:
            self._epoll.register(fd, select.EPOLLIN)
        except OSError:
            os.close(fd)
            return False
        self._fd_of[pid] = fd
        self._pid_of[fd] = pid
        return True

    def exited(self) -> Set[int]:
        """The watched pids whose process exited since the last call (no longer watched)."""
        if self._epoll is None or not self._fd_of:
            return set()
        out: Set[int] = set()
        while True:
            events = self._epoll.poll(0, 1024)
            for fd, _mask in events:
                pid = self._pid_of.get(fd)
                if pid is not None:
                    out.add(pid)
                    self.discard(pid)
            if len(events) < 1024:
                return out

    def discard(self, pid: int) -> None:
        """Stop watching ``pid``."""
        fd = self._fd_of.pop(pid, None)
        if fd is None:
            return
        self._pid_of.pop(fd, None)
        if self._epoll is not None:
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass
        os.close(fd)

    def close(self) -> None:
        """Close every descriptor."""
        for pid in list(self._fd_of):
            self.discard(pid)
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None


# -- the table ------------------------------------------------------------------------
class _Entry:
    __slots__ = ("token", "comm", "info", "settled", "born")

    def __init__(self, token: object, comm: Optional[str], info: Optional[ProcessInfo], settled: bool,
                 born: float) -> None:
        self.token = token
        self.comm = comm      # the lister's quick() answer when read; None: unknown
        self.info = info      # None: a zombie (left out until its pid goes or is reused)
        self.settled = settled
        self.born = born      # start time (epoch seconds), 0 when unknown


class ProcessTable:
    """Keeps the last process list and reads only what is new.

    ``refresh()`` is the only method a collector needs; it returns the same
    tuple object as last time when nothing changed. ``interest`` (set by
    the collector from the signatures) lets the table skip command lines
    nothing needs and name the candidate processes; None reads everything.
    """

    def __init__(self, lister: Optional[Lister] = None, watch_exits: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.lister = lister if lister is not None else default_lister()
        self._exits = ExitWatch() if watch_exits and isinstance(self.lister, ProcfsLister) else None
        self._clock = clock
        self._interest: Optional[ProcessInterest] = None
        self._known: Dict[int, _Entry] = {}
        self._tokens: Dict[int, object] = {}
        self._young: Set[int] = set()
        self._requested: Set[int] = set()
        self._sweep: List[int] = []
        self._last_tick: Optional[float] = None
        self._out: Tuple[ProcessInfo, ...] = ()
        self.full_reads = 0  # processes read in full (for tests and benchmarks)
        self.checks = 0      # quick re-checks

    @property
    def interest(self) -> Optional[ProcessInterest]:
        """What the signatures need (None: read everything)."""
        return self._interest

    @interest.setter
    def interest(self, value: Optional[ProcessInterest]) -> None:
        if value is not self._interest:
            self._interest = value
            self.forget()  # command lines skipped before may be needed now

    def forget(self) -> None:
        """Read every process again at the next refresh."""
        for pid in list(self._known):
            self._drop(pid)
        self._known, self._tokens, self._young, self._out = {}, {}, set(), ()

    def recheck(self, pids: Iterable[int]) -> None:
        """Re-check these pids at the next refresh (a window event named them)."""
        self._requested.update(p for p in pids if p)

    def close(self) -> None:
        """Release the exit watch."""
        if self._exits is not None:
            self._exits.close()

    def refresh(self, pids: Optional[Iterable[int]] = None) -> Tuple[ProcessInfo, ...]:
        """The processes alive now, sorted by pid (``pids``: only these)."""
        listed = self.lister.list()
        if pids is not None:
            listed = {p: listed[p] for p in pids if p in listed}
        now = self._clock()
        due = self._due(now)
        changed = False
        if listed != self._tokens:
            changed = True
            for pid in self._tokens.keys() - listed.keys():
                self._drop(pid)
            for pid, token in listed.items() - self._tokens.items():  # new pids and reused ones
                self._drop(pid)
                if not self._load(pid, token, now):
                    del listed[pid]  # gone since the listing: not known, so tried again if listed again
            self._tokens = listed
        if self._exits is not None:
            due |= self._exits.exited()
        due |= self._young
        for pid in due:
            entry = self._known.get(pid)
            if entry is not None and self._check(pid, entry, now):
                changed = True
        if changed or pids is not None:
            self._out = tuple(e.info for _, e in sorted(self._known.items()) if e.info is not None)
        return self._out

    # -- internals ----------------------------------------------------------------
    def _due(self, now: float) -> Set[int]:
        """Requested pids plus this tick's share of the sweep."""
        due, self._requested = self._requested, set()
        elapsed = 0.0 if self._last_tick is None else max(0.0, now - self._last_tick)
        self._last_tick = now
        if self._known and elapsed:
            if not self._sweep:
                self._sweep = list(self._known)
            count = min(len(self._sweep), math.ceil(len(self._known) * elapsed / SWEEP_SECONDS))
            due.update(self._sweep[-count:])
            del self._sweep[-count:]
        return due

    def _load(self, pid: int, token: object, now: float) -> bool:
        """Read a new process in full (after arming its exit watch, so no exit is missed).

        False when it is gone already.
        """
        if self._exits is not None:
            self._exits.add(pid)
        try:
            proc = psutil.Process(pid)
        except (psutil.Error, OSError):
            self._drop(pid)
            return False
        self.full_reads += 1
        got = _read(proc, self._interest)
        if got is None:
            # A zombie (or gone): remembered as such so it is not read every tick.
            self._known[pid] = _Entry(token, None, None, True, 0.0)
            return True
        _raw, info, settled = got
        self._known[pid] = entry = _Entry(token, self.lister.quick(pid), info, settled, info.create_time or 0.0)
        if not settled or now - entry.born < YOUNG_SECONDS:
            self._young.add(pid)
        return True

    def _check(self, pid: int, entry: _Entry, now: float) -> bool:
        """Re-check one known process cheaply; True when the table changed."""
        self.checks += 1
        if entry.settled and now - entry.born >= YOUNG_SECONDS:
            self._young.discard(pid)
        if entry.info is None:
            return False  # a zombie stays one until its pid goes
        comm = self.lister.quick(pid)
        if comm is None:  # turned zombie (or gone: the next listing drops it)
            entry.info = None
            self._young.discard(pid)
            if self._exits is not None:
                self._exits.discard(pid)
            return True
        if comm == entry.comm and entry.settled:
            return False
        token = self._tokens.get(pid)
        self._drop(pid)
        if not self._load(pid, token, now):  # exec'd meanwhile, or was caught mid-exec
            self._tokens.pop(pid, None)
        return True

    def _drop(self, pid: int) -> None:
        self._known.pop(pid, None)
        self._young.discard(pid)
        if self._exits is not None:
            self._exits.discard(pid)


def own_user() -> Optional[str]:
    """The user this agent runs as, in psutil's spelling (for per-user fallbacks)."""
    try:
        return psutil.Process(os.getpid()).username()
    except (psutil.Error, KeyError):
        return None
