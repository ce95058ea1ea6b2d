"""A sink is a serializer x a writer, behind ``emit(event)`` / ``flush()``.

Writers take bytes (plus the event, for transports that need its type or
severity, such as the Windows Event Log) and never raise into the caller:
a transport error is counted in ``errors`` and the event in ``dropped``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List

log = logging.getLogger("shareguard.sinks")

Serializer = Callable[[Dict[str, Any]], bytes]


class Writer:
    """Transport interface."""

    name = "writer"

    def write(self, data: bytes, event: Dict[str, Any]) -> bool:
        """Deliver or durably queue one serialized event; False if it was dropped."""
        raise NotImplementedError

    def flush(self) -> None:
        """Make everything written so far durable / sent (called after each burst)."""

    def tick(self) -> None:
        """Called about once a second while idle (time-based batching)."""

    def close(self) -> None:
        """Flush and release resources."""


class Sink:
    """One configured destination."""

    def __init__(self, name: str, serializer: Serializer, writer: Writer) -> None:
        self.name = name
        self.serializer = serializer
        self.writer = writer
        self.dropped = 0
        self.errors = 0
        self.written = 0

    def emit(self, event: Dict[str, Any]) -> bool:
        """Serialize and write one event; True if the writer took it."""
        try:
            ok = self.writer.write(self.serializer(event), event)
        except Exception as e:  # a sink must never take the audit thread down
            log.warning("sink %s: %s", self.name, e)
            self.errors += 1
            ok = False
        if ok:
            self.written += 1
        elif event.get("type") != "events_dropped":
            # A loss report that is itself lost is not counted again, or a
            # dead transport would generate reports forever (the audit log
            # keeps the count it reports and retries it: agent/audit/losses.py).
            self.dropped += 1
        return ok

    def flush(self) -> bool:
        """Make what was written durable / sent; False if that failed."""
        try:
            self.writer.flush()
            return True
        except Exception as e:
            log.warning("sink %s flush: %s", self.name, e)
            self.errors += 1
            return False

    def tick(self) -> None:
        try:
            self.writer.tick()
        except Exception as e:
            log.warning("sink %s tick: %s", self.name, e)

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception as e:
            log.warning("sink %s close: %s", self.name, e)


class MemoryWriter(Writer):
    """Keeps serialized events in a list (tests, diagnostics)."""

    name = "memory"

    def __init__(self) -> None:
        self.items: List[bytes] = []
        self.events: List[Dict[str, Any]] = []

    def write(self, data: bytes, event: Dict[str, Any]) -> bool:
        self.items.append(data)
        self.events.append(event)
        return True
