"""``shareguard replay``: drive the engine from scenario files.

The contract (docs/replay.md): each file
is one snapshot or ``steps:``; every file gets a fresh engine; each step
prints one verdict (``--json``: one JSON object per line). Bad files give a
clear error naming file, line, step and field, and exit status 2; the other
files are still replayed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, Iterator, Optional, TextIO, Tuple

from agent.engine import Engine
from agent.engine.policy import EnginePolicy, engine_policy_from_mapping
from agent.model import PLATFORMS, Verdict
from agent.policy.validate import validate_node
from agent.signatures.model import SignatureSet
from agent.snapshot_io import DEFAULT_PLATFORM, Scenario, ended_map, fields_help, load_scenario, without_pids
from agent.sourcefile import Problem, SourceError, errors, load_file, printable

EXIT_OK, EXIT_BAD_INPUT = 0, 2

NAME = "replay"
HELP = "replay scenario files through the engine"
DESCRIPTION = """\
Replay recorded or hand-written situations through the decision engine.

A FILE is YAML or JSON: one snapshot at the top level, or `steps:`, a list of
snapshots replayed in order through one engine (snoozes and first-seen apps
carry across steps). Keys: platform ({platforms}, default {default}),
policy (overrides, same keys as the policy file), steps[].at (seconds), and
these lists, each optional:
{fields}

Output (--json): one object per step per line:
  {{"file", "step", "alert", "level", "shares": [{{app, kind, state, pids,
  evidence}}], "sensitive": [{{id, name, category, pids, evidence, basis:
  own|impersonation}}], "mentions": [...], "reasons", "actions", ...}}
Exit status: 0 when every file replayed, 2 when a file is invalid.
Full reference: docs/replay.md.
""".format(fields=fields_help(), platforms="|".join(PLATFORMS), default=DEFAULT_PLATFORM)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shareguard replay``."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario files (YAML or JSON)")
    parser.add_argument("--json", action="store_true", help="one JSON verdict per step per line")
    parser.add_argument("--signatures", metavar="PATH", help="signature directory or file (default: built-in)")
    parser.add_argument("--policy", metavar="FILE",
                        help="a policy file to replay under (the scenario's own `policy:` still overrides it)")
    parser.add_argument("--quiet-warnings", action="store_true", help="do not print unknown-key warnings")


# -- policy --------------------------------------------------------------------
def _policy_for(scenario: Scenario, base: Dict[str, Any]) -> EnginePolicy:
    """The scenario's ``policy:`` over ``base``, validated with the key table (docs/policy.md)."""
    values, _, problems = validate_node(scenario.policy_node, scenario.file, layer="replay")
    if errors(problems):
        raise SourceError(errors(problems))
    merged = dict(base)
    merged.update(values or {})
    try:
        return engine_policy_from_mapping(merged)
    except ValueError as exc:
        raise SourceError([Problem(scenario.file, scenario.policy_lines.get("mode", 0),
                                   f"policy.mode: {exc}")]) from None


def _load_policy_file(path: str) -> Dict[str, Any]:
    """``--policy FILE``: read like any policy file (repeated keys and nested lines included)."""
    node, problems = load_file(path)
    values, _, more = validate_node(node, printable(path), layer="replay") \
        if node is not None or not errors(problems) else (None, {}, [])
    if errors(problems + more) or values is None:
        raise SourceError(errors(problems + more) or [Problem(path, 1, "a policy file is a mapping of keys to values")])
    return values


# -- replay ----------------------------------------------------------------------
def replay_scenario(scenario: Scenario, signatures: SignatureSet,
                    base_policy: Optional[Dict[str, Any]] = None) -> Iterator[Tuple[int, Verdict]]:
    """Yield ``(step, verdict)`` for every step, through one engine.

    ``stop_sharing`` takes effect for later steps: the processes the verdict
    ended (and their windows, sockets and capture facts) are removed.
    """
    engine = Engine(signatures, _policy_for(scenario, base_policy or {}))
    ended: Dict[int, Optional[float]] = {}
    for index, snapshot in enumerate(scenario.steps):
        snapshot = without_pids(snapshot, ended)
        verdict = engine.evaluate(snapshot)
        if verdict.end_pids:
            ended.update(ended_map(verdict.end_pids, snapshot))
        yield index, verdict


def verdict_record(file: str, step: int, verdict: Verdict) -> Dict[str, Any]:
    """The JSON object of one step, keys in contract order."""
    out: Dict[str, Any] = {"file": printable(file), "step": step}
    out.update(verdict.to_json())
    return out


def _print_human(out: TextIO, file: str, step: int, verdict: Verdict) -> None:
    flag = "ALERT" if verdict.alert else "     "
    print(f"{printable(file)} step {step}: {flag} level={verdict.level}", file=out)
    for s in verdict.shares:
        trusted = " (trusted)" if s.trusted else ""
        print(f"    share     {s.app:<18} {s.kind:<15} {s.state:<11} pids={list(s.pids)} "
              f"evidence={', '.join(s.evidence)}{trusted}", file=out)
    for found in verdict.sensitive:
        print(f"    sensitive {found.id:<18} {found.category:<15} {found.name} ({found.evidence})", file=out)
    for r in verdict.reasons:
        print(f"    reason    {r}", file=out)
    if verdict.actions:
        print(f"    actions   {', '.join(verdict.actions)}", file=out)


def run(args: argparse.Namespace, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """Entry point of ``shareguard replay``."""
    out = out or sys.stdout
    err = err or sys.stderr
    from agent.signatures.loader import SignatureError, load_signatures

    try:
        signatures = load_signatures(args.signatures)
    except SignatureError as exc:
        print(f"shareguard replay: signatures are invalid:\n{exc}", file=err)
        return EXIT_BAD_INPUT
    try:
        base = _load_policy_file(args.policy) if args.policy else {}
    except SourceError as exc:
        _print_problems(err, exc)
        return EXIT_BAD_INPUT
    status = EXIT_OK
    for path in args.files:
        try:
            scenario = load_scenario(path)
            if not args.quiet_warnings:
                for warning in scenario.warnings:
                    print(f"warning: {warning}", file=err)
            for step, verdict in replay_scenario(scenario, signatures, base):
                if args.json:
                    print(json.dumps(verdict_record(path, step, verdict), ensure_ascii=False), file=out)
                else:
                    _print_human(out, path, step, verdict)
            out.flush()
        except SourceError as exc:
            _print_problems(err, exc)
            status = EXIT_BAD_INPUT
    return status


def _print_problems(err: TextIO, exc: SourceError) -> None:
    for problem in exc.problems:
        print(f"shareguard replay: {problem}", file=err)
