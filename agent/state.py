"""What the agent remembers across restarts: executables seen before.

The engine keeps first-seen state in memory; this file-backed store lets a
restart not re-announce every meeting app. Writes are atomic (temp file +
rename) so a kill mid-write never corrupts the file; a corrupt file is
treated as empty (worst case: one extra first-seen notice).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Iterable, Optional, Set

from agent.safe_files import write_private
from agent.sourcefile import SourceError, read_json

log = logging.getLogger("shareguard.state")


def default_state_dir() -> str:
    """The per-user state directory, created on demand: the same folder as the
    device id and heartbeat (agent.policy.paths.state_dir, which this bottom
    layer does not import; the app passes that path), one private place."""
    import platformdirs

    return platformdirs.user_state_dir("ShareGuard", appauthor=False)


class StateStore:
    """JSON file ``known_executables.json`` in the state directory."""

    FILE = "known_executables.json"

    def __init__(self, directory: Optional[str] = None) -> None:
        self.directory = directory or default_state_dir()
        self.path = os.path.join(self.directory, self.FILE)

    def load_known_executables(self) -> Set[str]:
        try:
            data = read_json(self.path, limit=16 * 1024 * 1024)
        except FileNotFoundError:
            return set()
        except SourceError as exc:
            log.warning("ignoring unreadable state file: %s", exc)
            return set()
        items = data.get("known_executables", []) if isinstance(data, dict) else []
        return {x for x in items if isinstance(x, str)} if isinstance(items, list) else set()

    def save_known_executables(self, known: Iterable[str]) -> None:
        data = json.dumps({"version": 1, "known_executables": sorted(known)})
        try:
            write_private(self.path, data.encode("utf-8"))   # 0600 in a 0700 folder, any umask
        except OSError as exc:
            # Losing this only costs a repeated notice; never stop detection for it.
            log.warning("cannot save state to %s: %s", self.path, exc)
