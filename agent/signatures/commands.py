"""``shareguard signatures validate | list`` (and ``bundle | verify`` from bundle_commands).

``validate`` is what a signature author or IT admin runs after editing a file:
it prints every problem as ``file:line: message`` and exits 2, or a one-line
summary and exits 0. ``list`` shows what the agent will look for.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from agent import i18n
from agent.signatures.model import APP_KINDS, SignatureSet

MESSAGES = i18n.register(__name__, {
    "help": {"en": "check or list the signature files", "zh_CN": "检查或列出特征文件"},
    "validate_help": {
        "en": "check signature files (default: the built-in set); exit 2 on problems",
        "zh_CN": "检查特征文件（默认：内置特征）；有问题时退出码为 2",
    },
    "path_help": {"en": "a signature directory or one .yaml file", "zh_CN": "特征目录或单个 .yaml 文件"},
    "list_help": {"en": "list the loaded app signatures and sensitive contexts", "zh_CN": "列出已加载的应用特征和敏感场景"},
    "kind_help": {
        "en": "only apps of this kind (meeting, remote_control, browser) or 'sensitive'",
        "zh_CN": "只列出此类应用（meeting、remote_control、browser）或 'sensitive'",
    },
    "json_help": {"en": "one JSON object per line", "zh_CN": "每行输出一个 JSON 对象"},
    "ok": {
        "en": "OK: {apps} apps, {contexts} sensitive contexts from {files} files (version {version})",
        "zh_CN": "正常：{apps} 个应用、{contexts} 个敏感场景，来自 {files} 个文件（版本 {version}）",
    },
    "problems": {
        "en": "{count} problem(s) in the signature files; fix them and run this command again:",
        "zh_CN": "特征文件中有 {count} 个问题；请修正后重新运行此命令：",
    },
})


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``signatures`` with its ``validate`` and ``list`` subcommands."""
    lang = i18n.detect_language()
    parser = subparsers.add_parser("signatures", help=i18n.tr(MESSAGES, "help", lang))
    sig_subparsers = parser.add_subparsers(dest="signatures_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: _usage(parser))

    validate = sig_subparsers.add_parser("validate", help=i18n.tr(MESSAGES, "validate_help", lang))
    validate.add_argument("path", nargs="?", default=None, help=i18n.tr(MESSAGES, "path_help", lang))
    validate.set_defaults(func=run_validate)

    listing = sig_subparsers.add_parser("list", help=i18n.tr(MESSAGES, "list_help", lang))
    listing.add_argument("path", nargs="?", default=None, help=i18n.tr(MESSAGES, "path_help", lang))
    listing.add_argument("--kind", choices=APP_KINDS + ("sensitive",), help=i18n.tr(MESSAGES, "kind_help", lang))
    listing.add_argument("--json", action="store_true", help=i18n.tr(MESSAGES, "json_help", lang))
    listing.set_defaults(func=run_list)

    try:
        # Another module adds `bundle` and `verify`; signatures work without it.
        from agent.signatures import bundle_commands
    except ImportError:
        bundle_commands = None
    if bundle_commands is not None:
        bundle_commands.add_parsers(sig_subparsers)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _load(path: Optional[str], lang: str) -> Optional[SignatureSet]:
    """Load or print the problems (stderr); None on problems."""
    from agent.signatures.loader import SignatureError, load_signatures

    try:
        return load_signatures(path)
    except SignatureError as exc:
        print(i18n.tr(MESSAGES, "problems", lang, count=len(exc.problems)), file=sys.stderr)
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return None


def run_validate(args: argparse.Namespace) -> int:
    """``shareguard signatures validate [PATH]``: 0 when clean, 2 with file:line problems."""
    lang = i18n.detect_language()
    signatures = _load(args.path, lang)
    if signatures is None:
        return 2
    print(i18n.tr(
        MESSAGES, "ok", lang, apps=len(signatures.apps), contexts=len(signatures.sensitive),
        files=len(signatures.files), version=signatures.version,
    ))
    return 0


def run_list(args: argparse.Namespace) -> int:
    """``shareguard signatures list``: one line (or JSON object) per app or sensitive context."""
    lang = i18n.detect_language()
    signatures = _load(args.path, lang)
    if signatures is None:
        return 2
    rows: List[dict] = []
    if args.kind != "sensitive":
        for app in signatures.apps:
            if args.kind and app.kind != args.kind:
                continue
            rows.append({
                "id": app.id, "kind": app.kind, "name": app.display_name(lang),
                "processes": [p.name for p in app.processes],
                "signals": [{"grade": s.grade, "label": s.label} for s in app.signals],
                "origin": app.origin,
            })
    if args.kind in (None, "sensitive"):
        for ctx in signatures.sensitive:
            rows.append({
                "id": ctx.id, "kind": "sensitive", "category": ctx.category, "name": ctx.display_name(lang),
                "region": ctx.region, "origin": ctx.origin,
            })
    for row in rows:
        if args.json:
            print(json.dumps(row, ensure_ascii=False, sort_keys=True))
        elif row["kind"] == "sensitive":
            print(f"{row['id']:<32} sensitive/{row['category']:<14} {row['name']}")
        else:
            grades = ",".join(sorted({s["grade"] for s in row["signals"]})) or "running"
            print(f"{row['id']:<32} {row['kind']:<24} {grades:<20} {row['name']}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run the ``signatures`` command group on its own (``python -m agent.signatures.commands``)."""
    parser = argparse.ArgumentParser(prog="shareguard")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["signatures"] + list(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
