"""Check a policy mapping against the key table, with file:line problems.

Used for machine files, user settings, registry/MDM values and the
``policy:`` mapping of replay scenarios, so every entry point reports the
same way: "file:line: key: what is wrong and what to write instead".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from agent.policy.keys import KEYS_BY_NAME, KeyError_

#: Layers a mapping can come from. ``user`` may only set scope-``any`` keys;
#: ``replay`` may set every key except the file-structure (meta) keys.
LAYERS = ("machine", "user", "replay")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy source. ``line`` is 1-based, 0 if unknown."""

    file: str
    line: int
    message: str
    severity: str = "error"   # error | warning

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "message": self.message, "severity": self.severity}


def validate_mapping(mapping: Mapping[str, Any], origin: str,
                     lines: Optional[Mapping[str, int]] = None,
                     layer: str = "machine") -> Tuple[Dict[str, Any], List[Problem]]:
    """Validate ``mapping`` (key -> value) from ``origin``.

    Returns ``(values, problems)``: ``values`` holds the normalized valid
    keys only; each invalid or unknown key becomes a Problem naming
    ``origin`` and, when ``lines`` has it, the key's line. Unknown keys are
    warnings (ignored), bad values are errors (the key is dropped).
    """
    lines = lines or {}
    values: Dict[str, Any] = {}
    problems: List[Problem] = []
    if not isinstance(mapping, Mapping):
        return values, [Problem(origin, 1, "the policy must be a mapping of key: value")]
    for name, raw in mapping.items():
        line = int(lines.get(name, 0) or 0)
        key = KEYS_BY_NAME.get(name) if isinstance(name, str) else None
        if key is None:
            near = _closest(str(name))
            hint = f" (did you mean {near}?)" if near else ""
            problems.append(Problem(origin, line, f"unknown key {name!r} ignored{hint}", "warning"))
            continue
        if key.scope == "meta" and layer != "machine":
            problems.append(Problem(origin, line, f"{name}: only the machine policy can lock keys"))
            continue
        if key.scope == "machine" and layer == "user":
            problems.append(Problem(origin, line,
                                    f"{name}: only the machine policy may set this key; "
                                    "ask your IT administrator"))
            continue
        try:
            values[name] = key.check(copy.deepcopy(raw))
        except KeyError_ as e:
            problems.append(Problem(origin, line, f"{name}: {e}"))
    return values, problems


def _closest(name: str) -> Optional[str]:
    import difflib
    found = difflib.get_close_matches(name, list(KEYS_BY_NAME), n=1, cutoff=0.75)
    return found[0] if found else None


def parse_yaml_text(text: str, origin: str) -> Tuple[Optional[dict], Dict[str, int], List[Problem]]:
    """Parse a policy YAML document keeping each top-level key's line.

    Returns ``(mapping or None, lines, problems)``; a syntax error or a
    non-mapping document gives ``None`` and one problem with its line.
    Duplicate keys are reported (YAML would silently keep the last one).
    """
    problems: List[Problem] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = mark.line + 1 if mark else 0
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        return None, {}, [Problem(origin, line, f"not valid YAML: {reason}")]
    if node is None:
        return {}, {}, []
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        return None, {}, [Problem(origin, node.start_mark.line + 1,
                                  "the policy must be a mapping of key: value")]
    lines: Dict[str, int] = {}
    for key_node, _ in node.value:
        name = key_node.value
        line = key_node.start_mark.line + 1
        if name in lines:
            problems.append(Problem(origin, line, f"{name}: set twice (first on line {lines[name]}); "
                                                  "the later value would win, remove one"))
        lines.setdefault(name, line)
    return data, lines, problems


def validate_file(path: str, layer: str = "machine") -> Tuple[Optional[dict], Dict[str, int], List[Problem]]:
    """Read and validate one policy YAML file.

    Returns ``(values or None, lines, problems)``; ``None`` means the file
    could not be read or parsed at all.
    """
    try:
        with open(path, "r", encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as e:
        return None, {}, [Problem(path, 0, f"cannot read: {e.strerror or e}")]
    except UnicodeDecodeError:
        return None, {}, [Problem(path, 0, "not UTF-8 text; save the file as UTF-8")]
    data, lines, problems = parse_yaml_text(text, path)
    if data is None:
        return None, lines, problems
    values, more = validate_mapping(data, path, lines, layer)
    return values, lines, problems + more
