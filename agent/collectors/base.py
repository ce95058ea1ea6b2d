"""The contract every platform collector fulfils.

A collector only observes: it never decides and never raises because a
process vanished or is protected. Each source (processes, windows,
connections, capture) that cannot be read is reported in
``Snapshot.unavailable`` with a reason instead.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

from agent.model import Snapshot


class Collector:
    """Base class: builds :class:`~agent.model.Snapshot` objects for one OS.

    Subclasses implement :meth:`snapshot`; those that can listen to window
    events (X11 PropertyNotify, SetWinEventHook) override :meth:`start_watch`
    so a new bank window is judged at once instead of at the next poll.
    """

    #: The ``platform`` value written into snapshots (windows|darwin|linux).
    platform = "linux"
    #: Backend name for logs and ``SHAREGUARD_COLLECTOR``.
    name = "base"
    #: True when :meth:`start_watch` delivers window events.
    HAS_EVENTS = False

    def snapshot(self) -> Snapshot:
        """Return one complete look at the machine now."""
        raise NotImplementedError

    def start_watch(self, wake: Callable[[], None]) -> Optional[threading.Thread]:
        """Call ``wake()`` whenever windows appear, change title or focus.

        Returns the watcher thread (daemon) or None when events are not
        supported. ``wake`` must be cheap and thread-safe.
        """
        return None

    def stop_watch(self) -> None:
        """Stop the watcher started by :meth:`start_watch`, if any."""

    def close(self) -> None:
        """Release OS resources (display connections, hooks)."""
        self.stop_watch()
