"""One contract for every collector: Linux (X11 and Wayland/PipeWire), Windows, macOS.

Each collector is built on the faked OS layer of its platform (recorded
answers, broken sources) and must:

* be the class ``agent.collectors`` selects for its backend name;
* return a :class:`Snapshot` whose platform is its own, made of the model's
  types in tuples, with capture confidences and unavailable pairs in shape;
* survive as a replay file: ``snapshot_to_dict`` then the scenario reader
  gives the same snapshot back (so ``shareguard scan --save`` output replays);
* report a broken source in ``unavailable`` instead of raising.

The Linux collector takes no injected window layer, so its X11 reader is
swapped for a stand-in (``_windows`` attribute) and its PipeWire source is
given as the ``capture=`` argument, parsing recorded ``pw-dump`` output with
the Linux helper's own parser.
"""

import json
import os

import pytest

from agent.collectors import BACKENDS, collector_class
from agent.collectors.base import Collector
from agent.model import PLATFORMS, CaptureFact, Connection, ProcessInfo, Snapshot, WindowInfo
from agent.snapshot_io import parse_scenario, snapshot_to_dict
from tests.support.fake_os import (FakeMacApi, FakeProcessTable, FakeRegistry, FakeWindowApi, connections_reader,
                                   mac_collector, windows_collector)

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


class _FakeX11Windows:
    """Stands in for X11Windows: ``read() -> (windows, unavailable)``, ``close()``."""

    def __init__(self, windows=(), unavailable=()):
        self.windows, self.unavailable, self.closed = tuple(windows), tuple(unavailable), False

    def read(self):
        return self.windows, self.unavailable

    def close(self):
        self.closed = True


class _RecordedPipeWire:
    """Stands in for PipeWireCapture: parses a recorded pw-dump with the real parser."""

    def __init__(self, name):
        from agent.collectors._linux_wayland import parse_pw_dump

        with open(os.path.join(FIXTURES, "pw-dump", name), encoding="utf-8") as f:
            self.facts = parse_pw_dump(json.load(f))

    def read(self):
        return self.facts, ()


def _linux(windows=(), capture="no-screencast.json", x_unavailable=()):
    from agent.collectors._linux import LinuxCollector

    collector = LinuxCollector(display=":shareguard-contract-no-such-display", connections=False,
                               capture=_RecordedPipeWire(capture))
    collector._windows = _FakeX11Windows(windows, x_unavailable)
    return collector


WIN_STEP = {
    "at": 5, "foreground": 0x10,
    "processes": [{"pid": 7100, "name": "chrome.exe", "exe": r"C:\Program Files\Google\Chrome\Application\chrome.exe"},
                  {"pid": 9300, "name": "support_tool.exe", "exe": r"C:\Users\a\Downloads\support_tool.exe"}],
    "windows": [{"hwnd": 0x10, "title": "招商银行 - Google Chrome", "class": "Chrome_WidgetWin_1", "pid": 7100},
                {"hwnd": 0x11, "title": "x", "class": "y", "pid": 7100, "cloaked": 1}],
    "connections": [{"pid": 7100, "remote": "1.2.3.4:443", "status": "ESTABLISHED"}],
    "registry": {r"HKCU\graphicsCaptureProgrammatic\NonPackaged\C:#Users#a#Downloads#support_tool.exe":
                 {"LastUsedTimeStart": 133500000000000000, "LastUsedTimeStop": 0}},
}
MAC_STEP = {
    "at": 5, "frontmost_pid": 610, "screen_watcher": True,
    "processes": [{"pid": 610, "name": "Safari"}],
    "windows": [{"kCGWindowOwnerName": "Safari", "kCGWindowOwnerPID": 610, "kCGWindowName": "招商银行",
                 "kCGWindowLayer": 0, "kCGWindowIsOnscreen": True, "kCGWindowNumber": 9,
                 "kCGWindowBounds": {"X": 0, "Y": 0, "Width": 800, "Height": 600}}],
}
LINUX_WINDOWS = (WindowInfo(title="招商银行 - Google Chrome", pid=4321, wm_class="google-chrome", visible=True,
                            foreground=True, window_id=0x3a00004),)

