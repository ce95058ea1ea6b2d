"""A minimal screen-cast client of GNOME's compositor (run as the session user by the Wayland tier).

It asks mutter over D-Bus (org.gnome.Mutter.ScreenCast: CreateSession,
RecordMonitor on the primary monitor, Start), prints the PipeWire node id
mutter announces (PipeWireStreamAdded), and keeps the session until it gets
SIGTERM. This is the request gnome-remote-desktop or the GNOME portal make
for an app; the portal's consent dialog is not part of it. The picture is
consumed by a separate ``gst-launch-1.0 pipewiresrc`` started by the test.

Runs under the system python3 (python3-dbus, python3-gi), not the venv.
"""

import signal
import sys

import dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

BUS_NAME = "org.gnome.Mutter.ScreenCast"


def main() -> int:
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    loop = GLib.MainLoop()
    no_options = dbus.Dictionary({}, signature="sv")
    cast = dbus.Interface(bus.get_object(BUS_NAME, "/org/gnome/Mutter/ScreenCast"), BUS_NAME)
    session_path = cast.CreateSession(no_options)
    session = dbus.Interface(bus.get_object(BUS_NAME, session_path), BUS_NAME + ".Session")
    stream_path = session.RecordMonitor("", no_options)  # "" = the primary monitor

    def stream_added(node_id):
        print(int(node_id), flush=True)

    bus.add_signal_receiver(stream_added, "PipeWireStreamAdded", BUS_NAME + ".Stream", path=stream_path)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    session.Start()
    loop.run()
    session.Stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
