"""wlroots, live: headless sway shares its screen through xdg-desktop-portal-wlr and the agent sees who.

The session (tests/support/wayland.py): a throwaway user running headless
sway 1.7 (``WLR_BACKENDS=headless WLR_RENDERER=pixman``: no GPU), PipeWire,
WirePlumber, xdg-desktop-portal and xdg-desktop-portal-wlr 0.7.0 on its own
session bus. xdpw 0.7.0 needs the small LD_PRELOAD shim in
tests/wayland/xdpw_shm_format.c (compiled here) to stream without dma-buf; the
source explains why. Consumers: ``gst-launch-1.0`` through the portal
(tests/wayland/portal_screencast.py) and a real Chromium calling
``getDisplayMedia`` (Wayland ozone, the picker auto-accepted).

Real nodes look like this (the old rule matched node.name and missed them all):
xdpw's source has media.name "xdpw-stream-XXXXXX", node.name
"xdg-desktop-portal-wlr"; the consumer's client carries
application.process.id (the app) and pipewire.sec.pid (the portal).
"""

import http.server
import os
import socket
import subprocess
import threading
import urllib.request

import psutil
import pytest

from tests.support.wayland import linked, nodes, sway_session
from tests.wayland.agent_cli import os_share, scan, start_console

pytestmark = [pytest.mark.wayland, pytest.mark.live, pytest.mark.timeout(400)]

HERE = os.path.dirname(os.path.abspath(__file__))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MEETING = b"""<!doctype html><html><head><meta charset="utf-8"><title>Meeting</title></head><body>
<script>
navigator.mediaDevices.getDisplayMedia({video: true}).then(
  s => { window.shared = s; document.title = "Meeting - sharing"; },
  e => { document.title = "Meeting - refused " + e.name; });
</script></body></html>"""
BANK = ("<!doctype html><html><head><meta charset='utf-8'><title>中国工商银行 - 个人网上银行</title></head>"
        "<body>个人网上银行登录</body></html>").encode("utf-8")


@pytest.fixture(scope="module")
def sway(wl_user):
    from tests.support.wayland import XDP, XDPW, require_root_and
    require_root_and("sway", "grim", "dbus-send", "gcc", XDPW, XDP)
    with sway_session(wl_user) as session:
        yield session


def _source(session, objects=None):
    objects = session.pw_dump() if objects is None else objects
    found = [n for n in nodes(objects, media_class="Video/Source")
             if str(n["info"]["props"].get("media.name", "")).startswith("xdpw-stream-")]
    return found[0] if found else None


def _consumed(session):
    objects = session.pw_dump()
    source = _source(session, objects)
    return source if source and linked(objects, source["id"]) else None


def test_portal_cast_to_gstreamer_is_an_os_share_of_the_consumer(sway):
    sway.pw_dump(record_as="wlroots-before")
    assert os_share(scan(sway)) is None, "no screen cast yet"

    client = sway.start("portal-cast", ["/usr/bin/python3", sway.copy_in(os.path.join(HERE, "portal_screencast.py"))],
                        stdout=subprocess.PIPE)
    node_id, gst_pid = (int(x) for x in client.stdout.readline().split())
    source = sway.wait_for("gst-launch linked to xdpw's stream", lambda: _consumed(sway))
    assert source["id"] == node_id
    props = source["info"]["props"]
    assert props["node.name"] == "xdg-desktop-portal-wlr" and props["media.name"].startswith("xdpw-stream-")
    sway.pw_dump(record_as="wlroots-gst-sharing")
    share = os_share(scan(sway))
    assert share is not None and share["state"] == "sharing", share
    assert share["pids"] == [gst_pid], "the share belongs to the app receiving the picture, not the portal"

    psutil.Process(gst_pid).terminate()  # the consumer alone: the portal session stays
    sway.wait_for("xdpw's stream to go idle without its consumer",
                  lambda: (_source(sway) or {}).get("info", {}).get("state") == "idle")
    sway.pw_dump(record_as="wlroots-idle")
    assert os_share(scan(sway)) is None, "an unconsumed (idle) stream is not a share"
    sway.stop(client)


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"/meeting": MEETING, "/bank": BANK}.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@pytest.fixture
def pages():
    """The meeting page and the bank page, served on loopback."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _console_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def test_chromium_getdisplaymedia_is_a_share_and_a_bank_tab_raises_the_alert(sway, pages):
    from tests.support.xsession import require_programs
    require_programs("chromium")
    console_log = os.path.join(sway.runtime, "agent-console.log")
    agent = start_console(sway, console_log)
    try:
        sway.wait_for("the console agent's first state line",
                      lambda: any("No screen sharing" in line for line in _console_lines(console_log)))
        profile = os.path.join(sway.runtime, "chromium-profile")
        devtools = _free_port()  # loopback only (Chromium's default for this port)
        chromium = sway.start("chromium", [
            "chromium", "--ozone-platform=wayland", f"--user-data-dir={profile}", "--no-first-run",
            "--no-default-browser-check", "--disable-gpu", "--no-sandbox", "--password-store=basic",
            # Accept the share picker without a person; the portal then picks the output (chooser_type=none).
            "--use-fake-ui-for-media-stream",
            f"--remote-debugging-port={devtools}", pages + "/meeting"])
        source = sway.wait_for("Chromium's capture stream linked to xdpw's", lambda: _consumed(sway), timeout=90)
        objects = sway.pw_dump(record_as="wlroots-chromium-sharing")
        consumer = [n for n in nodes(objects, media_class="Stream/Input/Video")
                    if n["id"] in linked(objects, source["id"])][0]
        assert consumer["info"]["props"]["media.name"] == "webrtc-consume-stream"
        share = os_share(scan(sway))
        assert share is not None and share["state"] == "sharing", share
        (pid,) = share["pids"]
        browser = psutil.Process(pid)
        assert browser.name() == "chromium" and browser.uids().real == sway.user.pw_uid
        assert pid == chromium.pid or chromium.pid in [p.pid for p in browser.parents()]

        # The scammer's next step: "now open your bank". A new tab in front; the share goes on behind it.
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{devtools}/json/new?{pages}/bank", method="PUT"), timeout=10).read()
        alert = sway.wait_for("an ALERT line from shareguard run --console", lambda: [
            line for line in _console_lines(console_log) if "ALERT" in line], timeout=90)
        sway.sway_tree(record_as="sway-tree-bank-tab")
        assert "ICBC" in alert[0] or "工商银行" in alert[0] or "bank" in alert[0].lower(), alert
        verdict = scan(sway)
        assert verdict["alert"] and verdict["level"] == "block", verdict
        assert os_share(verdict)["state"] == "sharing"

        sway.stop(chromium)
        sway.wait_for("xdpw's stream to end with Chromium", lambda: not _consumed(sway))
        sway.wait_for("the console to say the alert is over", lambda: any(
            "Alert over" in line for line in _console_lines(console_log)), timeout=90)
        assert os_share(scan(sway)) is None
    finally:
        agent.terminate()
        agent.wait(timeout=10)
    lines = _console_lines(console_log)
    print("shareguard run --console said:", *lines, sep="\n  ")  # shown with pytest -s
    assert any("Screen capture (OS)" in line for line in lines), lines
    # Window events come from sway's IPC (no X display here): the watcher must have started.
    assert not any("watcher not started" in line for line in lines), lines
