"""The part of the policy the engine decides with.

The full policy (layers, locking, OS paths) lives in :mod:`agent.policy`; it
hands the engine this small frozen object so the engine stays pure. Key names
are the policy file's key names.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, Dict, FrozenSet, Tuple

from agent.model import MODES


@dataclass(frozen=True)
class EnginePolicy:
    """Decision settings.

    mode: ``balanced`` (default), ``strict`` or ``monitor`` (log only).
    snooze_minutes: after "continue", the same share session does not block
        again for this long.
    freeze_remote_tools: suspend remote-control processes while the warning
        is up.
    trusted_apps: signature ids (``teamviewer``) whose shares never block.
    trusted_executables: executable paths or file names whose shares never
        block (compared casefolded).
    first_seen_notice: notice when a meeting/remote executable is seen for
        the first time on this machine.
    """

    mode: str = "balanced"
    snooze_minutes: float = 10.0
    freeze_remote_tools: bool = True
    trusted_apps: Tuple[str, ...] = ()
    trusted_executables: Tuple[str, ...] = ()
    first_seen_notice: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")

    @cached_property
    def trusted_executable_names(self) -> FrozenSet[str]:
        """``trusted_executables`` casefolded, computed once per policy (the
        engine matches them against every share on every tick)."""
        return frozenset(t.casefold() for t in self.trusted_executables)

    @property
    def snooze_seconds(self) -> float:
        return float(self.snooze_minutes) * 60.0


def engine_policy_from_mapping(values: dict) -> EnginePolicy:
    """Build an EnginePolicy from already-validated policy values.

    The fields of :class:`EnginePolicy` are the policy keys the engine uses
    (their types and checks live in the key table, agent/policy/keys.py);
    other keys are ignored and lists become tuples.
    """
    kwargs: Dict[str, Any] = {}
    for key in (f.name for f in fields(EnginePolicy)):
        if key in values and values[key] is not None:
            v = values[key]
            kwargs[key] = tuple(v) if isinstance(v, list) else v
    return EnginePolicy(**kwargs)
