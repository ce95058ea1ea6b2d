"""The Linux collector: processes + X11 windows + sockets + PipeWire capture.

Each part reports what it could not read in ``Snapshot.unavailable``; none
of them raises, so one missing source (no display, no pw-dump) never stops
the others.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, List, Optional, Tuple

from agent.collectors.base import Collector
from agent.collectors.connections import read_connections
from agent.collectors.processes import ProcessTable, own_user
from agent.collectors.self_filter import drop_own_windows, own_pids
from agent.collectors._linux_wayland import PipeWireCapture
from agent.collectors._linux_x11 import X11Watcher, X11Windows, wayland_note
from agent.model import Snapshot


class LinuxCollector(Collector):
    """Builds Linux snapshots; listens to X11 window events when a display exists."""

    platform = "linux"
    name = "linux"
    HAS_EVENTS = True

    def __init__(self, display: Optional[str] = None, connections: bool = True,
                 capture: Optional[PipeWireCapture] = None, sockets_interval: float = 1.0) -> None:
        self.display = display
        self.read_sockets = connections
        # Sockets cost a walk over every process's fds and are only session
        # evidence; a window-event wake must not pay for them again at once.
        self.sockets_interval = sockets_interval
        self._sockets_cache: Optional[Tuple[float, tuple, tuple]] = None
        self._processes = ProcessTable()
        self._windows = X11Windows(display)
        self._capture = capture if capture is not None else PipeWireCapture()
        self._watcher: Optional[X11Watcher] = None
        self._user = own_user()
        # snapshot() may be called from the runtime loop and a CLI thread.
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """One complete look at the machine (ShareGuard's own windows left out)."""
        with self._lock:
            unavailable: List[Tuple[str, str]] = []
            processes = self._processes.refresh()
            windows, missing = self._windows.read()
            unavailable.extend(missing)
            note = wayland_note()
            if note:
                unavailable.append(note)
            windows = drop_own_windows(windows, own_pids(processes, self._user))
            connections: tuple = ()
            if self.read_sockets:
                connections, missing = self._connections(processes)
                unavailable.extend(missing)
            capture, missing = self._capture.read()
            unavailable.extend(missing)
            return Snapshot(platform="linux", time=time.time(), processes=processes, windows=windows,
                            connections=connections, capture=capture, unavailable=tuple(unavailable),
                            devices=getattr(self._capture, "devices", ()))

    def _connections(self, processes) -> Tuple[tuple, tuple]:
        now = time.monotonic()
        cached = self._sockets_cache
        if cached is not None and now - cached[0] < self.sockets_interval:
            return cached[1], cached[2]
        connections, missing = read_connections(processes, self._user)
        self._sockets_cache = (now, connections, missing)
        return connections, missing

    def start_watch(self, wake: Callable[[], None]) -> Optional[threading.Thread]:
        """Start the X11 event watcher (None without a display)."""
        self.stop_watch()
        self._watcher = X11Watcher(wake, self.display)
        thread = self._watcher.start()
        if thread is None:
            self._watcher = None
        return thread

    def stop_watch(self) -> None:
        """Stop the X11 event watcher."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def close(self) -> None:
        """Stop watching and close the display connection."""
        self.stop_watch()
        with self._lock:
            self._windows.close()
