"""``shareguard native-host``: the browsers' native-messaging host (agent.companion.host).

Browsers start it (``shareguard browser install`` registers it); it is never run by hand.
"""

from __future__ import annotations

import argparse

NAME = "native-host"
HELP = "the browsers' native-messaging host (started by the browser)"
DESCRIPTION = ("Run as the browser companion's native-messaging host: read the extension's facts on stdin and "
               "relay them to this user's agent. Browsers start it; see `shareguard browser install`.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """What the browser passes (Chrome: the extension origin; Firefox: manifest path and add-on id)."""
    parser.add_argument("browser_args", nargs=argparse.REMAINDER, help="passed by the browser: ignored")


def run(args: argparse.Namespace) -> int:
    """Serve the browser's port until it closes."""
    from agent.companion.host import main

    return main(args.browser_args)
