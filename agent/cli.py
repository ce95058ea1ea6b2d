"""The ``shareguard`` command: collects the commands of agent.commands.

Each command is one module with the same shape (see agent/commands/__init__.py);
this module only builds the parser from them and dispatches.
"""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Tuple

from agent import __version__
from agent.commands import Command, browser, native_host, policy, replay, run, scan, signatures
from agent.ui.protocol import UI_HELPER_FLAG

#: Every command, in --help order; the first is what a bare ``shareguard`` runs.
COMMANDS: Tuple[Command, ...] = (run, scan, replay, signatures, policy, browser, native_host)
COMMANDS_BY_NAME: Dict[str, Command] = {c.NAME: c for c in COMMANDS}


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``shareguard`` and every command."""
    parser = argparse.ArgumentParser(
        prog="shareguard",
        description="Stops screen-sharing fraud: warns when a bank, loan or payment app is on a "
        "shared screen or under remote control, and freezes the remote tool.",
    )
    parser.add_argument("--version", action="version", version=f"shareguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_arguments(sub.add_parser(command.NAME, help=command.HELP, description=command.DESCRIPTION,
                                             formatter_class=argparse.RawDescriptionHelpFormatter))
    return parser


def utf8_output() -> None:
    """Make stdout and stderr UTF-8, whatever the platform chose.

    A redirected stream on an English Windows is code page 1252 (a Chinese bank
    name then raises UnicodeEncodeError), and a frozen shareguard.exe ignores
    PYTHONIOENCODING/PYTHONUTF8, so the CLI sets it itself (docs/platforms.md).
    A windowed build has no streams (None): nothing to do.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or (stream.encoding or "").replace("-", "").lower() == "utf8":
            continue
        try:
            reconfigure(encoding="utf-8")
        except (ValueError, OSError):
            pass  # a stream already written to in another encoding keeps it


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``shareguard`` console script."""
    utf8_output()
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == [UI_HELPER_FLAG]:
        from agent.ui.helper import main as helper_main

        return helper_main()
    parser = build_parser()
    args = parser.parse_args(args_in)
    if args.command is None:
        # Bare `shareguard` starts the guard, like double-clicking it would.
        args = parser.parse_args([COMMANDS[0].NAME] + args_in)
    try:
        return int(COMMANDS_BY_NAME[args.command].run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
