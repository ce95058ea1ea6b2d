"""End-to-end situations (tests/scenarios/*.yaml) replayed as `shareguard replay` does.

Each scenario states its expected verdicts in a top-level `expect:` list
(tests/support/expectations.py); they cover the routine from install to
"stop sharing", a call that is not a share, look-alike titles, OS capture,
modes and trusted apps.
"""

import glob
import os

import pytest

from agent.signatures.loader import load_signatures
from tests.support.expectations import replay_and_check

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = sorted(glob.glob(os.path.join(HERE, "..", "scenarios", "*.yaml")))


@pytest.fixture(scope="module")
def signatures():
    return load_signatures()


def test_there_are_scenarios():
    assert len(SCENARIOS) >= 5


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: os.path.basename(p)[:-5])
def test_scenario(path, signatures):
    problems = replay_and_check(path, signatures, os.path.basename(path))
    assert not problems, "\n".join(problems)
