"""A minimal xdg-desktop-portal ScreenCast client (run as the session user by the Wayland tier).

What a meeting app does on a Wayland desktop without a browser: ask the
portal for a monitor (CreateSession, SelectSources, Start; each answers
through a Request object's Response signal), get a PipeWire connection from
the portal (OpenPipeWireRemote) and hand it to the consumer, here
``gst-launch-1.0 pipewiresrc fd=N path=NODE``. Prints ``NODE GST_PID`` and
keeps the portal session until SIGTERM (ending the consumer first if it
still runs), so a test can stop the consumer alone and see the source idle.

Runs under the system python3 (python3-dbus, python3-gi), not the venv.
"""

import os
import signal
import subprocess
import sys

import dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

PORTAL = "org.freedesktop.portal.Desktop"
MONITOR = 1  # SelectSources "types" bit for a whole monitor


class Portal:
    """Calls ScreenCast methods and waits for each request's Response."""

    def __init__(self, bus, loop):
        self.bus = bus
        self.loop = loop
        self.cast = dbus.Interface(bus.get_object(PORTAL, "/org/freedesktop/portal/desktop"),
                                   "org.freedesktop.portal.ScreenCast")
        self.sender = bus.get_unique_name()[1:].replace(".", "_")
        self.count = 0

    def call(self, method, *args, **options):
        """Call ``method`` and return the results of its Response (exit on refusal)."""
        self.count += 1
        token = f"sg{self.count}"
        path = f"/org/freedesktop/portal/desktop/request/{self.sender}/{token}"
        answer = {}

        def on_response(code, results):
            answer.update(code=int(code), results=results)
            self.loop.quit()

        match = self.bus.add_signal_receiver(on_response, "Response", "org.freedesktop.portal.Request", path=path)
        getattr(self.cast, method)(*args, dbus.Dictionary(dict(options, handle_token=token), signature="sv"))
        self.loop.run()
        match.remove()
        if answer["code"] != 0:
            sys.exit(f"portal {method} refused (response {answer['code']})")
        return answer["results"]


def main() -> int:
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    loop = GLib.MainLoop()
    portal = Portal(bus, loop)
    session = portal.call("CreateSession", session_handle_token="sgsession")["session_handle"]
    portal.call("SelectSources", session, types=dbus.UInt32(MONITOR), multiple=False)
    node = int(portal.call("Start", session, "")["streams"][0][0])
    fd = portal.cast.OpenPipeWireRemote(session, dbus.Dictionary({}, signature="sv")).take()
    # `! video/x-raw` makes pipewiresrc offer formats (with ANY caps it offers none and never links).
    gst = subprocess.Popen(["gst-launch-1.0", "-q", "pipewiresrc", f"fd={fd}", f"path={node}",
                            "!", "video/x-raw", "!", "fakesink"], pass_fds=(fd,))
    os.close(fd)  # the consumer's PipeWire connection must end with the consumer, not with us
    print(node, gst.pid, flush=True)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    loop.run()
    if gst.poll() is None:
        gst.terminate()
        gst.wait(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
