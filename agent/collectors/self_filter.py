"""Keep ShareGuard's own windows out of what the engine judges.

The warning window quotes bank names and the scam's words; if the engine saw
it, ShareGuard would alert on itself. Our windows live in this process or in
the warm UI helper (``python -m agent.ui.helper``), possibly of another
ShareGuard instance (``shareguard scan`` while the guard runs), so both are
recognised here, in one place, for every platform collector.
"""

from __future__ import annotations

import os
from typing import FrozenSet, Iterable, Optional, Tuple

from agent.model import ProcessInfo, WindowInfo

#: The module the UI helper process runs (``python -m agent.ui.helper``).
UI_HELPER_MODULE = "agent.ui.helper"


#: The frozen helper's first argument (agent.cli.UI_HELPER_FLAG; not imported: cli pulls in every command).
UI_HELPER_FLAG = "--ui-helper"

#: File names (casefolded, without .exe) of the PyInstaller build's executables
#: (installer/windows/shareguard.spec): console ``shareguard``, windowed ``shareguardw``.
FROZEN_EXECUTABLES = frozenset({"shareguard", "shareguardw"})


def _is_frozen_helper(cmdline: Tuple[str, ...]) -> bool:
    """``<dir>/shareguardw.exe --ui-helper``: how a frozen build starts its helper (agent.responders.ui_client)."""
    if len(cmdline) < 2 or cmdline[1] != UI_HELPER_FLAG:
        return False
    name = cmdline[0].replace("\\", "/").rsplit("/", 1)[-1].casefold()
    return name.removesuffix(".exe") in FROZEN_EXECUTABLES


def is_ui_helper(cmdline: Tuple[str, ...]) -> bool:
    """True for ``… -m agent.ui.helper …`` (also ``-magent.ui.helper``) and a frozen build's helper."""
    if _is_frozen_helper(cmdline):
        return True
    for i, arg in enumerate(cmdline):
        if arg == "-m" and i + 1 < len(cmdline) and cmdline[i + 1] == UI_HELPER_MODULE:
            return True
        if arg == "-m" + UI_HELPER_MODULE:
            return True
    return False


def own_pids(processes: Iterable[ProcessInfo], user: Optional[str] = None,
             self_pid: Optional[int] = None) -> FrozenSet[int]:
    """Pids whose windows are ShareGuard's: this process and UI helpers of ``user``.

    A helper of another user is not ours to hide: only the same user's (or,
    when the user cannot be read, any) helper counts.
    """
    pids = {os.getpid() if self_pid is None else self_pid}
    for proc in processes:
        if is_ui_helper(proc.cmdline) and (user is None or proc.user is None or proc.user == user):
            pids.add(proc.pid)
    return frozenset(pids)


def drop_own_windows(windows: Iterable[WindowInfo], pids: FrozenSet[int]) -> Tuple[WindowInfo, ...]:
    """The windows not owned by one of ``pids``."""
    return tuple(w for w in windows if w.pid is None or w.pid not in pids)


def might_be_ui_helper(name: str) -> bool:
    """True when a process of this name could be a UI helper, so its command line is needed.

    The helper runs as ``python… -m agent.ui.helper`` from sources or a wheel,
    or as the frozen ``shareguard…`` executable.
    """
    folded = name.casefold()
    return folded.startswith("python") or folded.startswith("shareguard")
