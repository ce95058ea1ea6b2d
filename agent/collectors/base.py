"""The collector template: one ``snapshot()`` for every OS, backends supply ``read_*``.

A collector only observes: it never decides and never raises because a
process vanished, a window closed or an API is refused. :class:`Collector`
owns everything that is the same on every OS (docs/collectors-linux.md,
"The template"):

* the lock (``snapshot()`` is called from the runtime loop and CLI threads),
  the clock, the process table and ShareGuard's own windows left out;
* the order of the sources: processes first, then windows, connections,
  capture and devices, each given the processes of this same snapshot;
* ``unavailable``: each ``read_*`` returns ``(value, unavailable pairs)``;
  reasons made with :func:`reason` are translated (zh_CN/en) here;
* ONE error boundary: an ``OSError`` or psutil error escaping a ``read_*``
  makes that source unavailable for this snapshot, never an exception.

Backends override ``read_windows``, ``read_capture``, ``read_devices`` (and
``read_processes``/``read_connections`` when their OS needs it) and
:meth:`Collector.default_api`. Every backend takes the same constructor
arguments, so tests hand in fakes (``tests/support/fake_os.py``) instead of
reaching into private attributes. Refresh pacing (a source read at most
every N seconds however often window events ask) is the :func:`paced`
decorator, with the intervals in ``pace``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
import time
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple, TypeVar

import psutil

from agent import i18n
from agent.collectors.connections import read_connections
from agent.collectors.iorate import IoMeter
from agent.collectors.processes import ProcessInterest, ProcessTable, own_user
from agent.collectors.reasons import Reason, reason, translate  # noqa: F401 - re-exported for backends
from agent.collectors.self_filter import drop_own_windows, own_pids
from agent.model import CaptureFact, Connection, DeviceUse, ProcessInfo, Snapshot, WindowInfo

MESSAGES = i18n.register(__name__, {
    "source_failed": {
        "en": "cannot read {source}: {error}",
        "zh_CN": "无法读取{source}：{error}",
    },
    "source_processes": {"en": "the process list", "zh_CN": "进程列表"},
    "source_windows": {"en": "the window list", "zh_CN": "窗口列表"},
    "source_connections": {"en": "network connections", "zh_CN": "网络连接"},
    "source_capture": {"en": "screen-capture state", "zh_CN": "屏幕捕获状态"},
    "source_devices": {"en": "microphone and camera use", "zh_CN": "麦克风和摄像头使用情况"},
})

#: The sources of a snapshot, in the order they are read.
SOURCES = ("processes", "windows", "connections", "capture", "devices")

#: The errors the boundary turns into an unavailable source.
OS_ERRORS = (OSError, psutil.Error)


F = TypeVar("F", bound=Callable[..., Any])


def paced(key: str) -> Callable[[F], F]:
    """Reuse a method's result for ``self.pace[key]`` seconds.

    Window events can ask for many snapshots a second; sources that are
    slow (a socket walk, ``pw-dump``, a registry walk) and change slowly are
    read at most this often. The arguments of a reused call are not
    compared: pace only reads whose answer does not depend on them, or
    where the caller ties the answer to fresh data itself. The clock is
    ``self.monotonic`` when set (tests), else :func:`time.monotonic`.

    When the object's ``refresh_in_background`` is true, a stale answer is
    still returned at once and the read runs again on a short-lived thread
    (one at a time): a slow command then never holds up detection. Only the
    very first read waits.
    """
    def wrap(method: F) -> F:
        @functools.wraps(method)
        def reuse(self, *args, **kwargs):
            now = getattr(self, "monotonic", time.monotonic)()
            cache: Dict[str, Tuple[float, Any]] = self.__dict__.setdefault("_paced", {})
            hit = cache.get(key)
            if hit is not None and now - hit[0] < self.pace[key]:
                return hit[1]
            if hit is not None and getattr(self, "refresh_in_background", False):
                running: Dict[str, threading.Thread] = self.__dict__.setdefault("_paced_threads", {})
                if key not in running or not running[key].is_alive():
                    def refresh() -> None:
                        cache[key] = (getattr(self, "monotonic", time.monotonic)(), method(self, *args, **kwargs))
                    running[key] = threading.Thread(target=refresh, name=f"paced-{key}", daemon=True)
                    running[key].start()
                return hit[1]
            value = method(self, *args, **kwargs)
            cache[key] = (now, value)
            return value
        return reuse  # type: ignore[return-value]
    return wrap


def expire(obj: object, key: str) -> None:
    """Forget the paced result ``key`` of ``obj`` so the next call reads again."""
    obj.__dict__.get("_paced", {}).pop(key, None)


#: What every ``read_*`` returns: the source's items and its ``(source, reason)`` pairs.
Read = Tuple[Any, Sequence[Tuple[str, str]]]
#: ``(processes, user) -> Read``, like :func:`~agent.collectors.connections.read_connections`.
ConnectionReader = Callable[[Sequence[ProcessInfo], Optional[str]], Read]


class Collector:
    """Base class: builds :class:`~agent.model.Snapshot` objects for one OS.

    Constructor arguments (the same for every backend; all for tests and
    embedding):

    - ``api``: the backend's OS layer (windows, capture, events); None builds
      the real one with :meth:`default_api`, whose failures are reported as
      unavailable sources on every snapshot instead of raised;
    - ``processes``: anything with ``refresh() -> tuple[ProcessInfo]``
      (default :class:`~agent.collectors.processes.ProcessTable`);
    - ``connections``: ``(processes, user) -> (connections, unavailable)``
      (default :func:`~agent.collectors.connections.read_connections`; None
      reads no sockets);
    - ``clock`` for the snapshot time, ``lang`` for the reasons, ``user`` and
      ``own_pid`` for the self-filter, ``pace`` to override :attr:`PACE`.

    Backends that can listen to window events override :meth:`start_watch`
    so a new bank window is judged at once instead of at the next poll.

    Once the runtime tells it what the signatures need (:meth:`set_interest`),
    the collector reads command lines only where a signature looks at them,
    and sockets and I/O counters only for *candidates* (processes of a
    meeting, remote-control or browser app); :attr:`quiet` then says no
    candidate runs, so the runtime may poll slowly. Without an interest
    (``shareguard scan``) everything is read.
    """

    #: The ``platform`` value written into snapshots (windows|darwin|linux).
    platform = "linux"
    #: Backend name for logs and ``SHAREGUARD_COLLECTOR``.
    name = "base"
    #: True when :meth:`start_watch` delivers window events.
    HAS_EVENTS = False
    #: Seconds between two real reads of each :func:`paced` source.
    PACE: Mapping[str, float] = {}

    def __init__(self, api: Any = None, *, processes: Any = None,
                 connections: Optional[ConnectionReader] = read_connections,
                 clock: Callable[[], float] = time.time, lang: Optional[str] = None,
                 user: Optional[str] = None, own_pid: Optional[int] = None,
                 pace: Optional[Mapping[str, float]] = None) -> None:
        self.lang = lang or i18n.detect_language()
        self.pace: Dict[str, float] = {**self.PACE, **(pace or {})}
        self.clock = clock
        #: Sources that cannot work at all (an API that failed to load), reported on every snapshot.
        self.problems: List[Tuple[str, str]] = []
        self.api = api if api is not None else self.default_api()
        self.processes = processes if processes is not None else ProcessTable()
        self.connections = connections
        self.user = user if user is not None else own_user()
        self.own_pid = os.getpid() if own_pid is None else own_pid
        self.interest: Optional[ProcessInterest] = None
        #: Measures ``io_rate`` of remote-control candidates (the engine decides what it means).
        self.io_meter = IoMeter()
        self._candidates: Tuple[Any, Tuple[ProcessInfo, ...]] = (None, ())
        # snapshot() may be called from the runtime loop and a CLI thread at once.
        self._lock = threading.Lock()

    def default_api(self) -> Any:
        """The real OS layer of this backend (None: nothing beyond processes and sockets).

        Failures are reported with :meth:`problem`, never raised.
        """
        return None

    def problem(self, source: str, why: str) -> None:
        """Report ``source`` unavailable on every snapshot (an API that could not load)."""
        self.problems.append((source, why))

    # -- what the signatures need -------------------------------------------------
    def set_interest(self, interest: Optional[ProcessInterest]) -> None:
        """Tell the collector which processes matter (agent/engine/interest.py); None: all."""
        with self._lock:
            self.interest = interest
            self.processes.interest = interest
            self._candidates = (None, ())

    def candidates(self, processes: Tuple[ProcessInfo, ...]) -> Tuple[ProcessInfo, ...]:
        """The processes of meeting, remote-control and browser apps (all of them without an interest).

        Worked out again only when the process table changed (it returns the
        same tuple while nothing did).
        """
        if self.interest is None:
            return processes
        if processes is not self._candidates[0]:
            kind = self.interest.kind
            self._candidates = (processes, tuple(p for p in processes if kind(p.name)))
        return self._candidates[1]

    @property
    def quiet(self) -> bool:
        """True when the signatures are known and the last snapshot had no candidate process.

        Then only a new process can start a share: the runtime may poll
        slowly and rely on window events for anything else.
        """
        return self.interest is not None and self._candidates[0] is not None and not self._candidates[1]

    # -- what backends supply --------------------------------------------------
    def read_processes(self) -> Read:
        """The processes alive now."""
        return tuple(self.processes.refresh()), ()

    def read_windows(self) -> Read:
        """The top-level windows now (none by default)."""
        return (), ()

    def read_connections(self, processes: Tuple[ProcessInfo, ...]) -> Read:
        """The inet sockets of the candidate processes now (``connections=None`` reads none)."""
        if self.connections is None:
            return (), ()
        candidates = self.candidates(processes)
        if self.interest is not None and not candidates:
            return (), ()  # no app whose sockets the engine would look at
        return self.connections(candidates, self.user)

    def read_io(self, candidates: Tuple[ProcessInfo, ...]) -> Read:
        """``(pid, IoRate)`` pairs for remote-control candidates (I/O counters of no other process)."""
        if self.interest is None:
            return (), ()
        kind = self.interest.kind
        return self.io_meter.rates(p.pid for p in candidates if kind(p.name) == "remote_control"), ()

    def read_capture(self, processes: Tuple[ProcessInfo, ...]) -> Read:
        """OS-level screen-capture facts (none by default)."""
        return (), ()

    def read_devices(self, processes: Tuple[ProcessInfo, ...]) -> Read:
        """Microphones and cameras in use, per process (none by default)."""
        return (), ()

    # -- the template ---------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """One complete look at the machine now (ShareGuard's own windows left out)."""
        with self._lock:
            unavailable: List[Tuple[str, str]] = list(self.problems)
            now = self.clock()
            processes: Tuple[ProcessInfo, ...] = self._guarded("processes", unavailable, self.read_processes)
            candidates = self.candidates(processes)
            rates = dict(self._guarded("io_rate", unavailable, self.read_io, candidates))
            if rates:
                processes = tuple(dataclasses.replace(p, io_rate=rates[p.pid]) if p.pid in rates else p
                                  for p in processes)
                wanted = {c.pid for c in candidates}
                self._candidates = (processes, tuple(p for p in processes if p.pid in wanted))
            windows: Tuple[WindowInfo, ...] = self._guarded("windows", unavailable, self.read_windows)
            # The warning window quotes bank names: never judge our own windows.
            windows = drop_own_windows(windows, self._own_pids(processes))
            connections: Tuple[Connection, ...] = self._guarded("connections", unavailable,
                                                                self.read_connections, processes)
            capture: Tuple[CaptureFact, ...] = self._guarded("capture", unavailable, self.read_capture, processes)
            devices: Tuple[DeviceUse, ...] = self._guarded("devices", unavailable, self.read_devices, processes)
            return Snapshot(platform=self.platform, time=float(now), processes=processes, windows=windows,
                            connections=connections, capture=capture,
                            unavailable=translate(unavailable, self.lang), devices=devices)

    def _own_pids(self, processes: Tuple[ProcessInfo, ...]) -> FrozenSet[int]:
        """ShareGuard's pids, worked out again only when the process list changed."""
        cached = self.__dict__.get("_own")
        if cached is None or cached[0] is not processes:
            cached = self.__dict__["_own"] = (processes, own_pids(processes, self.user, self.own_pid))
        return cached[1]

    def _guarded(self, source: str, unavailable: List[Tuple[str, str]], read: Callable[..., Read], *args):
        """The error boundary: an OS error in one source empties that source only."""
        try:
            value, missing = read(*args)
        except OS_ERRORS as exc:
            unavailable.append((source, self.failed(source, exc)))
            return ()
        unavailable.extend(missing)
        return tuple(value)

    def failed(self, source: str, exc: BaseException) -> str:
        """The reason shown when ``source`` raised ``exc`` (backends may say it better)."""
        what = i18n.tr(MESSAGES, "source_" + source, self.lang) if "source_" + source in MESSAGES else source
        return i18n.tr(MESSAGES, "source_failed", self.lang, source=what, error=exc)

    # -- events -----------------------------------------------------------------
    def start_watch(self, wake: Callable[[], None]) -> Optional[threading.Thread]:
        """Call ``wake()`` whenever windows appear, change title or focus.

        Returns the watcher thread (daemon) or None when events are not
        supported. ``wake`` must be cheap and thread-safe.
        """
        return None

    def stop_watch(self) -> None:
        """Stop the watcher started by :meth:`start_watch`, if any."""

    def close(self) -> None:
        """Release OS resources (display connections, hooks, the process table's exit watch)."""
        self.stop_watch()
        with self._lock:
            for part in (self.api, self.processes):
                closer = getattr(part, "close", None)
                if closer is not None:
                    closer()
