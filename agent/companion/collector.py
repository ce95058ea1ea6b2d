"""Adds the companion's pages to the snapshots of any collector.

A wrapper rather than a change to each OS collector: the pages come from
the browsers, not from the OS, and are the same on every platform.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Callable, Optional

from agent.collectors.base import Collector
from agent.model import Snapshot


class WithPages(Collector):
    """``inner``'s snapshots plus the pages ``receiver`` holds now."""

    def __init__(self, inner: Collector, receiver) -> None:
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
        # Anything else (measuring hooks, pacing, problems) is the OS collector's.
        return getattr(self.inner, name)
