"""One polling loop for tests that wait on something another process or thread does.

Timeouts only bound a failure (the machines are shared and noisy); nothing here
measures speed.
"""

from __future__ import annotations

import time
from typing import Any, Callable


def poll(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Call ``predicate`` until it returns something truthy or ``timeout`` seconds pass.

    Returns its last value (truthy on success, falsy on time-out), so callers can
    ``assert poll(...)`` or use what it found.
    """
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05,
               show_last: bool = False) -> Any:
    """:func:`poll`, failing the test with ``what`` (and the last value if asked) on time-out."""
    value = poll(predicate, timeout, interval)
    if not value:
        last = f"; last: {value!r}" if show_last else ""
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{last}")
    return value
