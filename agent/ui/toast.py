"""Desktop notifications (toasts) through plyer, with failures made visible.

plyer's public ``notification`` object is a proxy that prints a traceback and
returns normally when the platform call fails, and on Linux it shells out to
``notify-send`` without looking at the exit status. So this module probes
for a notification service first, calls the platform implementation
directly (so exceptions reach us), and reports every failure to the caller,
who says so once in the log and falls back to the tray tooltip.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import threading
import warnings
from typing import Any, Callable, Optional, Tuple

#: The D-Bus name every freedesktop notification daemon (dunst, GNOME, KDE...) owns.
FDO_NAME = "org.freedesktop.Notifications"


def _session_bus_present(environ) -> bool:
    if environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return True
    runtime = environ.get("XDG_RUNTIME_DIR")
    return bool(runtime) and os.path.exists(os.path.join(runtime, "bus"))


def _bus_call(method: str, *args: str, environ=None, timeout: float = 3.0) -> Optional[str]:
    """Call a method of the bus daemon itself with gdbus; None when that is impossible."""
    if not shutil.which("gdbus"):
        return None
    cmd = ["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus",
           "--object-path", "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus." + method, *args]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=environ)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout if res.returncode == 0 else ""


def probe_linux(environ=None) -> Tuple[bool, str]:
    """Is there a freedesktop notification service on the session bus?"""
    env = dict(os.environ if environ is None else environ)
    if not _session_bus_present(env):
        return False, "no D-Bus session bus"
    if not shutil.which("notify-send"):
        return False, "notify-send is not installed (package libnotify-bin)"
    owned = _bus_call("NameHasOwner", FDO_NAME, environ=env)
    if owned is None:
        # No gdbus to ask with: plyer will find out; failures still surface below.
        return True, "unverified (gdbus missing)"
    if "true" in owned:
        return True, "notification daemon running"
    activatable = _bus_call("ListActivatableNames", environ=env) or ""
    if FDO_NAME in activatable:
        return True, "notification daemon can be started by D-Bus"
    return False, f"no notification daemon owns {FDO_NAME}"


def probe(environ=None) -> Tuple[bool, str]:
    """Whether toasts can be shown on this desktop, and why (for the log)."""
    if sys.platform.startswith("linux"):
        return probe_linux(environ)
    return True, "system notifications"


def _platform_notifier():
    """plyer's implementation object for this OS (not the exception-swallowing proxy)."""
    from plyer.utils import platform as plyer_platform
    module = importlib.import_module(f"plyer.platforms.{plyer_platform}.notification")
    return module.instance()


class Toaster:
    """Shows toasts on a worker thread so a hung daemon never stalls the UI.

    ``on_result(ok, why)`` is called after each attempt, from the worker thread.
    """

    def __init__(self, app_name: str = "ShareGuard",
                 on_result: Optional[Callable[[bool, str], None]] = None,
                 prober: Callable[[], Tuple[bool, str]] = probe) -> None:
        self.app_name = app_name
        self.on_result = on_result or (lambda ok, why: None)
        self.available, self.why = prober()
        self._impl: Any = None  # plyer's notification backend (untyped), made on first use
        self._lock = threading.Lock()

    def show(self, title: str, body: str) -> None:
        """Show a toast in the background; the result goes to ``on_result``."""
        threading.Thread(target=self._show, args=(title, body), name="toast", daemon=True).start()

    def _show(self, title: str, body: str) -> None:
        ok, why = self.show_now(title, body)
        self.on_result(ok, why)

    def show_now(self, title: str, body: str) -> Tuple[bool, str]:
        """Show a toast and wait; returns (shown, why not)."""
        if not self.available:
            return False, self.why
        with self._lock:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    if self._impl is None:
                        self._impl = _platform_notifier()
                    # _notify, not the facade's notify(): the facade drops
                    # expire_time, and notify-send's default of 0 never expires.
                    self._impl._notify(title=title, message=body, app_name=self.app_name, app_icon="",
                                       timeout=10, expire_time="10000", ticker="", toast=False, hints={})
            except Exception as exc:  # plyer raises anything the platform API raises
                return False, f"{type(exc).__name__}: {exc}"
        if type(self._impl).__name__ == "Notification":
            # plyer's do-nothing base class: it found no way to notify.
            reason = "; ".join(str(w.message).splitlines()[0] for w in caught) or "plyer found no notifier"
            self.available, self.why = False, reason
            return False, reason
        return True, ""
