"""Adds the companion's pages to the snapshots of any collector.

A wrapper rather than a change to each OS collector: the pages come from
the browsers, not from the OS, and are the same on every platform. It is
deliberately not a subclass of the collector base: an inherited method
(``set_interest``, ``quiet``) would act on the wrapper's own empty state
instead of the OS collector's, which once left the running agent without
its process interest (every process's sockets read on every tick, the
slow poll never taken). Everything it does not override goes to ``inner``.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Callable, Optional

from agent.model import Snapshot


class WithPages:
    """``inner``'s snapshots plus the pages ``receiver`` holds now."""

    def __init__(self, inner: Any, receiver) -> None:
        self.inner = inner
        self.receiver = receiver
        self.platform = inner.platform
        self.name = inner.name
        self.HAS_EVENTS = inner.HAS_EVENTS

    def snapshot(self) -> Snapshot:
        snapshot = self.inner.snapshot()
        pages = self.receiver.pages()
        unavailable = snapshot.unavailable
        if self.receiver.problem:
            unavailable = unavailable + (("pages", self.receiver.problem),)
        return dataclasses.replace(snapshot, pages=pages, unavailable=unavailable)

    def start_watch(self, wake: Callable[[], None]) -> Optional[threading.Thread]:
        # A browser fact (tab switch, capture start) wakes the loop like a window event.
        self.receiver.on_change = wake
        return self.inner.start_watch(wake)

    def stop_watch(self) -> None:
        self.inner.stop_watch()

    def close(self) -> None:
        self.receiver.stop()
        self.inner.close()

    def __getattr__(self, name: str):
        # Anything else (interest, quiet, measuring hooks, pacing, problems) is the OS collector's.
        return getattr(self.inner, name)
