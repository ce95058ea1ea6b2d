"""``shareguard run``: the guard (tray and warnings; console mode without a display)."""

from __future__ import annotations

import argparse
import logging
import sys

from agent import i18n

NAME = "run"
HELP = "start the guard (tray + warnings; console mode without a display)"
DESCRIPTION = ("Start the guard: watch for screen sharing and remote control, and warn\n"
               "when a bank, loan or payment app is on a shared screen.")

#: The safety-net poll interval when --poll is not given (window events wake the loop sooner).
DEFAULT_POLL_SECONDS = 2.0

MESSAGES = i18n.register(__name__, {
    "already_running": {
        "en": "ShareGuard is already running for this user; not starting a second guard.",
        "zh_CN": "ShareGuard 已在为此用户运行；不会再启动第二个。",
    },
})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shareguard run``."""
    parser.add_argument("--console", action="store_true",
                        help="no tray or windows: print state changes to the console")
    parser.add_argument("--signatures", metavar="PATH", help="signature directory or file (default: built-in)")
    parser.add_argument("--policy", metavar="FILE", help="use this machine policy file instead of the system one")
    parser.add_argument("--poll", type=float, default=DEFAULT_POLL_SECONDS, metavar="SECONDS",
                        help=f"safety-net poll interval; window events wake the guard sooner "
                             f"(default: {DEFAULT_POLL_SECONDS:g} s)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debugging detail")


def run(args: argparse.Namespace) -> int:
    """Start the guard and run until quit (tray, SIGTERM, Ctrl+C); 0 when it ends."""
    from agent.app import build_app
    from agent.runtime import install_signal_handlers
    from agent.single_instance import InstanceLock, guard_lock_name
    from agent.state import default_state_dir

    lock = InstanceLock(default_state_dir(), guard_lock_name(args.policy, args.signatures))
    if not lock.acquire():
        print(i18n.tr(MESSAGES, "already_running", i18n.detect_language()), file=sys.stderr)
        return 0
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    app = build_app(console=args.console, signatures_path=args.signatures, policy_path=args.policy,
                    poll_seconds=args.poll)
    install_signal_handlers(app.runtime)
    try:
        app.runtime.run()
    finally:
        app.close()
        lock.release()
    return 0
