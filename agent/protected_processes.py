"""Processes ShareGuard never signals, whatever a verdict names: the desktop itself.

An OS-level screen share (a PipeWire screen-cast node, Windows Graphics
Capture, macOS ScreenCaptureKit) is *performed* by the compositor, the
portal or a system capture service on behalf of some app. Those processes
are what the collectors can see, so a verdict may name them, but ending or
freezing them does not stop "the share": it ends or hangs the user's whole
session (replay of ``stop_sharing`` on a PipeWire share once ended
gnome-shell). The share has to be stopped from the system's own sharing
indicator instead (docs/security.md).

Pure data plus one lookup, shared by the engine (which leaves these out of
``end_pids``) and the process responder (which refuses them again at the
moment of signalling). Names are compared casefolded, without ``.exe``; the
kernel's 15-character ``comm`` is matched as a prefix of a longer name.
Each entry says why, as the signature rules ask (docs/signatures.md).
"""

from __future__ import annotations

from typing import Dict, Optional

_COMPOSITOR = "the desktop compositor / display server: ending it ends the whole graphical session"
_PORTAL = "the desktop portal that grants screen casts: ending it breaks every app's file and share dialogs"
_MEDIA = "the session's media server: ending it cuts all sound and screen casts of every app"
_SESSION = "part of the login session: ending it logs the user out"
_SYSTEM = "a core operating-system process"

#: casefolded process name -> why it is never signalled.
NEVER_SIGNAL: Dict[str, str] = {
    # Linux compositors and display servers (GNOME, KDE, wlroots family, X).
    "gnome-shell": _COMPOSITOR, "mutter": _COMPOSITOR, "kwin_wayland": _COMPOSITOR, "kwin_x11": _COMPOSITOR,
    "kwin": _COMPOSITOR, "plasmashell": _COMPOSITOR, "weston": _COMPOSITOR, "sway": _COMPOSITOR,
    "hyprland": _COMPOSITOR, "wayfire": _COMPOSITOR, "labwc": _COMPOSITOR, "river": _COMPOSITOR,
    "cosmic-comp": _COMPOSITOR, "gamescope": _COMPOSITOR, "xorg": _COMPOSITOR, "x": _COMPOSITOR,
    "xwayland": _COMPOSITOR, "cinnamon": _COMPOSITOR, "muffin": _COMPOSITOR, "xfwm4": _COMPOSITOR,
    "marco": _COMPOSITOR, "budgie-wm": _COMPOSITOR,
    # xdg-desktop-portal and its backends.
    "xdg-desktop-portal": _PORTAL, "xdg-desktop-portal-gnome": _PORTAL, "xdg-desktop-portal-gtk": _PORTAL,
    "xdg-desktop-portal-kde": _PORTAL, "xdg-desktop-portal-wlr": _PORTAL,
    "xdg-desktop-portal-hyprland": _PORTAL, "xdg-desktop-portal-cosmic": _PORTAL,
    # PipeWire: the screen-cast nodes live in its graph.
    "pipewire": _MEDIA, "pipewire-pulse": _MEDIA, "wireplumber": _MEDIA, "pipewire-media-session": _MEDIA,
    # Session and login processes.
    "gnome-session-binary": _SESSION, "gnome-session": _SESSION, "ksmserver": _SESSION,
    "xfce4-session": _SESSION, "mate-session": _SESSION, "lxsession": _SESSION, "cinnamon-session": _SESSION,
    "systemd": _SESSION, "systemd-logind": _SESSION, "dbus-daemon": _SESSION, "dbus-broker": _SESSION,
    "gdm": _SESSION, "gdm-wayland-session": _SESSION, "gdm-x-session": _SESSION, "sddm": _SESSION,
    "lightdm": _SESSION, "login": _SESSION, "sshd": _SESSION, "init": _SYSTEM,
    # Windows: Desktop Window Manager (performs Graphics Capture), session and shell processes.
    "dwm": _COMPOSITOR, "csrss": _SYSTEM, "winlogon": _SESSION, "wininit": _SYSTEM, "smss": _SYSTEM,
    "services": _SYSTEM, "lsass": _SYSTEM, "svchost": _SYSTEM, "explorer": _SESSION, "sihost": _SESSION,
    "fontdrvhost": _SYSTEM, "logonui": _SESSION,
    # macOS: WindowServer composites and captures; replayd serves ScreenCaptureKit/ReplayKit.
    "windowserver": _COMPOSITOR, "loginwindow": _SESSION, "launchd": _SYSTEM, "dock": _SESSION,
    "systemuiserver": _SESSION, "controlcenter": _SESSION, "replayd": _COMPOSITOR,
}


def never_signal_reason(name: Optional[str]) -> Optional[str]:
    """Why the process called ``name`` must never be frozen or ended, or None."""
    if not name:
        return None
    key = name.casefold()
    if key.endswith(".exe"):
        key = key[:-4]
    reason = NEVER_SIGNAL.get(key)
    if reason is None and len(key) == 15:
        # Linux truncates comm to 15 characters: "xdg-desktop-por" is a portal.
        reason = next((why for full, why in NEVER_SIGNAL.items() if full.startswith(key)), None)
    return reason
