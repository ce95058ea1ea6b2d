"""Run a test's code as a second local user: a forked child that dropped root's privileges."""

import os
from typing import Callable


def fork_as(uid: int, fn: Callable[[], int]) -> int:
    """Fork a child that becomes ``uid`` (its own group, no supplementary groups), runs ``fn``
    and exits with what it returns (99 when it raised); returns the child's pid. Needs root."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked child
        code = 99
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            code = fn()
        finally:
            os._exit(code)
    return pid


def run_as(uid: int, fn: Callable[[], int]) -> int:
    """:func:`fork_as`, then wait: the child's exit status."""
    _, status = os.waitpid(fork_as(uid, fn), 0)
    return os.waitstatus_to_exitcode(status)
