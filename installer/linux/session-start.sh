#!/bin/sh
# Run by /etc/xdg/autostart/shareguard.desktop when any user's graphical session starts.
#
# Where a systemd user manager runs, hand over to shareguard.service (Restart=always keeps the
# guard up); `systemctl --user start` is a no-op when the unit already runs, so a desktop that
# also starts graphical-session.target never gets two guards. The session's display variables
# are passed to the manager first, or the unit would start without a display.
if command -v systemctl >/dev/null 2>&1 && systemctl --user show-environment >/dev/null 2>&1; then
    for var in DISPLAY WAYLAND_DISPLAY XAUTHORITY XDG_SESSION_TYPE XDG_CURRENT_DESKTOP DBUS_SESSION_BUS_ADDRESS; do
        eval "isset=\${$var+x}"
        [ -n "$isset" ] && systemctl --user import-environment "$var" 2>/dev/null
    done
    if systemctl --user start shareguard.service 2>/dev/null; then
        exit 0
    fi
fi
# No user manager (or the unit is masked): run the guard in this session directly.
exec /usr/bin/shareguard run
