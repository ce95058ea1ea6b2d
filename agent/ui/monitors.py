"""Where the monitors are, so the warning can cover every one of them.

Returns ``(x, y, width, height)`` rectangles in root-window coordinates.
Linux asks RandR 1.5 (``get_monitors``), Windows ``EnumDisplayMonitors``;
anywhere else, or on any error, the caller covers the whole root window.
"""

from __future__ import annotations

import os
import sys
from typing import List, Tuple

Rect = Tuple[int, int, int, int]


def _linux_monitors() -> List[Rect]:
    from Xlib import display as xdisplay

    d = xdisplay.Display(os.environ.get("DISPLAY"))
    try:
        if not d.has_extension("RANDR"):
            return []
        reply = d.screen().root.xrandr_get_monitors()
        # Primary first: the full warning goes there, the others get a pointer to it.
        ordered = sorted(reply.monitors, key=lambda m: not m.primary)
        return [(m.x, m.y, m.width_in_pixels, m.height_in_pixels) for m in ordered]
    finally:
        d.close()


def _windows_monitors() -> List[Rect]:
    if sys.platform != "win32":  # also tells mypy (run on Linux) the rest is Windows code
        return []
    import ctypes
    from ctypes import wintypes

    found: List[Rect] = []
    proc_type = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HMONITOR, wintypes.HDC,
                                   ctypes.POINTER(wintypes.RECT), wintypes.LPARAM)

    def callback(hmon, hdc, rect, data):
        r = rect.contents
        found.append((r.left, r.top, r.right - r.left, r.bottom - r.top))
        return True

    ctypes.windll.user32.EnumDisplayMonitors(None, None, proc_type(callback), 0)
    return found


def monitors(root_size: Tuple[int, int]) -> List[Rect]:
    """Every monitor's rectangle, primary first; the whole root when unknown."""
    try:
        if sys.platform.startswith("linux"):
            found = _linux_monitors()
        elif sys.platform == "win32":
            found = _windows_monitors()
        else:
            found = []
    except Exception:
        # Any failure here must not stop the warning: cover the root instead.
        found = []
    found = [r for r in found if r[2] > 0 and r[3] > 0]
    return drop_unions(found) or [(0, 0, root_size[0], root_size[1])]


def _contains(outer: Rect, inner: Rect) -> bool:
    return (outer[0] <= inner[0] and outer[1] <= inner[1] and outer[0] + outer[2] >= inner[0] + inner[2]
            and outer[1] + outer[3] >= inner[1] + inner[3])


def drop_unions(rects: List[Rect]) -> List[Rect]:
    """Drop duplicates and rectangles that contain another one (a RandR monitor
    spanning several, e.g. an output's own monitor beside user-defined ones)."""
    unique = list(dict.fromkeys(rects))
    return [r for r in unique if not any(o != r and _contains(r, o) for o in unique)]
