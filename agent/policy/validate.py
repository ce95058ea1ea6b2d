"""Check a policy mapping against the key table, with file:line problems.

Used for machine files, user settings, registry/MDM values and the
``policy:`` mapping of replay scenarios, so every entry point reports the
same way: "file:line: key: what is wrong and what to write instead".
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from agent.policy.keys import KEYS_BY_NAME, KeyError_
from agent.sourcefile import Problem, brief, errors, line_of, load_file, printable, to_python

#: Layers a mapping can come from. ``user`` may only set scope-``any`` keys;
#: ``replay`` may set every key except the file-structure (meta) keys.
LAYERS = ("machine", "user", "replay")

__all__ = ["LAYERS", "Problem", "validate_mapping", "validate_node", "validate_file"]


def validate_mapping(mapping: Mapping[str, Any], origin: str,
                     lines: Optional[Mapping[str, int]] = None,
                     layer: str = "machine",
                     nodes: Optional[Mapping[str, yaml.Node]] = None) -> Tuple[Dict[str, Any], List[Problem]]:
    """Validate ``mapping`` (key -> value) from ``origin``.

    Returns ``(values, problems)``: ``values`` holds the normalized valid
    keys only; each invalid or unknown key becomes a Problem naming
    ``origin`` and, when ``lines`` has it, the key's line (or, with
    ``nodes``, the line of the nested value at fault). Unknown keys are
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
            near = _closest(name) if isinstance(name, str) and len(name) < 100 else None
            hint = f" (did you mean {near}?)" if near else ""
            problems.append(Problem(origin, line, f"unknown key {brief(name)} ignored{hint}", "warning"))
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
            if nodes is not None and name in nodes and e.at:
                line = _line_at(nodes[name], e.at) or line
            problems.append(Problem(origin, line, f"{name}: {e}"))
    return values, problems


def _line_at(node: yaml.Node, path: Sequence[Any]) -> int:
    """The line of the value ``path`` (list indexes, mapping keys) leads to under ``node``."""
    for step in path:
        if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
        elif isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(step)]
            if not found:
                break
            node = found[-1]
        else:
            break
    return line_of(node)


def _closest(name: str) -> Optional[str]:
    import difflib
    found = difflib.get_close_matches(name, list(KEYS_BY_NAME), n=1, cutoff=0.75)
    return found[0] if found else None


def validate_node(node: Optional[yaml.Node], origin: str,
                  layer: str = "machine") -> Tuple[Optional[Dict[str, Any]], Dict[str, int], List[Problem]]:
    """Validate a policy document composed by :func:`agent.sourcefile.compose`.

    Returns ``(values or None, lines, problems)``: None when the document
    is not a mapping at all; ``lines`` maps each key to its line.
    """
    if node is None:
        return {}, {}, []
    if not isinstance(node, yaml.MappingNode):
        return None, {}, [Problem(origin, line_of(node), "the policy must be a mapping of key: value")]
    problems: List[Problem] = []
    data: Dict[str, Any] = {}
    lines: Dict[str, int] = {}
    nodes: Dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(Problem(origin, line_of(key_node), "a key must be a plain name, not a list or mapping"))
            continue
        name = key_node.value
        # The later of two equal keys wins, as in YAML (compose reported the repeat).
        data[name] = to_python(value_node, origin, problems)
        lines[name] = line_of(key_node)
        nodes[name] = value_node
    values, more = validate_mapping(data, origin, lines, layer, nodes)
    return values, lines, problems + more


def validate_file(path: str, layer: str = "machine") -> Tuple[Optional[dict], Dict[str, int], List[Problem]]:
    """Read and validate one policy YAML file (bounded: agent.sourcefile).

    Returns ``(values or None, lines, problems)``; ``None`` means the file
    could not be read or parsed at all.
    """
    node, problems = load_file(path, printable(path))
    if node is None and errors(problems):
        return None, {}, problems
    values, lines, more = validate_node(node, printable(path), layer)
    return values, lines, problems + more
