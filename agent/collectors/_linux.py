"""The Linux collector: processes + X11 windows + sockets + PipeWire capture.

The template (agent/collectors/base.py) owns the snapshot; this backend
reads windows through :class:`LinuxApi` (an X11 display and ``pw-dump``).
One missing source (no display, no pw-dump) never stops the others.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional, Union

from agent.collectors._linux_sway import SwayWatcher, SwayWindows, swaysock
from agent.collectors._linux_wayland import PipeWireCapture
from agent.collectors._linux_x11 import X11Watcher, X11Windows, wayland_note
from agent.collectors.base import Collector, Read, paced


class LinuxApi:
    """What the Linux collector asks of the OS: one X display and PipeWire.

    ``windows`` reads the display (``read() -> (windows, unavailable)``,
    ``close()``), ``capture`` runs ``pw-dump`` (``read()``,
    ``read_devices()``); tests hand in stand-ins for either
    (tests/support/fake_os.py).
    """

    def __init__(self, display: Optional[str] = None, capture=None, windows=None) -> None:
        self.display = display
        if windows is None:
            # sway tells any client of the session every window's title; elsewhere X11 (or XWayland) does.
            windows = SwayWindows() if swaysock() else X11Windows(display)
        self.windows = windows
        self.capture = capture if capture is not None else PipeWireCapture(background=True)

    def watcher(self, wake: Callable[[], None]) -> Union[X11Watcher, SwayWatcher]:
        """A watcher for window events from the same source as ``windows`` (sway or X11).

        The X11 one tells ``windows`` what changed; sway's IPC answers whole lists anyway.
        """
        if isinstance(self.windows, SwayWindows):
            return SwayWatcher(wake, self.windows.path)
        on_change = self.windows.changed if isinstance(self.windows, X11Windows) else None
        return X11Watcher(wake, self.display, on_change=on_change)

    def close(self) -> None:
        """Close the display connection."""
        self.windows.close()


class LinuxCollector(Collector):
    """Builds Linux snapshots; listens to X11 window events when a display exists."""

    platform = "linux"
    name = "linux"
    HAS_EVENTS = True
    # Sockets cost a walk over every process's fds and are only session
    # evidence; a window-event wake must not pay for them again at once.
    PACE = {"connections": 1.0}
    _watcher: Optional[Union[X11Watcher, SwayWatcher]] = None

    def default_api(self) -> LinuxApi:
        return LinuxApi()

    def read_windows(self) -> Read:
        # Events name what changed only while the watcher thread is alive.
        watcher = self._watcher
        self.api.windows.events_live = bool(watcher and watcher.thread and watcher.thread.is_alive())
        windows, missing = self.api.windows.read()
        note = None if isinstance(self.api.windows, SwayWindows) else wayland_note()
        return windows, tuple(missing) + ((note,) if note else ())

    @paced("connections")
    def read_connections(self, processes) -> Read:
        return super().read_connections(processes)

    def read_capture(self, processes) -> Read:
        return self.api.capture.read()

    def read_devices(self, processes) -> Read:
        return self.api.capture.read_devices()

    def start_watch(self, wake: Callable[[], None]) -> Optional[threading.Thread]:
        """Start the window-event watcher: sway's under sway, else X11's (None when neither answers)."""
        self.stop_watch()
        self._watcher = self.api.watcher(wake)
        thread = self._watcher.start()
        if thread is None:
            self._watcher = None
        return thread

    def stop_watch(self) -> None:
        """Stop the window-event watcher."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
