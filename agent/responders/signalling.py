"""Signal a process only if it is still the one we mean.

A pid names a process only while it lives: once it ends the number can be
given to an unrelated process (issue: a reused pid got SIGSTOP and then
SIGTERM). Every signal here carries the process's identity, its
``create_time``, and is sent only if the process at that pid has it.

On Linux a pidfd makes this race-free: ``os.pidfd_open`` pins the process
that has the pid *now*; its start time is checked *after* the pin, and
``signal.pidfd_send_signal`` can only reach the pinned process (or fail if
it has ended). Elsewhere the check is made immediately before the signal
through psutil, which leaves a window of microseconds instead of seconds.
"""

from __future__ import annotations

import os
import signal
from typing import Optional

import psutil

#: psutil start times of one process agree to the clock tick; a reused pid
#: starts later by at least the time the old process lived.
TOLERANCE = 0.05

#: action -> POSIX signal; Windows uses psutil's suspend/resume/terminate/kill.
_SIGNALS = {"stop": getattr(signal, "SIGSTOP", None), "cont": getattr(signal, "SIGCONT", None),
            "term": signal.SIGTERM, "kill": getattr(signal, "SIGKILL", None)}


class PidReused(psutil.NoSuchProcess):
    """The pid now belongs to a different process than the one meant."""


def same_process(pid: int, create_time: Optional[float]) -> bool:
    """True if the process now at ``pid`` started at ``create_time`` (None: unknown, trust the pid)."""
    current = psutil.Process(pid).create_time()
    return create_time is None or abs(current - create_time) <= TOLERANCE


def send(pid: int, create_time: Optional[float], action: str) -> None:
    """Send ``action`` (stop, cont, term, kill) to the process ``pid`` started at ``create_time``.

    Raises :class:`PidReused` if the pid belongs to another process now,
    ``psutil.NoSuchProcess`` if it is gone, ``psutil.AccessDenied`` if not allowed.
    """
    sig = _SIGNALS[action]
    if sig is not None and hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal"):
        _send_pidfd(pid, create_time, sig)
        return
    proc = psutil.Process(pid)
    if create_time is not None and abs(proc.create_time() - create_time) > TOLERANCE:
        raise PidReused(pid, msg=f"pid {pid} was reused by another process")
    {"stop": proc.suspend, "cont": proc.resume, "term": proc.terminate, "kill": proc.kill}[action]()


def _send_pidfd(pid: int, create_time: Optional[float], sig: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        raise psutil.NoSuchProcess(pid) from None
    except OSError as exc:   # ENOSYS (old kernel) or a seccomp filter: check, then signal by pid
        if not same_process(pid, create_time):
            raise PidReused(pid, msg=f"pid {pid} was reused by another process") from exc
        psutil.Process(pid).send_signal(sig)
        return
    try:
        # Pinned first, checked second: if the check passes, the pinned
        # process is the one we mean, and only it can receive the signal.
        if not same_process(pid, create_time):
            raise PidReused(pid, msg=f"pid {pid} was reused by another process")
        signal.pidfd_send_signal(fd, sig)
    except ProcessLookupError:
        raise psutil.NoSuchProcess(pid) from None
    except PermissionError:
        raise psutil.AccessDenied(pid) from None
    finally:
        os.close(fd)
