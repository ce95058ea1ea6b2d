"""The tray icon: the guard's state at a glance.

Colour says the state (green watching, amber a share is live, red alert,
grey paused); the tooltip (the window name on X11) says it in words.

pystray is imported lazily: on Linux it opens the X display at import time
and fails without one. Its capability flags decide how the menu is shown:
where the backend has menus (Windows, macOS, AppIndicator) pystray draws
it; where it has not (the plain Xorg backend) a click calls
``on_click`` and the helper pops up its own Tk menu at the pointer.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

log = logging.getLogger(__name__)

#: Fill colour per tray state (see agent.ui.view.TRAY_STATES).
COLOURS = {
    "watching": (46, 125, 50),    # green: all is calm
    "share": (239, 160, 0),       # amber: someone may see this screen
    "alert": (198, 40, 40),       # red: act now
    "paused": (117, 117, 117),    # grey: not guarding
}


def icon_image(state: str, size: int = 64):
    """Draw the shield icon for ``state`` (a PIL image)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 64.0
    shield = [(32 * s, 3 * s), (58 * s, 12 * s), (56 * s, 36 * s), (32 * s, 61 * s),
              (8 * s, 36 * s), (6 * s, 12 * s)]
    d.polygon(shield, fill=COLOURS.get(state, COLOURS["watching"]) + (255,), outline=(255, 255, 255, 255))
    white = (255, 255, 255, 255)
    if state == "alert":
        d.rectangle([29 * s, 14 * s, 35 * s, 38 * s], fill=white)
        d.rectangle([29 * s, 43 * s, 35 * s, 49 * s], fill=white)
    elif state == "paused":
        d.rectangle([22 * s, 18 * s, 29 * s, 46 * s], fill=white)
        d.rectangle([35 * s, 18 * s, 42 * s, 46 * s], fill=white)
    elif state == "share":
        d.ellipse([18 * s, 22 * s, 46 * s, 42 * s], outline=white, width=max(1, int(4 * s)))
        d.ellipse([28 * s, 27 * s, 36 * s, 37 * s], fill=white)
    else:
        d.line([(19 * s, 32 * s), (29 * s, 42 * s), (46 * s, 21 * s)], fill=white, width=max(1, int(6 * s)))
    return img


def enable_xorg_clicks(icon) -> bool:
    """Make pystray's Xorg icon window receive button presses.

    pystray 0.19's Xorg backend handles ButtonPress but never selects it on
    its window, so clicks are lost; selecting it here is what makes the
    menu reachable in plain X trays (trayer, stalonetray, xfce4-panel...).
    """
    window, display = getattr(icon, "_window", None), getattr(icon, "_display", None)
    if window is None or display is None:
        return False
    try:
        from Xlib import X

        window.change_attributes(event_mask=X.ExposureMask | X.StructureNotifyMask | X.ButtonPressMask)
        display.flush()
        return True
    except Exception:
        log.warning("cannot enable clicks on the tray icon", exc_info=True)
        return False


def dock_xorg_once(icon) -> bool:
    """Stop pystray's Xorg backend from asking to be docked again on every icon change.

    pystray 0.19 sends SYSTEM_TRAY_REQUEST_DOCK each time the image changes,
    even when the icon is already docked. trayer (and other GTK trays)
    answer a second request for an embedded window by dropping it: after a
    few state changes the tray shows an empty 3-pixel slot and the icon,
    its colour and its menu are gone. Dock only when not docked to the
    current tray owner (a new tray host still gets a fresh request).
    """
    original = getattr(icon, "_assert_docked", None)
    if original is None or not hasattr(icon, "_get_systray_manager"):
        return False

    def assert_docked():
        current = getattr(icon, "_systray_manager", None)
        if current is not None:
            try:
                owner = icon._get_systray_manager()
            except Exception:
                owner = None
            if owner is not None and owner.id == current.id:
                return
        original()

    icon._assert_docked = assert_docked
    return True


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
        return True
    except UnicodeEncodeError:
        return False


def set_xorg_title(icon, text: str) -> None:
    """Name the Xorg icon window in UTF-8 (_NET_WM_NAME) with a Latin-1 WM_NAME fallback."""
    window, display = getattr(icon, "_window", None), getattr(icon, "_display", None)
    if window is None or display is None:
        return
    from Xlib import Xatom

    window.change_property(display.intern_atom("_NET_WM_NAME"), display.intern_atom("UTF8_STRING"), 8,
                           text.encode("utf-8"))
    window.change_property(Xatom.WM_NAME, Xatom.STRING, 8, text.encode("latin-1", "replace"))
    display.flush()
    icon._title = text  # keep pystray's idea of the title in step


def xorg_tray_host_present(display_name: Optional[str] = None) -> bool:
    """Does any client own the system-tray selection (_NET_SYSTEM_TRAY_S<n>)?"""
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display_name)
    try:
        atom = d.intern_atom("_NET_SYSTEM_TRAY_S%d" % d.get_default_screen())
        return d.get_selection_owner(atom) != X.NONE
    finally:
        d.close()


