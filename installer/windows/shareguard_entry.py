"""PyInstaller entry point: the same ``shareguard`` command the wheel's console script runs."""

import sys

from agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
