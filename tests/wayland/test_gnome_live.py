"""GNOME, live: headless mutter casts its screen over PipeWire and the agent sees who receives it.

The session (tests/support/wayland.py): a throwaway user running
``mutter --wayland --headless --no-x11 --virtual-monitor 1280x800`` with
PipeWire and WirePlumber on its own session bus. tests/wayland/mutter_screencast.py
asks mutter for a monitor cast over D-Bus (org.gnome.Mutter.ScreenCast) and
``gst-launch-1.0 pipewiresrc`` consumes it. What is not exercised here: the
GNOME portal's consent dialog (xdg-desktop-portal-gnome) in front of that
D-Bus call; on GNOME the agent cannot read other apps' window titles.
"""

import os

import pytest

from tests.support.wayland import gnome_session, linked, nodes
from tests.wayland.agent_cli import os_share, scan

pytestmark = [pytest.mark.wayland, pytest.mark.live, pytest.mark.timeout(300)]

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mutter_screencast.py")


@pytest.fixture(scope="module")
def gnome(wl_user):
    from tests.support.wayland import require_root_and
    require_root_and("mutter", "dbus-send")
    with gnome_session(wl_user) as session:
        yield session


def _source(session):
    found = nodes(session.pw_dump(), media_name="meta-screen-cast-src")
    return found[0] if found else None


def test_gnome_cast_is_an_os_share_of_its_consumer_only_while_consumed(gnome):
    assert os_share(scan(gnome)) is None, "no screen cast yet"

    client = gnome.start("mutter-cast", ["/usr/bin/python3", gnome.copy_in(CLIENT)])
    source = gnome.wait_for("mutter's screen-cast node", lambda: _source(gnome))
    assert source["info"]["props"]["media.class"] == "Stream/Output/Video"
    assert source["info"]["props"]["node.name"] == "mutter"  # the app's name; media.name is the stream's
    # Created, nobody consuming: not a share.
    gnome.pw_dump(record_as="gnome-unconsumed")
    assert os_share(scan(gnome)) is None

    consumer = gnome.start("gst-consumer", ["gst-launch-1.0", "-q", "pipewiresrc", f"path={source['id']}",
                                            "!", "video/x-raw", "!", "fakesink"])
    gnome.wait_for("gst-launch linked to the cast", lambda: linked(gnome.pw_dump(), source["id"]))
    gnome.pw_dump(record_as="gnome-sharing")
    share = os_share(scan(gnome))
    assert share is not None and share["state"] == "sharing", share
    assert share["pids"] == [consumer.pid], "the share belongs to the app receiving the picture"
    assert any("gst-launch-1.0" in e and "meta-screen-cast-src" in e for e in share["evidence"]), share

    gnome.stop(consumer)
    gnome.wait_for("the cast to go idle without its consumer",
                   lambda: (_source(gnome) or {}).get("info", {}).get("state") == "idle")
    gnome.pw_dump(record_as="gnome-idle")
    assert os_share(scan(gnome)) is None, "an unconsumed cast is not a share"

    gnome.stop(client)
    gnome.wait_for("the cast node to go away", lambda: _source(gnome) is None)
    verdict = scan(gnome)
    assert os_share(verdict) is None
    # What the agent cannot see on GNOME: other apps' window titles (docs/platforms.md).
    assert any(u["source"] == "wayland_windows" for u in verdict["unavailable"]), verdict["unavailable"]
