"""The engine's memos (per window, title and process name) never change a verdict.

One engine is warmed with every scenario step and every title case, so its
memos are full and shared across unrelated inputs; its verdicts must equal
those of an engine that forgets every memo before each snapshot.
"""

from __future__ import annotations

import glob
import os
from typing import Dict, List, Optional

import pytest
import yaml

from agent.commands.replay import _policy_for
from agent.engine import Engine
from agent.model import ProcessInfo, Snapshot, Verdict, WindowInfo
from agent.signatures.loader import load_signatures
from agent.snapshot_io import ended_map, load_scenario, without_pids

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = sorted(glob.glob(os.path.join(ROOT, "tests", "scenarios", "*.yaml")))
with open(os.path.join(ROOT, "tests", "fixtures", "title_cases.yaml"), encoding="utf-8") as _f:
    CASES = yaml.safe_load(_f)
SIGS = load_signatures()


class ForgetfulEngine(Engine):
    """An engine judging every snapshot from scratch: all memos dropped first."""

    def evaluate(self, snapshot: Snapshot) -> Verdict:
        self.set_policy(self.policy)  # drops every memo of the compiled matchers
        return super().evaluate(snapshot)


def title_snapshot(case: dict) -> Snapshot:
    proc = ProcessInfo(pid=10, name=case.get("process") or "app", create_time=1.0)
    return Snapshot(platform=case.get("platform", "windows"), time=0.0, processes=(proc,),
                    windows=(WindowInfo(case["title"], pid=10),))


def replay(engine: Engine, steps: List[Snapshot]) -> List[Verdict]:
    """As ``shareguard replay``: a verdict per step, ended processes gone from later steps."""
    ended: Dict[int, Optional[float]] = {}
    out = []
    for snapshot in steps:
        snapshot = without_pids(snapshot, ended)
        verdict = engine.evaluate(snapshot)
        if verdict.end_pids:
            ended.update(ended_map(verdict.end_pids, snapshot))
        out.append(verdict)
    return out


@pytest.fixture(scope="module")
def warm() -> Engine:
    """An engine whose memos hold every scenario's windows and every title case."""
    engine = Engine(SIGS)
    for path in SCENARIOS:
        for snapshot in load_scenario(path).steps:
            engine.evaluate(snapshot)
    for case in CASES["positive"] + CASES["negative"]:
        engine.evaluate(title_snapshot(case))
    return engine


def memoized_like(warm: Engine, policy) -> Engine:
    """A new engine (own session state) sharing the warm engine's compiled matchers and memos."""
    engine = Engine(SIGS, policy)
    engine._compiled = warm._compiled
    return engine


def test_the_warm_engine_remembers(warm):
    grader, matcher = warm.compiled("windows")
    assert len(grader._window_memo) > 0 and len(matcher._cache) > 0


@pytest.mark.parametrize("path", SCENARIOS, ids=os.path.basename)
def test_memoized_verdicts_equal_fresh_ones_on_every_scenario(path, warm):
    scenario = load_scenario(path)
    policy = _policy_for(scenario, {})
    got = replay(memoized_like(warm, policy), scenario.steps)
    # set_policy in a run must not change anything either: the memos start afresh, the verdicts stay.
    assert got == replay(ForgetfulEngine(SIGS, policy), scenario.steps)


@pytest.mark.parametrize("group", ["positive", "negative"])
def test_memoized_verdicts_equal_fresh_ones_on_every_title_case(group, warm):
    engine, fresh = memoized_like(warm, None), ForgetfulEngine(SIGS)
    differ = [case["title"] for case in CASES[group]
              if engine.evaluate(title_snapshot(case)) != fresh.evaluate(title_snapshot(case))]
    assert not differ
    assert len(CASES[group]) >= 30


def test_memos_are_bounded_and_forget_the_least_recently_used():
    from agent.engine.matching import LruMemo

    memo: LruMemo[int] = LruMemo(limit=3)
    for key in "abc":
        memo.put(key, ord(key))
    assert memo.get("a") == ord("a")      # "a" is now the most recent
    memo.put("d", 4)
    assert len(memo) == 3 and memo.get("b") is None and memo.get("a") == ord("a")
    memo.clear()
    assert len(memo) == 0
