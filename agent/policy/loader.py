"""The effective policy: built-in defaults < machine policy < user settings.

Machine policy comes from an admin-owned YAML file and, on Windows, the
registry (Group Policy) or, on macOS, an MDM managed-preferences plist; the
later source wins within the machine layer. Locking (the safer default):
every key the machine policy sets is locked unless the machine policy lists
it in ``user_overridable``; ``locked`` additionally pins keys the machine
policy does not set at their built-in default.

A broken source never stops the guard: its invalid keys are dropped with a
file:line problem and keep their last good value (from ``previous``), and
a file that cannot be parsed at all keeps its whole last good layer.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

from agent.policy import paths
from agent.policy.keys import KEYS_BY_NAME, defaults
from agent.policy.validate import Problem, validate_file, validate_mapping
from agent.sourcefile import printable

#: Keys of the machine file that shape locking rather than set values.
META_KEYS = ("locked", "user_overridable")


@dataclass
class Layer:
    """What one source contributed (kept so a reload can fall back to it)."""

    kind: str                       # machine | user
    label: str                      # "machine:/etc/shareguard/policy.yaml", "registry:HKLM\\..."
    values: Dict[str, Any] = field(default_factory=dict)
    origins: Dict[str, str] = field(default_factory=dict)   # key -> "kind:place:line"


@dataclass
class Policy:
    """The effective policy and where every value came from."""

    values: Dict[str, Any]
    sources: Dict[str, str]
    locked: FrozenSet[str]
    problems: List[Problem] = field(default_factory=list)
    #: Audit events the loader wants raised: (type, fields).
    notices: List[Tuple[str, Dict[str, Any]]] = field(default_factory=list)
    #: Machine policy files consulted (present or not), for tamper checks.
    machine_files: Tuple[str, ...] = ()
    layers: Dict[str, Layer] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """The effective value of ``key`` (a copy-safe read)."""
        if key not in KEYS_BY_NAME:
            raise KeyError(f"unknown policy key {key!r}")
        return self.values.get(key, default)

    def engine_policy(self):
        """The small frozen policy the engine decides with."""
        from agent.engine.policy import engine_policy_from_mapping
        return engine_policy_from_mapping(self.values)

    def to_json(self) -> dict:
        return {
            "values": self.values,
            "sources": self.sources,
            "locked": sorted(self.locked),
            "problems": [p.to_json() for p in self.problems],
        }


def load_policy(machine_path: Optional[str] = None, user_path: Optional[str] = None, *,
                platform: Optional[str] = None, winreg: Any = None,
                plist_paths: Optional[Sequence[str]] = None,
                previous: Optional[Policy] = None,
                insecure_check=None) -> Policy:
    """Build the effective policy.

    ``machine_path``/``user_path`` default to the OS locations
    (:mod:`agent.policy.paths`). With the default machine path, Windows also
    reads the registry and macOS the managed plists; tests pass ``winreg``
    (a fake module) or ``plist_paths`` to force those sources.
    ``previous`` is the last good policy: invalid values fall back to it.
    """
    platform = platform or paths.current_platform()
    insecure_check = insecure_check or (lambda p: paths.insecure_reason(p, platform))
    prev_layers = previous.layers if previous else {}
    problems: List[Problem] = []
    notices: List[Tuple[str, Dict[str, Any]]] = []
    layers: List[Layer] = []

    machine_file = machine_path or paths.machine_policy_file(platform)
    layer = _file_layer("machine", machine_file, prev_layers, problems, notices, insecure_check)
    if layer:
        layers.append(layer)
    if winreg is not None or (machine_path is None and platform == "windows"):
        layer = _registry_layer(winreg, prev_layers, problems, notices)
        if layer:
            layers.append(layer)
    if plist_paths is None and machine_path is None and platform == "darwin":
        # The account this agent runs as, never $USER: a user could point it at another user's profile.
        plist_paths = paths.macos_managed_plists(paths.real_user_name())
    # The most specific plist is listed first, so apply them in reverse (later wins).
    for plist in reversed(list(plist_paths or ())):
        layer = _plist_layer(plist, prev_layers, problems, notices)
        if layer:
            layers.append(layer)

    values = defaults()
    sources = {k: "default" for k in values}
    set_by_machine: set = set()
    overridable: set = set()
    pinned: set = set()
    for layer in layers:
        for k, v in layer.values.items():
            if k == "locked":
                pinned.update(v)
            elif k == "user_overridable":
                overridable.update(v)
            else:
                values[k] = v
                sources[k] = layer.origins.get(k, layer.label)
                set_by_machine.add(k)
    locked = frozenset((set_by_machine - overridable) | pinned)

    user_file = user_path or paths.user_settings_file()
    user_layer = _file_layer("user", user_file, prev_layers, problems, notices, None)
    if user_layer:
        layers.append(user_layer)
        for k, v in user_layer.values.items():
            if k in locked:
                problems.append(Problem(user_file, _line_of(user_layer.origins.get(k)),
                                        f"{k}: locked by the machine policy "
                                        f"({sources[k]}); your value is ignored", "warning"))
                continue
            values[k] = v
            sources[k] = user_layer.origins.get(k, user_layer.label)

    return Policy(values=values, sources=sources, locked=locked, problems=problems,
                  notices=notices, machine_files=tuple([machine_file]),
                  layers={layer.label: layer for layer in layers})


def _line_of(origin: Optional[str]) -> int:
    tail = (origin or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _keep_last_good(layer: Layer, bad_keys: List[str], prev_layers: Dict[str, Layer]) -> None:
    """Give keys whose new value is invalid their previous good value."""
    prev = prev_layers.get(layer.label)
    if not prev:
        return
    for k in bad_keys:
        if k in prev.values and k not in layer.values:
            layer.values[k] = prev.values[k]
            layer.origins[k] = prev.origins.get(k, prev.label) + " (last good)"


def _finish(layer: Layer, found: Optional[Dict[str, Any]], new_problems: List[Problem],
            prev_layers: Dict[str, Layer], problems: List[Problem],
            notices: List[Tuple[str, Dict[str, Any]]], source: str) -> Layer:
    problems.extend(new_problems)
    errors = [p for p in new_problems if p.severity == "error"]
    if errors:
        notices.append(("policy_rejected", {
            "source": source,
            "problems": [str(p) for p in errors],
            "kept_last_good": layer.label in prev_layers,
        }))
    if found is None:
        # Unreadable as a whole: keep the previous layer untouched.
        prev = prev_layers.get(layer.label)
        return copy.deepcopy(prev) if prev else layer
    bad = [p.message.split(":", 1)[0] for p in errors]
    _keep_last_good(layer, bad, prev_layers)
    return layer


def _file_layer(kind: str, path: str, prev_layers, problems, notices, insecure_check) -> Optional[Layer]:
    if not os.path.exists(path):
        return None
    label = f"{kind}:{printable(path)}"   # labels end up in events and `policy show --json`
    layer = Layer(kind, label)
    if insecure_check is not None:
        reason = insecure_check(path)
        if reason:
            problems.append(Problem(path, 0, f"ignored: a non-administrator could change it ({reason}); "
                                             "make it owned and writable by administrators only"))
            notices.append(("policy_insecure", {"source": printable(path), "reason": printable(reason)}))
            return None
    found, lines, new_problems = validate_file(path, layer=kind)
    if found is not None:
        layer.values = found
        layer.origins = {k: f"{label}:{lines[k]}" if k in lines else label for k in found}
    return _finish(layer, found, new_problems, prev_layers, problems, notices, printable(path))


def _registry_layer(winreg, prev_layers, problems, notices) -> Optional[Layer]:
    from agent.policy import _windows_registry as reg
    try:
        mapping, origins, new_problems = reg.read_registry(winreg)
    except ImportError:
        return None
    if mapping is None and not new_problems:
        return None
    label = "registry:" + reg.origin()
    layer = Layer("machine", label)
    found = None
    if mapping is not None:
        found, more = validate_mapping(mapping, reg.origin(), None, layer="machine")
        # Name the value, not the key, in each problem.
        new_problems = new_problems + [Problem(reg.origin(p.message.split(":", 1)[0]), 0, p.message, p.severity)
                                       for p in more]
        layer.values = found
        layer.origins = {k: "registry:" + origins.get(k, reg.origin(k)) for k in found}
    return _finish(layer, found, new_problems, prev_layers, problems, notices, reg.origin())


def _plist_layer(path, prev_layers, problems, notices) -> Optional[Layer]:
    from agent.policy import _macos_plist
    mapping, new_problems = _macos_plist.read_plist(path)
    if mapping is None and not new_problems:
        return None
    label = f"mdm:{path}"
    layer = Layer("machine", label)
    found = None
    if mapping is not None:
        found, more = validate_mapping(mapping, path, None, layer="machine")
        new_problems = new_problems + more
        layer.values = found
        layer.origins = {k: label for k in found}
    return _finish(layer, found, new_problems, prev_layers, problems, notices, path)