WORKING = {
    "linux-x11": lambda: _linux(LINUX_WINDOWS),
    "linux-wayland": lambda: _linux(capture="gnome-sharing.json",
                                    x_unavailable=[("windows", "Wayland session: no X11 windows")]),
    "windows": lambda: windows_collector(WIN_STEP),
    "darwin": lambda: mac_collector(MAC_STEP),
}
BROKEN = {
    "linux": lambda: _linux(x_unavailable=[("windows", "cannot open display")]),
    "windows": lambda: _windows_broken(),
    "darwin": lambda: _mac_broken(),
}
BACKEND_OF = {"linux-x11": "linux", "linux-wayland": "linux", "windows": "windows", "darwin": "darwin"}


def _windows_broken():
    from agent.collectors._windows import WindowsCollector

    return WindowsCollector(window_api=FakeWindowApi(broken=True),
                            registry=FakeRegistry(denied=[r"HKCU\graphicsCaptureProgrammatic"]),
                            processes=FakeProcessTable(), connections=connections_reader(
                                unavailable=[("connections", "refused")]), lang="en")


def _mac_broken():
    from agent.collectors._macos import MacCollector

    return MacCollector(api=FakeMacApi(broken=True, screen_watcher=None, session="none"),
                        processes=FakeProcessTable(), connections=None, lang="en")


def _check_shape(snap: Snapshot, collector: Collector) -> None:
    assert isinstance(snap, Snapshot)
    assert snap.platform == collector.platform and snap.platform in PLATFORMS
    assert isinstance(snap.time, float)
    for field, kind in (("processes", ProcessInfo), ("windows", WindowInfo), ("connections", Connection),
                        ("capture", CaptureFact)):
        items = getattr(snap, field)
        assert isinstance(items, tuple), field
        assert all(isinstance(item, kind) for item in items), field
    assert all(isinstance(w.title, str) and isinstance(w.visible, bool) and isinstance(w.foreground, bool)
               for w in snap.windows)
    assert all(c.confidence in ("high", "low") and isinstance(c.active, bool) for c in snap.capture)
    assert isinstance(snap.unavailable, tuple)
    assert all(isinstance(u, tuple) and len(u) == 2 and all(isinstance(x, str) and x for x in u)
               for u in snap.unavailable)
    assert snap.events == ()  # user events are the runtime's to attach


@pytest.mark.parametrize("name", sorted(WORKING))
def test_backend_selection_names_the_class(name):
    collector = WORKING[name]()
    backend = BACKEND_OF[name]
    assert backend in BACKENDS
    assert collector_class(environ={"SHAREGUARD_COLLECTOR": backend}) is type(collector)
    assert isinstance(collector, Collector) and isinstance(collector.HAS_EVENTS, bool)
    assert collector.name == backend


@pytest.mark.parametrize("name", sorted(WORKING))
def test_snapshot_shape_and_content(name):
    collector = WORKING[name]()
    snap = collector.snapshot()
    _check_shape(snap, collector)
    if name == "linux-wayland":
        # No X11 windows to read; the PipeWire screen cast is the capture fact.
        assert snap.windows == () and any(c.active and c.confidence == "high" for c in snap.capture)
    else:
        assert [w.title for w in snap.windows if w.visible][0].startswith("招商银行")
    collector.close()


@pytest.mark.parametrize("name", sorted(WORKING))
def test_snapshot_survives_a_replay_file(name):
    snap = WORKING[name]().snapshot()
    data = json.loads(json.dumps(snapshot_to_dict(snap), ensure_ascii=False))
    (back,) = parse_scenario(data, f"{name}.json").steps
    assert back == snap


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_sources_are_reported_not_raised(name):
    collector = BROKEN[name]()
    snap = collector.snapshot()
    _check_shape(snap, collector)
    assert "windows" in {source for source, _ in snap.unavailable}
