"""Checking replayed verdicts against a scenario's top-level ``expect:`` list.

Each item: ``{step: N, alert: bool, level: str, shares_state: {app: state},
sensitive: [ids], mentions: [ids], basis: {id: own|impersonation}, actions: [must be present], freeze_pids: [...],
end_pids: [...]}``; any key may be left out. Used by the scenario and the
platform-fixture tests so both read expectations the same way.
"""

from __future__ import annotations

from typing import Any, Dict, List

from agent.commands.replay import replay_scenario
from agent.model import Verdict
from agent.snapshot_io import load_scenario


def check_verdict(verdict: Verdict, expected: Dict[str, Any], where: str) -> List[str]:
    """Problems (empty when the verdict meets every stated expectation)."""
    problems = []
    why = f"(reasons: {list(verdict.reasons)})"
    for key in ("alert", "level"):
        if key in expected and getattr(verdict, key) != expected[key]:
            problems.append(f"{where}: {key} is {getattr(verdict, key)!r}, expected {expected[key]!r} {why}")
    states = {s.app: s.state for s in verdict.shares}
    for app, state in (expected.get("shares_state") or {}).items():
        if states.get(app) != state:
            problems.append(f"{where}: {app} is {states.get(app)!r}, expected {state!r} (shares: {states})")
    if "sensitive" in expected:
        ids = sorted(s.id for s in verdict.sensitive)
        if ids != sorted(expected["sensitive"]):
            problems.append(f"{where}: sensitive is {ids}, expected {sorted(expected['sensitive'])}")
    if "mentions" in expected:
        ids = sorted(m.id for m in verdict.mentions)
        if ids != sorted(expected["mentions"]):
            problems.append(f"{where}: mentions are {ids}, expected {sorted(expected['mentions'])}")
    if "basis" in expected:
        bases = {s.id: s.basis for s in verdict.sensitive}
        for ident, basis in expected["basis"].items():
            if bases.get(ident) != basis:
                problems.append(f"{where}: {ident} basis is {bases.get(ident)!r}, expected {basis!r}")
    missing = [a for a in expected.get("actions", ()) if a not in verdict.actions]
    if missing:
        problems.append(f"{where}: actions {list(verdict.actions)} lack {missing}")
    for key in ("freeze_pids", "end_pids"):
        if key in expected and list(getattr(verdict, key)) != list(expected[key]):
            problems.append(f"{where}: {key} is {list(getattr(verdict, key))}, expected {expected[key]}")
    return problems


def replay_and_check(path: str, signatures, name: str) -> List[str]:
    """Replay ``path`` exactly as ``shareguard replay`` does and check its ``expect:``."""
    scenario = load_scenario(path)
    assert scenario.expect, f"{name}: the scenario states no expected verdicts"
    verdicts = dict(replay_scenario(scenario, signatures))
    problems = []
    for expected in scenario.expect:
        problems += check_verdict(verdicts[expected["step"]], expected, f"{name} step {expected['step']}")
    return problems
