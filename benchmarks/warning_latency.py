"""Time from a bank window appearing to the blocking warning being on screen.

    .venv/bin/python benchmarks/warning_latency.py [--tries 20] [--json OUT]

A real desktop (Xvfb 1280x800 + openbox + trayer + dunst) and the real
pipeline: the Linux collector with its X11 window events, the engine with
the built-in signatures, the UI client and its warm helper process. A
process named like RustDesk's connection manager (``rustdesk --cm``, an
incoming session) runs the whole time. Each try opens a new window titled
like an ICBC online-banking page, waits for the warning, closes the bank
window and waits for the warning to go away.

Both moments are taken the same way: a separate X client, in its own
process, listens for MapNotify on the root window (SubstructureNotify) and
stamps each map with time.monotonic() (one clock for every process) as it
arrives, so the figure is "bank window mapped" to "warning window mapped" as
the X server reports them. Until 2026-11-27 the listener was a thread of this
process, which also runs the agent under test: its stamps waited for the GIL
behind the agent's own threads, 5-30 ms late on the warning's map (the helper's
Tk had seen that map already). Not a test: figures depend on the machine;
report them with the machine's load.

    .venv/bin/python benchmarks/warning_latency.py --listen DISPLAY   # the listener alone
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from Xlib import X  # noqa: E402
from Xlib import display as xdisplay  # noqa: E402

from benchmarks.processes import rss_mib  # noqa: E402
from tests.gui.uikit import live_guard, wait_until  # noqa: E402
from tests.support import fakeapps  # noqa: E402
from tests.support.xsession import x_session  # noqa: E402

ICBC = "中国工商银行 - 个人网上银行 - Mozilla Firefox"


def _classes(window) -> set:
    """WM_CLASS names found in ``window``'s tree (openbox maps a frame holding the client)."""
    found, todo = set(), [window]
    while todo:
        w = todo.pop()
        try:
            cls = w.get_wm_class()
            if cls:
                found.update(cls)
            todo.extend(w.query_tree().children)
        except Exception:  # the window may already be gone
            continue
    return found


def listen(display: str) -> None:
    """The listener process: one line per top-level map, ``stamp<TAB>class<TAB>class...`` (stamp first)."""
    d = xdisplay.Display(display)
    d.screen().root.change_attributes(event_mask=X.SubstructureNotifyMask)
    d.sync()
    print("ready", flush=True)
    fd = d.fileno()
    while True:
        if not d.pending_events():
            select.select([fd], [], [], 0.2)
        while d.pending_events():
            ev = d.next_event()
            if ev.type == X.MapNotify:
                stamp = time.monotonic()
                print("\t".join([repr(stamp), *sorted(_classes(ev.window))]), flush=True)


class MapListener:
    """Runs :func:`listen` in a child process and keeps its stamps: (monotonic, wm classes)."""

    def __init__(self, display: str) -> None:
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--listen", display],
                                     stdout=subprocess.PIPE, text=True)
        if self.proc.stdout is None or self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the map listener did not start")
        self.maps: list = []
        threading.Thread(target=self._read, name="map-listener", daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout or ():
            stamp, *classes = line.rstrip("\n").split("\t")
            self.maps.append((float(stamp), set(classes)))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)

    def first_after(self, t0: float, cls: str):
        for stamp, classes in list(self.maps):
            if stamp >= t0 and cls in classes:
                return stamp
        return None


def measure(tries: int) -> dict:
    with x_session(wm=True, tray=True, notifications=True) as session:
        listener = MapListener(session.display)
        tool = fakeapps.start_fake_process("rustdesk", ["--cm"])
        results = []
        helper_rss = None
        try:
            with live_guard(session, "en", poll_seconds=2.0, countdown_seconds=10) as (runtime, ui, _pc):
                time.sleep(1.5)  # let first-seen notices and the first ticks pass
                for i in range(tries):
                    cls = f"banktry{i}"  # WM_CLASS instance: tells this try's window apart
                    t_start = time.monotonic()
                    shown_before = sum(1 for m in ui.reports if m.get("event") == "shown")
                    window = fakeapps.open_window(session, ICBC, wm_class="Firefox", instance=cls)
                    try:
                        wait_until(lambda n=shown_before: sum(1 for m in ui.reports if m.get("event") == "shown") > n,
                                   20, "warning shown")
                        t_bank = wait_until(lambda t=t_start, c=cls: listener.first_after(t, c), 5, "bank map seen")
                        t_warn = wait_until(lambda t=t_bank: listener.first_after(t, "ShareGuardWarning"), 5,
                                            "warning map seen")
                        results.append((t_warn - t_bank) * 1000.0)
                        print(f"try {i + 1:2d}: {results[-1]:7.1f} ms", flush=True)
                    finally:
                        window.close()
                    wait_until(lambda: ui.last_view is not None and not ui.last_view.get("alert"), 20,
                               "alert over")
                    time.sleep(0.5)
                helper_rss = max((rss_mib(pid) for pid in ui.helper_pids()), default=None)
        finally:
            listener.close()
            fakeapps.stop(tool)
    ordered = sorted(results)
    return {
        "tries": len(results),
        "median_ms": round(statistics.median(results), 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
        "worst_ms": round(max(results), 1),
        "best_ms": round(min(results), 1),
        "helper_rss_mib": helper_rss,
        "all_ms": [round(r, 1) for r in results],
        "poll_seconds": 2.0,
        "listener": "own process",
        "cpus": os.cpu_count(),
        "loadavg_at_end": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--listen", metavar="DISPLAY", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.listen:
        listen(args.listen)
        return 0
    figures = measure(args.tries)
    print(f"bank window mapped -> warning mapped, {figures['tries']} tries: median {figures['median_ms']} ms, "
          f"p95 {figures['p95_ms']} ms, worst {figures['worst_ms']} ms (best {figures['best_ms']} ms)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
