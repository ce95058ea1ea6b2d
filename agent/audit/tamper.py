"""Tamper signs: a machine policy file changed, the agent was killed.

- :class:`PolicyFileWatch` remembers the sha256 of each machine policy file
  and reports a change (an admin edit is also a change: it is "notice", not
  "alert"; the SIEM correlates it with change tickets).
- :class:`Heartbeat` keeps a small JSON file (pid, start, last beat) in the
  state dir and removes it on a clean stop. Finding one at start whose pid
  is gone means the previous agent ended without stopping: killed, crashed,
  or power lost, which is what a scammer walking a victim through the Task
  Manager looks like.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from typing import Dict, Iterable, List, Optional, Tuple

import psutil

from agent.safe_files import write_private
from agent.sourcefile import SourceError, brief, read_json

Notice = Tuple[str, Dict[str, object]]

#: Process ids are below this on every OS we run on (a larger one in a file is corrupt).
MAX_PID = 1 << 31

log = logging.getLogger("shareguard.tamper")


def file_sha256(path: str) -> Optional[str]:
    """Hex sha256 of ``path``, or None if it does not exist / cannot be read."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


class PolicyFileWatch:
    """Detects changes of machine policy files between :meth:`check` calls."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._mtimes: Dict[str, Optional[float]] = {}
        self._hashes: Dict[str, Optional[str]] = {}
        for p in paths:
            self._mtimes[p] = _mtime(p)
            self._hashes[p] = file_sha256(p)

    def check(self) -> List[Notice]:
        """Events for files whose content changed (mtime first, so a check is cheap)."""
        out: List[Notice] = []
        for path, old_mtime in list(self._mtimes.items()):
            mtime = _mtime(path)
            if mtime == old_mtime:
                continue
            self._mtimes[path] = mtime
            digest = file_sha256(path)
            if digest != self._hashes[path]:
                out.append(("policy_file_changed", {"source": path, "old_sha256": self._hashes[path] or "",
                                                    "new_sha256": digest or ""}))
                self._hashes[path] = digest
        return out


def _mtime(path: str) -> Optional[float]:
    try:
        st = os.stat(path)
        return st.st_mtime_ns + st.st_size * 1e-3  # size too: coarse mtime clocks
    except OSError:
        return None


class Heartbeat:
    """The "was I killed last time?" file."""

    def __init__(self, state_dir: str, interval: float = 30.0) -> None:
        self.path = os.path.join(state_dir, "agent.heartbeat")
        self.interval = interval
        self._last = 0.0
        self._started = 0.0

    def start(self, pid_alive=None) -> List[Notice]:
        """Check the previous run, then claim the file. Returns tamper notices."""
        notices: List[Notice] = []
        previous = self._read()
        if previous is not None:
            pid = previous.get("pid")
            if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < MAX_PID:
                # A corrupt file is no reason to stay down: it counts as an unclean stop.
                if pid is not None:
                    log.warning("heartbeat %s holds no usable pid (%s); treating it as an unclean stop",
                                self.path, brief(pid))
                pid = 0
            alive = (pid_alive or _pid_alive)(pid) if pid and pid != os.getpid() else False
            if not alive:
                notices.append(("agent_restarted_after_kill",
                                {"previous_pid": pid, "last_heartbeat": previous.get("heartbeat", "")}))
        self._started = time.time()
        self.beat(force=True)
        return notices

    def beat(self, force: bool = False) -> None:
        """Refresh the timestamp (at most every ``interval`` seconds)."""
        now = time.time()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        data = {"pid": os.getpid(), "started": _iso(self._started), "heartbeat": _iso(now)}
        try:
            # 0600 in a 0700 folder whatever the umask (docs/security.md).
            write_private(self.path, json.dumps(data).encode("utf-8"))
        except OSError:
            pass   # a read-only state dir must not stop the guard

    def stop(self) -> None:
        """Clean stop: remove the file so the next start is not a tamper sign."""
        try:
            os.remove(self.path)
        except OSError:
            pass

    def _read(self) -> Optional[dict]:
        try:
            data = read_json(self.path, limit=64 * 1024)
        except FileNotFoundError:
            return None
        except SourceError as exc:
            log.warning("ignoring a corrupt heartbeat file: %s", exc)
            return {}
        return data if isinstance(data, dict) else {}


def _pid_alive(pid: int) -> bool:
    try:
        return psutil.pid_exists(pid)
    except (OverflowError, ValueError, OSError):
        return False


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
