"""Files only this user may read, and files opened in folders other users share.

Two jobs, one rule: never trust a path another account could have prepared.

- Private state (device id, heartbeat, loss counters) is written 0600 in a
  0700 folder whatever the umask: ``os.open`` with an explicit mode and an
  ``fchmod`` afterwards, because a umask of 000 would otherwise leave the
  file 0666 (docs/security.md, "a second local user").
- In a folder another user can write (a machine ``log_dir``, /tmp), a name
  can be a planted symlink or someone else's file. Files there are opened
  with ``O_NOFOLLOW`` and then checked on the open descriptor (regular file,
  owned by us, one link), so the check and the use are the same object.

Windows has neither symlink-following worries of this kind for our folders
nor POSIX owners; the checks that need them are skipped there.
"""

from __future__ import annotations

import os
import stat
from typing import Optional

#: 0 where the OS has no such flag (Windows): the owner checks still run where they can.
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_POSIX = os.name == "posix"


class UnsafePath(OSError):
    """A path that another account could control (a symlink, someone else's file or folder)."""


def _euid() -> Optional[int]:
    return os.geteuid() if hasattr(os, "geteuid") else None


def check_owned(st: os.stat_result, path: str, *, want_dir: bool) -> None:
    """Raise :class:`UnsafePath` unless ``st`` is our own regular file / folder."""
    kind_ok = stat.S_ISDIR(st.st_mode) if want_dir else stat.S_ISREG(st.st_mode)
    if not kind_ok:
        raise UnsafePath(f"{path} is not a {'folder' if want_dir else 'regular file'} (a link or a device?)")
    euid = _euid()
    if euid is not None and st.st_uid != euid:
        raise UnsafePath(f"{path} belongs to uid {st.st_uid}, not to this user (uid {euid})")
    if not want_dir and _POSIX and st.st_nlink > 1:
        # A hard link planted elsewhere would receive what we write.
        raise UnsafePath(f"{path} has {st.st_nlink} hard links")


def private_dir(path: str) -> str:
    """Create ``path`` (and missing parents) 0700 and make sure it is ours and 0700.

    An existing folder of ours with wider rights is narrowed; a symlink or a
    folder of another user raises :class:`UnsafePath`. Returns ``path``.
    """
    path = os.path.abspath(path)
    missing = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)   # umask can only remove bits: 0700 stays 0700
        except FileExistsError:
            pass
    if not _POSIX:
        return path
    # Open without following, then check and chmod the very folder we opened.
    fd = os.open(path, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    try:
        st = os.fstat(fd)
        check_owned(st, path, want_dir=True)
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return path


def open_nofollow(path: str, flags: int, mode: int = 0o600) -> int:
    """``os.open`` that refuses a symlink as last component and anything not our own
    single-link regular file; the file is made ``mode`` (0600) on the descriptor."""
    fd = os.open(path, flags | O_NOFOLLOW | O_CLOEXEC | getattr(os, "O_BINARY", 0), mode)
    try:
        check_owned(os.fstat(fd), path, want_dir=False)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: str, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``: 0600 in a 0700 folder, any umask.

    The temporary file is created exclusively (``O_EXCL``, no link
    following), so nothing planted under its name is written through.
    """
    private_dir(os.path.dirname(os.path.abspath(path)))
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.unlink(tmp)   # a leftover of a killed run of ours (pids are reused)
    except FileNotFoundError:
        pass
    fd = open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, path)


def user_subfolder(base: str, user: str) -> str:
    """``base/<user>``: this user's own 0700 folder inside a folder several
    users share (a machine ``log_dir``).

    Created without following links; an existing entry must be our own
    folder (a planted symlink or another account's folder raises
    :class:`UnsafePath`). A ``base`` we cannot create or write raises the
    ``OSError``, so the caller can fail over to the user's own folder.
    """
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in user).lstrip(".")
    if not name and hasattr(os, "getuid"):
        name = f"uid{os.getuid()}"
    if not name:
        raise UnsafePath(f"no usable folder name for user {user!r}")
    if not os.path.isdir(base):
        # The admin has not created it; only a privileged agent can (0755: others traverse to their subfolder).
        os.makedirs(base, 0o755, exist_ok=True)
    return private_dir(os.path.join(base, name))
