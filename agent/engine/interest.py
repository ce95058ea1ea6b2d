"""Which processes the signatures care about, for the collector (docs/collectors-linux.md).

The collector reads a command line only when some signature matches that
process's arguments, and reads sockets and I/O counters only for
*candidates*: processes of a meeting, remote-control or browser app. This
module answers both from the same indexes the engine matches with, so the
collector skips exactly what the engine would never look at. Pure: names
in, answers out.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Tuple

from agent.engine.matching import CACHE_LIMIT, ProcessIndex, applies_to
from agent.signatures.model import ProcessMatcher, SignatureSet


class ProcessInterest:
    """Answers ``kind(name)`` and ``needs_cmdline(name)`` for one platform's signatures."""

    def __init__(self, signatures: SignatureSet, platform: str) -> None:
        apps = signatures.apps
        signal_procs = [(s.process, a) for a in apps for s in a.signals
                        if s.process is not None and applies_to(s.platforms, platform)]
        self._apps = ProcessIndex([(m, a) for a in apps for m in a.processes] + signal_procs, platform)
        with_args: Iterable[Tuple[ProcessMatcher, None]] = (
            (m, None) for m in (
                [m for a in apps for m in a.processes] + [m for m, _ in signal_procs]
                + [m for s in signatures.sensitive for m in s.processes]
                + list(signatures.title_rules.exclude_processes))
            if m.args)
        self._args = ProcessIndex(with_args, platform)
        self._kinds: Dict[str, Optional[str]] = {}

    def kind(self, name: str) -> Optional[str]:
        """The app kind (meeting, remote_control, browser) naming this process, else None."""
        if name not in self._kinds:
            found = self._apps.names(name)
            if len(self._kinds) >= CACHE_LIMIT:
                self._kinds.clear()  # bounded: a machine spawning random names cannot grow it
            self._kinds[name] = found[0][1].kind if found else None
        return self._kinds[name]

    def needs_cmdline(self, name: str) -> bool:
        """True when a signature matches arguments of processes with this name."""
        return bool(self._args.names(name))
