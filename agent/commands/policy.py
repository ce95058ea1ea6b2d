"""``shareguard policy show`` and ``shareguard policy validate FILE``."""

from __future__ import annotations

import argparse
import json
import sys

from agent import i18n

MESSAGES = i18n.register(__name__, {
    "show_help": {"en": "print the effective policy and where each value came from",
                  "zh_CN": "显示生效的策略及每个值的来源"},
    "validate_help": {"en": "check a policy file; prints file:line: problem, exit status 2 on errors",
                      "zh_CN": "检查策略文件；输出 文件:行号: 问题，有错误时退出码为 2"},
    "locked": {"en": "locked", "zh_CN": "已锁定"},
    "ok": {"en": "{file}: OK ({count} keys)", "zh_CN": "{file}: 没有问题（{count} 个键）"},
    "problems": {"en": "Problems:", "zh_CN": "问题："},
})


NAME = "policy"
HELP = "show or validate the policy (docs/policy.md)"
DESCRIPTION = HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sub-commands of ``shareguard policy``: ``show`` and ``validate``."""
    lang = i18n.detect_language()
    sub = parser.add_subparsers(dest="policy_command", metavar="ACTION")
    parser.set_defaults(policy_help=parser.print_help)
    show = sub.add_parser("show", help=i18n.tr(MESSAGES, "show_help", lang))
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.add_argument("--machine", metavar="FILE", help="machine policy file (default: the OS location)")
    show.add_argument("--user", metavar="FILE", help="user settings file (default: the platformdirs location)")
    validate = sub.add_parser("validate", help=i18n.tr(MESSAGES, "validate_help", lang))
    validate.add_argument("file")
    validate.add_argument("--user", action="store_true",
                          help="check it as a user settings file (machine-only keys are errors)")


def run(args: argparse.Namespace) -> int:
    """Run ``policy show`` or ``policy validate``; without one, print the usage and exit 2."""
    if args.policy_command == "show":
        return _show(args)
    if args.policy_command == "validate":
        return _validate(args)
    args.policy_help()
    return 2


def _show(args: argparse.Namespace) -> int:
    from agent.policy.loader import load_policy
    lang = i18n.detect_language()
    policy = load_policy(args.machine, args.user)
    if args.json:
        print(json.dumps(policy.to_json(), ensure_ascii=False, indent=2, sort_keys=True))
        return 0
    width = max(len(k) for k in policy.values)
    for key, value in policy.values.items():
        lock = f"  [{i18n.tr(MESSAGES, 'locked', lang)}]" if key in policy.locked else ""
        print(f"{key:<{width}}  {json.dumps(value, ensure_ascii=False)}  <- {policy.sources[key]}{lock}")
    if policy.problems:
        print("\n" + i18n.tr(MESSAGES, "problems", lang))
        for p in policy.problems:
            print(f"  {p}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from agent.policy.validate import validate_file
    from agent.sourcefile import printable
    lang = i18n.detect_language()
    values, _, problems = validate_file(args.file, layer="user" if args.user else "machine")
    for p in problems:
        print(f"{p}" + (" (warning)" if p.severity == "warning" else ""), file=sys.stderr)
    if values is None or any(p.severity == "error" for p in problems):
        return 2
    print(i18n.tr(MESSAGES, "ok", lang, file=printable(args.file), count=len(values)))
    return 0
