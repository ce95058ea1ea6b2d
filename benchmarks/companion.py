"""Time from a tab switch in a real Chromium to the agent's snapshot showing the new tab.

    .venv/bin/python benchmarks/companion.py [--tries 30] [--json OUT]

A real Chromium under Xvfb + openbox with the companion extension loaded
unpacked and the native-messaging host really registered (as
``shareguard browser install`` does it), the agent's receiver on its private
channel, and the pages wrapper every collector gets in ``shareguard run``.
One window holds two tabs from a loopback HTTP server; each try presses
Ctrl+1 or Ctrl+2 through XTEST and takes the time from the key press to the
first snapshot whose active page is the other tab: extension event ->
native host -> local channel -> receiver -> snapshot. Not a test: figures
depend on the machine; report them with its load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from Xlib import XK, X  # noqa: E402
from Xlib import display as xdisplay  # noqa: E402
from Xlib.ext import xtest  # noqa: E402

from agent.collectors import NullCollector  # noqa: E402
from agent.companion.collector import WithPages  # noqa: E402
from agent.model import Snapshot  # noqa: E402
from tests.support.browsers import ChromiumRig  # noqa: E402
from tests.support.xsession import x_session  # noqa: E402

HOSTS = {"www.icbc.com.cn": "中国工商银行 ICBC", "meet.example.com": "Weekly call"}


def press(dpy, keysym_name: str) -> None:
    ctrl = dpy.keysym_to_keycode(XK.string_to_keysym("Control_L"))
    key = dpy.keysym_to_keycode(XK.string_to_keysym(keysym_name))
    xtest.fake_input(dpy, X.KeyPress, ctrl)
    xtest.fake_input(dpy, X.KeyPress, key)
    xtest.fake_input(dpy, X.KeyRelease, key)
    xtest.fake_input(dpy, X.KeyRelease, ctrl)
    dpy.sync()


def measure(tries: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, x_session(wm=True) as session:
        rig = ChromiumRig(session, tmp, HOSTS)
        try:
            rig.open(rig.server.url("meet.example.com", "/j/42", id="meet"))
            rig.open(rig.server.url("www.icbc.com.cn", "/", id="bank"), new_window=False)
            rig.wait_page("www.icbc.com.cn", "the second tab", active=True)
            changed = threading.Event()
            collector = WithPages(NullCollector(Snapshot(platform="linux")), rig.receiver)
            collector.start_watch(changed.set)
            dpy = xdisplay.Display(session.display)
            session.run("xdotool", "search", "--onlyvisible", "--class", "chromium", "windowactivate", "--sync",
                        check=False)
            times = []
            for i in range(tries):
                target, key = (("meet.example.com", "1") if i % 2 == 0 else ("www.icbc.com.cn", "2"))
                changed.clear()
                start = time.monotonic()
                press(dpy, key)
                deadline = start + 10
                while time.monotonic() < deadline:
                    changed.wait(0.5)
                    changed.clear()
                    active = [p for p in collector.snapshot().pages if p.active and f"//{target}:" in p.url]
                    if active:
                        times.append((time.monotonic() - start) * 1000)
                        break
                else:
                    raise SystemExit(f"try {i}: the switch to {target} never reached the snapshot")
                time.sleep(0.3)
            dpy.close()
        finally:
            rig.close()
    times.sort()
    return {"tries": len(times), "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[math.ceil(len(times) * 0.95) - 1], 1),  # nearest rank
            "best_ms": round(times[0], 1), "worst_ms": round(times[-1], 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=30)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    result = measure(args.tries)
    print(f"tab switch -> agent snapshot, {result['tries']} tries: median {result['median_ms']} ms, "
          f"p95 {result['p95_ms']} ms (best {result['best_ms']}, worst {result['worst_ms']})")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
