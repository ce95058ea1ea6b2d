"""The scenario reader's fast path (plain values) builds exactly what the line-numbered reader builds.

A well-formed file is read by ``agent.sourcefile.plain_values`` and
``snapshot_io._ValueReader``; anything else goes the slow way. These tests
check both halves: the fast path is taken for plain files and gives the same
scenario, and a file with anything to report gives the slow path's messages.
"""

from __future__ import annotations

import glob
import json
import os

import pytest
import yaml

from agent import snapshot_io
from agent.snapshot_io import load_scenario, parse_scenario
from agent.sourcefile import Doubt, SourceError, compose, errors, plain_values, read_source

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = sorted(glob.glob(os.path.join(ROOT, "tests", "scenarios", "*.yaml")))


def slow(path: str) -> snapshot_io.Scenario:
    node, problems = compose(read_source(path), path)
    if node is None and errors(problems):
        raise SourceError(errors(problems))
    return parse_scenario(node, path, problems)


def fast(path: str) -> snapshot_io.Scenario:
    return snapshot_io._ValueReader().scenario(plain_values(read_source(path), path.endswith(".json")), path)


def same(a: snapshot_io.Scenario, b: snapshot_io.Scenario) -> None:
    def fields(s: snapshot_io.Scenario) -> tuple:
        return (s.platform, s.steps, s.expect, s.warnings, s.policy)

    assert fields(a) == fields(b)


def plain_copy(path: str, tmp_path, suffix: str) -> str:
    """The scenario at ``path`` without its policy (read with lines, so slow), as YAML or JSON."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data.pop("policy", None)
    out = str(tmp_path / (os.path.basename(path) + suffix))
    with open(out, "w", encoding="utf-8") as f:
        if suffix == ".json":
            json.dump(data, f, ensure_ascii=False, indent=1)
        else:
            yaml.safe_dump(data, f, allow_unicode=True, sort_keys=False)
    return out


def test_there_are_scenarios():
    assert len(SCENARIOS) >= 5


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("path", SCENARIOS, ids=os.path.basename)
def test_fast_path_builds_what_the_slow_path_builds(path, suffix, tmp_path):
    copy = plain_copy(path, tmp_path, suffix)
    got = fast(copy)               # taken: raises Doubt otherwise
    same(got, slow(copy))
    same(load_scenario(copy), got)


@pytest.mark.parametrize("path", SCENARIOS, ids=os.path.basename)
def test_shipped_scenarios_read_the_same_either_way(path):
    same(load_scenario(path), slow(path))


# Each is well-formed to a JSON or YAML parser yet has something the slow path reports or types otherwise.
DOUBTFUL = {
    "repeated.json": '{"processes": [{"pid": 1, "name": "a", "name": "b"}]}',
    "exponent.json": '{"at": 1e5, "processes": []}',
    "nan.json": '{"at": NaN}',
    "surrogate.json": '{"windows": [{"title": "\\ud800"}]}',
    "long_int.json": '{"processes": [{"pid": ' + "9" * 45 + ', "name": "a"}]}',
    "unknown.json": '{"processes": [{"pid": 1, "name": "a", "colour": "red"}]}',
    "bad_platform.json": '{"platform": "beos"}',
    "line_sep.json": '{"windows": [{"title": "a\u2028b"}]}',
    "repeated.yaml": "processes:\n  - {pid: 1, name: a}\nprocesses: []\n",
    "tagged.yaml": "windows:\n  - {title: !!binary aGk=}\n",
    "date.yaml": "windows:\n  - {title: 2026-01-02}\n",
    "long_int.yaml": "processes:\n  - {pid: " + "1_" * 44 + "1, name: a}\n",
    "merge.yaml": "base: &b {pid: 1}\nprocesses:\n  - {<<: *b, name: a}\n",
    "two_docs.yaml": "processes: []\n---\nprocesses: []\n",
    "missing.yaml": "processes:\n  - {pid: 1}\n",
    "laughs.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                   + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n"
                             for i in range(6)) + "notes: *g\n",
    "deep.yaml": "notes: " + "[" * 70 + "]" * 70 + "\n",
}


@pytest.mark.parametrize("name", sorted(DOUBTFUL))
def test_doubtful_files_go_the_slow_way(name, tmp_path):
    path = tmp_path / name
    path.write_text(DOUBTFUL[name], encoding="utf-8")
    with pytest.raises(Doubt):
        fast(str(path))
    try:
        expected = slow(str(path))
    except SourceError as exc:
        with pytest.raises(SourceError) as got:
            load_scenario(str(path))
        assert str(got.value) == str(exc)
    else:
        same(load_scenario(str(path)), expected)
