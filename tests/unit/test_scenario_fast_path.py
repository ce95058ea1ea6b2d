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


# -- records reused between steps (JSON: snapshot_io._ValueReader.records) ----------------------

PROCS = [{"pid": 10 + i, "name": f"svc{i}.exe", "create_time": 1.5e9 + i} for i in range(5)]
WINDOWS = [{"title": f"Doc {i} - Notepad", "pid": 10 + i} for i in range(3)]


def write_json(tmp_path, steps, name="steps.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"platform": "windows", "steps": steps}, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_unchanged_records_are_the_same_objects_from_step_to_step(tmp_path):
    changed = PROCS[:2] + [{"pid": 99, "name": "rustdesk.exe", "cmdline": ["rustdesk.exe", "--cm"]}] + PROCS[2:]
    steps = [{"at": 0, "processes": PROCS, "windows": WINDOWS},
             {"at": 1, "processes": PROCS, "windows": WINDOWS},
             {"at": 2, "processes": changed, "windows": WINDOWS[:2]}]
    path = write_json(tmp_path, steps)
    got = load_scenario(path)
    same(got, slow(path))
    a, b, c = got.steps
    assert a.processes is b.processes and a.windows is b.windows       # equal lists: the same tuple
    assert all(x is y for x, y in zip(a.processes, c.processes[:2] + c.processes[3:], strict=True))  # equal records
    assert c.processes[2].name == "rustdesk.exe" and c.processes[2].cmdline == ("rustdesk.exe", "--cm")
    assert c.windows == a.windows[:2] and c.windows[0] is a.windows[0]


@pytest.mark.parametrize("later", [
    {"pid": True, "name": "svc0.exe"},         # true == 1 in Python: must still be refused
    {"pid": 10.0, "name": "svc0.exe"},         # 10.0 == 10
    {"pid": 10, "name": "svc0.exe", "create_time": None, "user": 5},
], ids=["bool-for-int", "float-for-int", "int-for-text"])
def test_a_value_equal_but_of_another_type_is_still_judged(later, tmp_path):
    first = [{"pid": 1, "name": "svc0.exe"}] if later["pid"] is True else [{"pid": 10, "name": "svc0.exe"}]
    path = write_json(tmp_path, [{"at": 0, "processes": first}, {"at": 1, "processes": [later]}])
    with pytest.raises(SourceError) as got:
        load_scenario(path)
    with pytest.raises(SourceError) as want:
        slow(path)
    assert str(got.value) == str(want.value) and "step 1" in str(got.value)


def test_a_bool_repeated_as_a_number_in_a_bool_field_is_refused(tmp_path):
    path = write_json(tmp_path, [{"at": 0, "windows": [{"title": "a", "visible": True}]},
                                 {"at": 1, "windows": [{"title": "a", "visible": 1}]}])
    with pytest.raises(SourceError) as got:
        load_scenario(path)
    assert "step 1" in str(got.value) and "visible" in str(got.value)


def test_processes_without_pid_keep_their_place_numbers_when_reused(tmp_path):
    nameless = {"name": "anon.exe"}
    path = write_json(tmp_path, [{"at": 0, "processes": [nameless, PROCS[0]]},
                                 {"at": 1, "processes": [PROCS[0], nameless]}])
    got = load_scenario(path)
    same(got, slow(path))
    assert [p.pid for p in got.steps[0].processes] == [-1, 10]
    assert [p.pid for p in got.steps[1].processes] == [10, -2]


def test_reused_lists_still_count_against_the_value_limit(tmp_path, monkeypatch):
    # Each step repeats the same list: every repetition counts as read, so the limit still sends the file
    # the slow way (where it is reported) instead of being passed by reuse.
    from agent import sourcefile

    monkeypatch.setattr(snapshot_io, "MAX_NODES", 400)
    steps = [{"at": i, "processes": PROCS} for i in range(12)]  # 12 x (1 + 5 x 7) values > 400 / 2
    reader = snapshot_io._ValueReader(reuse=True)
    with pytest.raises(Doubt):
        reader.scenario(plain_values(json.dumps({"steps": steps}), True), "x.json")
    assert sourcefile.MAX_NODES != 400  # only the reader's copy was lowered


def _type_twin(rng, records: list) -> list:
    """``records`` with one number or boolean replaced by an equal value of another type (1 -> 1.0 or
    true, 2.0 -> 2, true -> 1): equal by ``==``, not what the file says."""
    out = json.loads(json.dumps(records))
    spots = [(r, k) for r in out for k, v in r.items() if type(v) in (int, float, bool)]
    if spots:
        rec, key = rng.choice(spots)
        value = rec[key]
        others = {int: [float(value), bool(value % 2)], float: [int(value)], bool: [int(value), float(value)]}
        rec[key] = rng.choice(others[type(value)])
    return out


def test_reuse_between_steps_reads_every_file_as_the_slow_path(tmp_path):
    """Differential: steps that repeat, reorder, shorten or type-twin the last step's lists read
    exactly as the line-numbered reader reads them (same steps and warnings, or the same errors)."""
    import random

    rng = random.Random(13)
    outcomes = set()
    for case in range(250):
        processes = [{"pid": 10 + i, "name": f"p{i}.exe", "create_time": float(i), "ppid": 1}
                     for i in range(rng.randrange(1, 4))]
        lists = {
            "processes": processes + ([{"name": "nopid.exe"}] if rng.random() < 0.3 else []),
            "windows": [{"title": f"w{i}", "pid": 10 + i, "visible": True, "id": 100 + i}
                        for i in range(rng.randrange(3))],
            "connections": [{"pid": 10, "remote": "1.2.3.4:443", "status": "ESTABLISHED"}],
        }
        steps = []
        for i in range(rng.randrange(2, 6)):
            step: dict = {"at": i}
            for name, records in lists.items():
                x = rng.random()
                step[name] = (_type_twin(rng, records) if x < 0.1 else records[::-1] if x < 0.2
                              else records[:-1] if x < 0.3 else records)
            steps.append(step)
        path = write_json(tmp_path, steps, f"case{case}.json")
        try:
            got = ("ok", load_scenario(path).steps)
        except SourceError as exc:
            got = ("error", str(exc))
        try:
            want = ("ok", slow(path).steps)
        except SourceError as exc:
            want = ("error", str(exc))
        assert got == want, json.dumps(steps)
        outcomes.add(got[0])
    assert outcomes == {"ok", "error"}