@dataclass
class MenuEntry:
    """One menu line: text, callback (None = a greyed-out line)."""

    text: str
    action: Optional[Callable[[], None]] = None


class TrayIcon:
    """A pystray icon run on its own thread, updated from any thread."""

    def __init__(self, name: str, entries: Callable[[], List[MenuEntry]],
                 on_click: Callable[[], None]) -> None:
        self.name = name
        self._entries = entries
        self._on_click = on_click
        self._icon: Any = None  # pystray.Icon (untyped)
        self._thread: Optional[threading.Thread] = None
        self.has_menu = False
        self.error: Optional[str] = None
        self._state = ""
        self._tooltip = ""

    def start(self, state: str, tooltip: str) -> bool:
        """Create and show the icon; False (with ``error`` set) when no tray can be used."""
        try:
            import pystray
        except Exception as exc:  # pystray raises whatever its backend import raised
            self.error = f"pystray unavailable: {type(exc).__name__}: {exc}"
            return False
        self.has_menu = bool(getattr(pystray.Icon, "HAS_MENU", False))
        if self.has_menu:
            menu = pystray.Menu(lambda: self._pystray_items(pystray))
        else:
            # No native menu: a left click runs the default item, which asks
            # the helper to pop up its own menu.
            menu = pystray.Menu(pystray.MenuItem("ShareGuard", lambda *_: self._on_click(),
                                                 default=True, visible=False))
        self._tooltip = tooltip
        # pystray's Xorg backend writes the title as Latin-1 when it creates its
        # window; a Chinese tooltip is written in UTF-8 by _setup instead.
        initial_title = tooltip if self.has_menu or _latin1(tooltip) else self.name
        try:
            self._icon = pystray.Icon(self.name, icon_image(state), initial_title, menu)
            self._state = state
        except Exception as exc:
            self.error = f"cannot create the tray icon: {type(exc).__name__}: {exc}"
            return False
        self._thread = threading.Thread(target=self._run, name="tray", daemon=True)
        self._thread.start()
        if not self.has_menu and sys.platform.startswith("linux"):
            try:
                if not xorg_tray_host_present():
                    # The icon stays ready and docks when a tray host appears.
                    self.error = "no system tray host on this display (nobody owns _NET_SYSTEM_TRAY_S0)"
                    return False
            except Exception as exc:
                log.debug("cannot check for a tray host: %s", exc)
        return True

    def _run(self) -> None:
        try:
            self._icon.run(setup=self._setup)
        except Exception:
            log.exception("tray icon loop stopped")

    def _setup(self, icon) -> None:
        if not self.has_menu:
            dock_xorg_once(icon)
        icon.visible = True
        if not self.has_menu:
            enable_xorg_clicks(icon)
            # An update that came before the window existed could not be
            # written; the window exists now.
            set_xorg_title(icon, self._tooltip)

    def _pystray_items(self, pystray):
        for entry in self._entries():
            if entry.action is None:
                yield pystray.MenuItem(entry.text, None, enabled=False)
            else:
                yield pystray.MenuItem(entry.text, (lambda a: (lambda *_: a()))(entry.action))

    def update(self, state: str, tooltip: str) -> None:
        """Change colour and tooltip (and refresh a native menu)."""
        if self._icon is None:
            return
        if self.error and not self._host_present():
            return  # pystray would log a traceback per update while undocked
        try:
            if state != self._state:
                # Only a new state redraws: each redraw is a round trip to the tray host.
                self._icon.icon = icon_image(state)
                self._state = state
            self._tooltip = tooltip
            if self.has_menu:
                self._icon.title = tooltip
            else:
                # pystray's Xorg backend writes WM_NAME as Latin-1 only: write
                # both names ourselves so _NET_WM_NAME never keeps an old text.
                set_xorg_title(self._icon, tooltip)
            if self.has_menu:
                self._icon.update_menu()
        except Exception:
            log.exception("cannot update the tray icon")

    def _host_present(self) -> bool:
        try:
            present = xorg_tray_host_present()
        except Exception:
            return True
        if present:
            self.error = None
        return present

    def screen_rect(self) -> Optional[tuple]:
        """Where the icon is on screen, ``(x, y, width, height)``; None when unknown.

        Asked over a connection of our own: pystray's belongs to its thread.
        Lets the menu open beside the icon instead of on top of it.
        """
        window = getattr(self._icon, "_window", None)
        if window is None or not sys.platform.startswith("linux"):
            return None
        try:
            from Xlib import display as xdisplay

            d = xdisplay.Display()
            try:
                mine = d.create_resource_object("window", window.id)
                geo = mine.get_geometry()
                pos = mine.translate_coords(d.screen().root, 0, 0)
                return (-pos.x, -pos.y, geo.width, geo.height)
            finally:
                d.close()
        except Exception:
            log.debug("cannot locate the tray icon", exc_info=True)
            return None

    def stop(self) -> None:
        """Remove the icon."""
        if self._icon is not None:
            try:
                self._icon.stop()
            except Exception:
                log.debug("tray stop failed", exc_info=True)
