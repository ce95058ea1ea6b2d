"""The ``shareguard`` commands, one module each.

Every module has the same shape, which :mod:`agent.cli` relies on:

- ``NAME``: the word on the command line;
- ``HELP``: one line for ``shareguard --help``; ``DESCRIPTION``: its own ``--help`` text;
- ``add_arguments(parser)``: its options (and sub-commands, for a group);
- ``run(args) -> int``: do it; the exit status.

Commands are the only place that knows about argparse; what they drive
(agent.app, the engine, the loaders) takes plain values.
"""

from __future__ import annotations

import argparse
from typing import Protocol


class Command(Protocol):
    """The shape of a command module (mypy checks each module in agent.cli against it)."""

    NAME: str
    HELP: str
    DESCRIPTION: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's options to its own parser."""
        ...

    def run(self, args: argparse.Namespace) -> int:
        """Do the command; return the exit status."""
        ...
