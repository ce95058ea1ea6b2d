"""The ``shareguard`` command.

Each subcommand lives next to the code it drives and registers itself here
through an ``add_parser(subparsers)`` function, so this module stays a thin
dispatcher (imports are deferred so ``shareguard --help`` stays fast).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

from agent import __version__

#: (module, description) of every subcommand group, in --help order.
COMMAND_MODULES = (
    "agent.runtime",                      # run
    "agent.scan",                         # scan
    "agent.replay",                       # replay
    "agent.signatures.commands",          # signatures validate | bundle | verify
    "agent.policy.commands",              # policy show | validate
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shareguard",
        description="Stops screen-sharing fraud: warns when a bank, loan or payment app is on a "
        "shared screen or under remote control, and freezes the remote tool.",
    )
    parser.add_argument("--version", action="version", version=f"shareguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        module.add_parser(sub)
    return parser


#: Hidden first argument that runs the UI helper process. A frozen build
#: (PyInstaller: shareguard.exe, ShareGuard.app) has no ``python -m``, so the
#: UI client starts the same executable with this argument instead.
UI_HELPER_FLAG = "--ui-helper"


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
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        # Bare `shareguard` starts the guard, like double-clicking it would.
        args = parser.parse_args(["run"] + list(argv if argv is not None else sys.argv[1:]))
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
