"""Machine policy from the Windows registry (Group Policy).

Group Policy writes ``HKLM\\SOFTWARE\\Policies\\ShareGuard``; values are
named like the policy keys. Types map naturally: REG_DWORD -> integer or
boolean (0/1), REG_SZ -> text, REG_MULTI_SZ -> list of texts. Keys whose
value is a mapping or a list of mappings (``hotlines``, ``sinks``) are
REG_SZ holding JSON, since ADMX templates cannot express nested values.

The ``winreg`` module is injected so tests drive this with a fake.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from agent.policy.keys import KEYS_BY_NAME
from agent.policy.paths import REGISTRY_KEY
from agent.policy.validate import Problem

REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 4, 7, 11
#: Keys stored as JSON text because their values are nested.
JSON_KEYS = ("hotlines", "sinks")


def origin(name: str = "") -> str:
    """The ``sources`` label of a registry value."""
    base = "HKLM\\" + REGISTRY_KEY
    return f"{base}\\{name}" if name else base


def read_registry(winreg: Any = None) -> Tuple[Optional[Dict[str, Any]], Dict[str, str], List[Problem]]:
    """Read the policy key. Returns ``(mapping or None if absent, origins, problems)``.

    ``origins`` maps each key to its ``HKLM\\...\\name`` label.
    """
    if winreg is None:
        import winreg
    try:
        handle = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, REGISTRY_KEY, 0, winreg.KEY_READ)
    except FileNotFoundError:
        return None, {}, []
    except OSError as e:
        return None, {}, [Problem(origin(), 0, f"cannot open: {e}")]
    mapping: Dict[str, Any] = {}
    origins: Dict[str, str] = {}
    problems: List[Problem] = []
    try:
        i = 0
        while True:
            try:
                name, data, kind = winreg.EnumValue(handle, i)
            except OSError:
                break   # ERROR_NO_MORE_ITEMS
            i += 1
            value, problem = _convert(name, data, kind)
            if problem:
                problems.append(Problem(origin(name), 0, problem))
                continue
            mapping[name] = value
            origins[name] = origin(name)
    finally:
        winreg.CloseKey(handle)
    return mapping, origins, problems


def _convert(name: str, data: Any, kind: int) -> Tuple[Any, Optional[str]]:
    key = KEYS_BY_NAME.get(name)
    if kind in (REG_DWORD, REG_QWORD):
        if key is not None and key.type == "boolean":
            return bool(data), None
        return int(data), None
    if kind == REG_MULTI_SZ:
        return [s for s in data if s], None
    if kind in (REG_SZ, REG_EXPAND_SZ):
        if name in JSON_KEYS or (key is not None and key.type.startswith("list")):
            try:
                return json.loads(data), None
            except ValueError as e:
                return None, f"{name}: expected JSON text ({e})"
        return data, None
    return None, f"{name}: unsupported registry type {kind}"
