"""agent.sourcefile: the one reader of signatures, policy, settings and scenarios.

Lines on nested nodes, every problem collected in one run, repeated keys
found by every entry point (replay --policy too), and snapshots read and
written from the model's own fields.
"""

import argparse
import dataclasses
import io
import subprocess
import sys
import textwrap
import typing

import yaml

from agent import model
from agent.commands import replay
from agent.engine.policy import EnginePolicy
from agent.policy.keys import KEYS_BY_NAME
from agent.policy.validate import validate_file
from agent.signatures.loader import SignatureError, load_signatures
from agent.snapshot_io import fields_of, parse_scenario, snapshot_to_dict
from agent.sourcefile import NodeReader, Problem, SourceError, compose, line_of

ROOT = __file__.rsplit("/tests/", 1)[0]


def _write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_nested_nodes_carry_their_lines():
    root, problems = compose("a:\n  b:\n    - x\n    - {c: [1, {d: deep}]}\n", "f.yaml")
    assert not problems
    b = root.value[0][1].value[0][1]
    inner = b.value[1].value[0][1].value[1].value[0][1]
    assert (line_of(root), line_of(b), line_of(b.value[1]), line_of(inner)) == (1, 3, 4, 4)
    assert inner.value == "deep"


def test_typed_accessors_collect_every_problem():
    root, _ = compose("a: x\nb: [1]\nc: maybe\nd: 1.0e999\n", "f.yaml")
    reader = NodeReader("f.yaml")
    values = reader.mapping(root, ("a", "b", "c", "d"), "top")
    assert reader.integer(values["a"], "a") is None
    assert reader.string(values["b"], "b") is None
    assert reader.boolean(values["c"], "c") is None
    assert reader.number(values["d"], "d") is None
    assert [(p.line, p.message.split(" ")[0]) for p in reader.problems] == [(1, "a"), (2, "b"), (3, "c"), (4, "d")]
    assert all(isinstance(p, Problem) and p.file == "f.yaml" for p in reader.problems)


def test_one_problem_type_everywhere(tmp_path):
    from agent.policy.validate import Problem as PolicyProblem
    from agent.signatures.loader import Problem as SignatureProblem

    assert PolicyProblem is Problem and SignatureProblem is Problem
    assert issubclass(SignatureError, SourceError)


def test_repeated_keys_are_found_at_every_level(tmp_path):
    root, problems = compose("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "f.yaml")
    assert [(p.line, p.message) for p in problems] == [
        (4, "c: set twice (first on line 3); the later value would win, remove one"),
        (5, "a: set twice (first on line 1); the later value would win, remove one"),
    ]


def test_signature_problems_of_every_file_in_one_run(tmp_path):
    _write(tmp_path / "a.yaml", """\
        schema: 1
        family: apps
        apps:
          - {id: x, kind: meeting, name: {en: X, zh_CN: X}, source: t, processes: [x], colour: red}
          - {id: y, kind: nope, name: {en: Y, zh_CN: Y}, source: t, processes: [y]}
        """)
    _write(tmp_path / "b.yaml", "schema: 1\nfamily: finance\nfamily: apps\n")
    try:
        load_signatures(str(tmp_path))
    except SignatureError as exc:
        where = sorted((p.file.rsplit("/", 1)[-1], p.line) for p in exc.problems)
    else:
        raise AssertionError("bad signatures loaded")
    assert ("a.yaml", 4) in where and ("a.yaml", 5) in where and ("b.yaml", 3) in where


def test_policy_file_reports_every_bad_key_with_nested_lines(tmp_path):
    path = _write(tmp_path / "p.yaml", """\
        mode: paranoid
        hotlines:
          cn: 96110
          hk: [1]
        sinks:
          - {type: file}
          - {type: http}
        """)
    values, _, problems = validate_file(path)
    got = {(p.line, p.message.split(":")[0]) for p in problems}
    assert got == {(1, "mode"), (4, "hotlines"), (7, "sinks")}
    assert values == {}


def run_replay(tmp_path, scenario, policy=None):
    case = _write(tmp_path / "case.yaml", scenario)
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(files=[case], json=True, signatures=None, policy=policy, quiet_warnings=False)
    return replay.run(args, out, err), out.getvalue(), err.getvalue()


def test_replay_policy_file_finds_repeated_keys(tmp_path):
    pol = _write(tmp_path / "policy.yaml", "mode: strict\nsnooze_minutes: 5\nmode: monitor\n")
    status, out, err = run_replay(tmp_path, "platform: linux\nprocesses: []\n", policy=pol)
    assert status == 2 and out == ""
    assert f"{pol}:3: mode: set twice (first on line 1); the later value would win, remove one" in err


def test_scenario_policy_finds_repeated_keys(tmp_path):
    status, _, err = run_replay(tmp_path, "policy:\n  mode: strict\n  mode: monitor\nprocesses: []\n")
    assert status == 2 and "case.yaml:3: mode: set twice" in err


def test_scenario_reports_every_problem_in_file_order(tmp_path):
    status, out, err = run_replay(tmp_path, """\
        steps:
          - processes:
              - {pid: abc, name: x}
              - {pid: 1}
            windows: {a: 1}
          - events: [{action: panic}]
        """)
    assert status == 2 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("shareguard replay:")]
    assert [line.split(":")[2] for line in lines] == ["3", "4", "5", "6"], err
    assert "step 1: events[0].action: unknown action 'panic'" in lines[3]


def _sample(cls, depth=0):
    """An instance of a model record with every field set to a non-default value."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if typing.get_origin(hint) is typing.Union:
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        spec = next(s for s in fields_of(cls) if s.name == f.name)
        if spec.choices:
            value = spec.choices[-1]
        elif typing.get_origin(hint) is tuple:
            item = typing.get_args(hint)[0]
            if item is str:
                value = ("a", "b")
            elif dataclasses.is_dataclass(item):
                value = (_sample(item, depth + 1),)
            else:
                value = (("x", "why"),)
        elif dataclasses.is_dataclass(hint):
            value = _sample(hint, depth + 1)
        else:
            value = {int: 7, float: 2.5, str: "text", bool: f.default is not True}[hint]
        kwargs[f.name] = value
    return cls(**kwargs)


def test_every_model_field_survives_a_replay_file():
    snap = _sample(model.Snapshot)
    data = snapshot_to_dict(snap)
    (back,) = parse_scenario(yaml.safe_load(yaml.safe_dump(data)), "x.yaml").steps
    assert back == snap


def test_replay_help_lists_every_snapshot_list_and_field():
    helptext = subprocess.run([sys.executable, "-m", "agent", "replay", "--help"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60).stdout
    flat = " ".join(helptext.split())
    for spec in fields_of(model.Snapshot):
        if spec.kind == "records":
            assert f"{spec.key}[]" in flat
            for field in fields_of(spec.record):
                assert field.key in flat
    assert "devices[] {device: microphone|camera (required)" in flat


def test_engine_policy_defaults_are_the_key_table_defaults():
    for f in dataclasses.fields(EnginePolicy):
        default = KEYS_BY_NAME[f.name].default
        assert f.default == (tuple(default) if isinstance(default, list) else default), f.name
