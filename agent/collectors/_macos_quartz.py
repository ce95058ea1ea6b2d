"""The macOS calls the macOS collector makes: pyobjc Quartz plus a few ctypes lookups.

* ``CGWindowListCopyWindowInfo`` (public, pyobjc-framework-Quartz): every
  window's owner, pid, layer, bounds, on-screen flag and, only with the
  Screen Recording permission (macOS 10.15+), its title.
* ``CGPreflightScreenCaptureAccess`` (public, macOS 10.15+, no pyobjc
  wrapper in older pyobjc): looked up with ctypes so a missing symbol means
  "older macOS", not a crash.
* ``SLSIsScreenWatcherPresent`` (SkyLight) / ``CGSIsScreenWatcherPresent``
  (CoreGraphics): private, undocumented, found with dlsym; true while any
  process captures the screen.
* ``CGSessionCopyCurrentDictionary`` (public): ``CGSSessionScreenIsShared``
  tells whether Apple Screen Sharing / Remote Management is viewing this
  session.

Importing this module works everywhere; :class:`QuartzApi` raises
``ImportError``/``OSError`` off macOS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any, Dict, List, Optional

CORE_GRAPHICS = "/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics"
SKYLIGHT = "/System/Library/PrivateFrameworks/SkyLight.framework/SkyLight"

#: (library, symbol) tried in order for the screen-watcher fact. SkyLight is
#: where the window server client lives since macOS 10.14; the CGS name is
#: the older alias CoreGraphics still re-exports.
WATCHER_SYMBOLS = ((SKYLIGHT, "SLSIsScreenWatcherPresent"), (CORE_GRAPHICS, "CGSIsScreenWatcherPresent"))

#: kCGWindowListOptionAll | kCGWindowListExcludeDesktopElements: off-screen
#: windows are wanted too (a hidden share toolbar still proves a share).
_LIST_OPTIONS = 0 | (1 << 4)
_NULL_WINDOW_ID = 0


def _open_library(path: str) -> Optional[ctypes.CDLL]:
    # Since macOS 11 system libraries live only in the dyld shared cache:
    # the file does not exist on disk, yet dlopen() of the path works.
    try:
        return ctypes.CDLL(path)
    except OSError:
        found = ctypes.util.find_library(os.path.basename(path))
        if not found:
            return None
        try:
            return ctypes.CDLL(found)
        except OSError:
            return None


def _bool_function(library: Optional[ctypes.CDLL], symbol: str):
    """``bool symbol(void)`` from ``library`` (dlsym), or None when absent."""
    if library is None:
        return None
    try:
        func = getattr(library, symbol)
    except AttributeError:
        return None
    func.restype = ctypes.c_bool
    func.argtypes = []
    return func


def plain(value: Any) -> Any:
    """pyobjc containers and numbers as plain Python values (for fixtures and tests)."""
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__"):
        return [plain(v) for v in value]
    return value


class QuartzApi:
    """The real macOS layer (raises ImportError without pyobjc Quartz)."""

    def __init__(self) -> None:
        import Quartz  # pyobjc-framework-Quartz, a macOS-only dependency

        self._quartz = Quartz
        graphics = _open_library(CORE_GRAPHICS)
        self._preflight = _bool_function(graphics, "CGPreflightScreenCaptureAccess")
        self._watcher = None
        self.watcher_symbol = ""
        for path, symbol in WATCHER_SYMBOLS:
            func = _bool_function(graphics if path == CORE_GRAPHICS else _open_library(path), symbol)
            if func is not None:
                self._watcher, self.watcher_symbol = func, symbol
                break
        try:
            import AppKit  # pyobjc-framework-Cocoa, installed with Quartz

            self._workspace = AppKit.NSWorkspace.sharedWorkspace()
        except ImportError:
            self._workspace = None

    def window_list(self) -> List[Dict[str, Any]]:
        """Every window as a plain dict of kCGWindow* keys, front to back."""
        infos = self._quartz.CGWindowListCopyWindowInfo(_LIST_OPTIONS, _NULL_WINDOW_ID)
        if infos is None:
            raise OSError("CGWindowListCopyWindowInfo returned nothing (no window server session?)")
        return [plain(info) for info in infos]

    def screen_capture_access(self) -> Optional[bool]:
        """CGPreflightScreenCaptureAccess(); None before macOS 10.15 (titles are free there).

        The answer is cached by macOS for the life of the process: a grant
        takes effect after ShareGuard restarts.
        """
        return None if self._preflight is None else bool(self._preflight())

    def screen_watcher_present(self) -> Optional[bool]:
        """The private screen-watcher flag, or None when neither symbol exists."""
        return None if self._watcher is None else bool(self._watcher())

    def session_info(self) -> Optional[Dict[str, Any]]:
        """CGSessionCopyCurrentDictionary() as a dict (None outside a GUI session)."""
        info = self._quartz.CGSessionCopyCurrentDictionary()
        return None if info is None else plain(info)

    def frontmost_pid(self) -> Optional[int]:
        """The pid of the active (frontmost) application."""
        if self._workspace is None:
            return None
        app = self._workspace.frontmostApplication()
        return None if app is None else int(app.processIdentifier())
