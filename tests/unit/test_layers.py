"""Imports run one way: each module of agent/ imports only from its own layer or below.

    model < engine < signatures, policy, collectors < responders, ui, audit < runtime < app < commands < cli

The imports are read with ``ast`` from the source, so an import inside a
function (the lazy kind that hid the app <-> runtime and ui -> cli cycles)
counts like one at the top of the file; so does one under ``TYPE_CHECKING``.

Same-layer imports are allowed: the parts of one layer work together (a
responder records through the audit log and words its messages with the UI's
texts). What the layers cannot show is a cycle inside a layer, so a second
test requires the import graph between agent's packages (agent.audit,
agent.responders, ...) to have no cycle at all. Imports between modules of
one package are not checked: a package's ``__init__`` re-exporting its own
modules is not a cycle between parts.
"""

from __future__ import annotations

import ast
import os
from typing import Dict, List, Optional, Set, Tuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, "agent")

#: Bottom to top. A module belongs to the layer of the longest prefix that names it.
LAYERS: List[Tuple[str, Tuple[str, ...]]] = [
    # The data model, and leaf helpers that know nothing of detection: the
    # package version, translations, the source-file reader and snapshot files,
    # private state files and the single-instance lock, the list of processes
    # never to signal. The signature *model* (frozen dataclasses the engine
    # matches with) sits here too; loading signatures is a layer up.
    # agent.domains: registrable domains by the Public Suffix List (the engine judges page URLs
    # with it, the signature schema checks official domains with it).
    ("model", ("agent", "agent.model", "agent.signatures.model", "agent.i18n", "agent.sourcefile", "agent.domains",
               "agent.snapshot_io", "agent.state", "agent.safe_files", "agent.single_instance",
               "agent.protected_processes")),
    ("engine", ("agent.engine",)),
    # The browser companion is a source like the collectors: pages from the browsers.
    ("sources", ("agent.signatures", "agent.policy", "agent.collectors", "agent.companion")),
    # Everything that acts on verdicts; sinks are where audit events go.
    ("actors", ("agent.responders", "agent.ui", "agent.audit", "agent.sinks")),
    ("runtime", ("agent.runtime", "agent.alert_hold")),
    ("app", ("agent.app",)),
    ("commands", ("agent.commands",)),
    ("cli", ("agent.cli", "agent.__main__")),
]


def layer_of(module: str) -> Optional[int]:
    """Index of the layer ``module`` belongs to (None: not placed)."""
    best: Tuple[int, Optional[int]] = (-1, None)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # "agent" is the package itself (its version), not everything in it.
            covers = module == prefix or (prefix != "agent" and module.startswith(prefix + "."))
            if covers and len(prefix) > best[0]:
                best = (len(prefix), index)
    return best[1]


def agent_modules() -> Dict[str, str]:
    """Dotted name -> file, for every module of the agent package."""
    found = {}
    for folder, dirs, files in os.walk(AGENT):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = path
    return found


def imports_of(module: str, path: str, known: Set[str]) -> Set[str]:
    """The agent modules ``module`` imports anywhere in its file."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    out: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from agent.ui import messages` imports the module agent.ui.messages.
            names = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                     for alias in node.names]
        else:
            continue
        out.update(n for n in names if n == "agent" or n.startswith("agent."))
    return out


MODULES = agent_modules()
GRAPH = {m: imports_of(m, p, set(MODULES)) for m, p in MODULES.items()}


def test_every_module_is_placed_in_a_layer():
    unplaced = sorted(m for m in MODULES if layer_of(m) is None)
    assert not unplaced, (f"place these modules in LAYERS of {os.path.relpath(__file__, ROOT)} "
                          f"(which layer may they import from?): {unplaced}")


def test_imports_go_down_the_layers():
    wrong = []
    for module, imported in sorted(GRAPH.items()):
        here = layer_of(module)
        for target in sorted(imported):
            there = layer_of(target)
            if here is not None and there is not None and there > here:
                wrong.append(f"{module} ({LAYERS[here][0]}) imports {target} ({LAYERS[there][0]})")
    assert not wrong, "imports that go up the layers:\n  " + "\n  ".join(wrong)


def unit_of(module: str) -> str:
    """The part a module belongs to: agent.responders.audit -> agent.responders."""
    return ".".join(module.split(".")[:2])


def find_cycle(edges: Dict[str, Set[str]]) -> Optional[List[str]]:
    """One cycle of the directed graph ``edges`` as a list of nodes, or None."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(node: str) -> Optional[List[str]]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_no_import_cycle_between_parts():
    edges: Dict[str, Set[str]] = {}
    for module, imported in GRAPH.items():
        for target in imported:
            if unit_of(target) != unit_of(module) and unit_of(target) != "agent":
                edges.setdefault(unit_of(module), set()).add(unit_of(target))
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("source, expected", [
    ("from agent.ui import messages", {"agent.ui.messages"}),
    ("from agent.ui import RuntimeControls", {"agent.ui"}),
    ("def f():\n    import agent.app\n", {"agent.app"}),
    ("from . import base", {"agent.responders.base"}),
    ("import json\nfrom typing import Any", set()),
])
def test_the_import_reader_itself(tmp_path, source, expected):
    """The checks above are only as good as this reader: lazy and relative imports count."""
    path = tmp_path / "x.py"
    path.write_text(source, encoding="utf-8")
    assert imports_of("agent.responders.x", str(path), set(MODULES)) == expected


def test_the_checks_catch_what_they_are_for():
    assert layer_of("agent.runtime") > layer_of("agent.responders.base")
    assert layer_of("agent.signatures.model") < layer_of("agent.engine.shares") < layer_of("agent.signatures.loader")
    assert find_cycle({"agent.app": {"agent.runtime"}, "agent.runtime": {"agent.app"}}) is not None
    assert find_cycle({"agent.app": {"agent.runtime"}, "agent.runtime": {"agent.model"}}) is None
    assert layer_of("agent.something_new") is None  # a new module must be placed on purpose
