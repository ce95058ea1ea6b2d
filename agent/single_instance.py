"""One guard per user session.

Two guards would fight over the same remote tool (one freezes, the other
resumes) and show two warnings. ``shareguard run`` takes a per-user lock:
an advisory ``flock`` on a file in the state directory on POSIX, a named
mutex on Windows. Both are released by the OS when the process dies, so a
killed guard never blocks the next one.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Optional

#: The lock of the guard that runs with the machine's own policy and signatures.
MACHINE_GUARD = "shareguard-run"


def guard_lock_name(policy_path: Optional[str] = None, signatures_path: Optional[str] = None) -> str:
    """The name of the lock a guard takes, from what it guards with.

    Only a guard with the machine's policy and the shipped signatures is
    "the" guard of this user: a guard started with ``--policy`` or
    ``--signatures`` (which a user can point anywhere, even at a file that
    does not exist) locks a name of its own. So a user who starts
    ``shareguard run --policy /nonexistent`` first never keeps the
    machine-started guard from starting (docs/security.md).
    """
    if not policy_path and not signatures_path:
        return MACHINE_GUARD
    identity = "\0".join(os.path.abspath(p) if p else "" for p in (policy_path, signatures_path))
    digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{MACHINE_GUARD}-custom-{digest}"


class InstanceLock:
    """Hold it for the lifetime of the guard; :meth:`acquire` is False if taken."""

    def __init__(self, directory: str, name: str = MACHINE_GUARD) -> None:
        self.directory = directory
        self.name = name
        self._handle: Optional[object] = None

    def acquire(self) -> bool:
        if sys.platform == "win32":
            return self._acquire_windows()
        return self._acquire_posix()

    def _acquire_posix(self) -> bool:
        import fcntl

        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = os.path.join(self.directory, self.name + ".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._handle = fd
        return True

    def _acquire_windows(self) -> bool:  # pragma: no cover - Windows only
        if sys.platform != "win32":  # also tells mypy (run on Linux) the rest is Windows code
            raise OSError("the Windows instance lock needs Windows")
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.CreateMutexW.argtypes = (wintypes.LPVOID, wintypes.BOOL, wintypes.LPCWSTR)
        kernel32.CreateMutexW.restype = wintypes.HANDLE
        error_already_exists = 183
        # "Local\" scopes the mutex to this logon session: one guard per user.
        handle = kernel32.CreateMutexW(None, False, "Local\\" + self.name)
        if not handle:
            return True  # cannot tell; running twice beats not running
        if ctypes.get_last_error() == error_already_exists:
            kernel32.CloseHandle(handle)
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is None:
            return
        if sys.platform == "win32":  # pragma: no cover
            import ctypes
            ctypes.WinDLL("kernel32").CloseHandle(self._handle)
        else:
            os.close(self._handle)  # type: ignore[arg-type]
        self._handle = None
