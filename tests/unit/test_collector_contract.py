"""One contract for every collector backend: Linux (X11 and Wayland/PipeWire), Windows, macOS, null.

Each backend is built with the template's constructor arguments
(agent/collectors/base.py) on the faked OS layer of its platform
(tests/support/fake_os.py: recorded answers, broken sources) and must:

* be the class ``agent.collectors`` selects for its backend name;
* return a :class:`Snapshot` whose platform is its own, made of the model's
  types in tuples, with capture confidences and unavailable pairs in shape;
* survive as a replay file: ``snapshot_to_dict`` then the scenario reader
  gives the same snapshot back (so ``shareguard scan --save`` output replays);
* report a broken source in ``unavailable`` instead of raising;
* turn an OS error escaping any source into that source's unavailable entry
  in the user's language (the template's one error boundary), keeping the rest.
"""

import json

import psutil
import pytest

from agent.collectors import BACKENDS, NullCollector, collector_class
from agent.collectors.base import SOURCES, Collector
from agent.model import PLATFORMS, CaptureFact, Connection, DeviceUse, ProcessInfo, Snapshot, WindowInfo
from agent.snapshot_io import parse_scenario, snapshot_to_dict
from tests.support.fake_os import (
    FakeMacApi,
    FakeProcessTable,
    FakeRegistry,
    FakeWindowApi,
    connections_reader,
    linux_collector,
    mac_collector,
    windows_api,
    windows_collector,
)

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

LINUX_PROCESSES = (ProcessInfo(pid=4321, name="chrome", exe="/opt/google/chrome/chrome"),)


def _null(**kwargs):
    return NullCollector(Snapshot(platform=NullCollector.platform, windows=LINUX_WINDOWS), **kwargs)


WORKING = {
    "linux-x11": lambda: linux_collector(LINUX_WINDOWS, processes=FakeProcessTable(LINUX_PROCESSES)),
    "linux-wayland": lambda: linux_collector(pw_dump="gnome-sharing.json", processes=FakeProcessTable(),
                                             x_unavailable=[("windows", "Wayland session: no X11 windows")]),
    "windows": lambda: windows_collector(WIN_STEP),
    "darwin": lambda: mac_collector(MAC_STEP),
    "null": lambda: _null(lang="en"),
}
BROKEN = {
    "linux": lambda: linux_collector(x_unavailable=[("windows", "cannot open display")], processes=FakeProcessTable()),
    "windows": lambda: _windows_broken(),
    "darwin": lambda: _mac_broken(),
    "null": lambda: NullCollector(Snapshot(platform=NullCollector.platform,
                                           unavailable=(("windows", "a recorded broken window list"),)), lang="en"),
}
BACKEND_OF = {"linux-x11": "linux", "linux-wayland": "linux", "windows": "windows", "darwin": "darwin",
              "null": "null"}


def _windows_broken():
    from agent.collectors._windows import WindowsCollector

    return WindowsCollector(windows_api(FakeWindowApi(broken=True),
                                        FakeRegistry(denied=[r"HKCU\graphicsCaptureProgrammatic"])),
                            processes=FakeProcessTable(), connections=connections_reader(
                                unavailable=[("connections", "refused")]), lang="en")


def _mac_broken():
    from agent.collectors._macos import MacCollector

    return MacCollector(FakeMacApi(broken=True, screen_watcher=None, session="none"),
                        processes=FakeProcessTable(), connections=None, lang="en")


def _break(collector: Collector, source: str, error: Exception) -> Collector:
    """Make ``read_<source>`` raise ``error`` (an OS error from deep inside a backend)."""
    def fail(*_args):
        raise error
    setattr(collector, "read_" + source, fail)
    return collector


BACKENDS_FOR_BOUNDARY = {
    "linux": lambda lang: linux_collector(LINUX_WINDOWS, processes=FakeProcessTable(LINUX_PROCESSES),
                                          connections=connections_reader(), lang=lang),
    "windows": lambda lang: windows_collector(WIN_STEP, lang=lang),
    "darwin": lambda lang: mac_collector(MAC_STEP, lang=lang),
    "null": lambda lang: _null(lang=lang),
}


def _check_shape(snap: Snapshot, collector: Collector) -> None:
    assert isinstance(snap, Snapshot)
    assert snap.platform == collector.platform and snap.platform in PLATFORMS
    assert isinstance(snap.time, float)
    for field, kind in (("processes", ProcessInfo), ("windows", WindowInfo), ("connections", Connection),
                        ("capture", CaptureFact), ("devices", DeviceUse)):
        items = getattr(snap, field)
        assert isinstance(items, tuple), field
        assert all(isinstance(item, kind) for item in items), field
    assert all(isinstance(w.title, str) and isinstance(w.visible, bool) and isinstance(w.foreground, bool)
               for w in snap.windows)
    assert all(c.confidence in ("high", "low") and isinstance(c.active, bool) for c in snap.capture)
    assert isinstance(snap.unavailable, tuple)
    assert all(isinstance(u, tuple) and len(u) == 2 and all(type(x) is str and x for x in u)
               for u in snap.unavailable)
    assert snap.events == ()  # user events are the runtime's to attach


def test_every_backend_is_covered():
    assert set(BACKEND_OF.values()) == set(BACKENDS) == set(BACKENDS_FOR_BOUNDARY)


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


@pytest.mark.parametrize("error", [OSError(5, "Input/output error"), psutil.AccessDenied(1, "x")],
                         ids=["OSError", "psutil"])
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("backend", sorted(BACKENDS_FOR_BOUNDARY))
def test_an_os_error_in_one_source_is_that_source_unavailable(backend, source, error):
    whole = BACKENDS_FOR_BOUNDARY[backend]("en").snapshot()
    broken = _break(BACKENDS_FOR_BOUNDARY[backend]("zh_CN"), source, error)
    snap = broken.snapshot()
    _check_shape(snap, broken)
    reasons = [why for where, why in snap.unavailable if where == source]
    assert reasons and reasons[-1].startswith("无法读取"), snap.unavailable
    assert getattr(snap, source) == ()
    # Capture and devices are tied to the processes of the same snapshot, so
    # without processes only the windows must stay the same.
    others = ("windows",) if source == "processes" else [s for s in SOURCES if s != source]
    for other in others:
        assert getattr(snap, other) == getattr(whole, other), other


@pytest.mark.parametrize("backend", sorted(BACKENDS_FOR_BOUNDARY))
def test_reasons_from_helpers_are_translated(backend):
    from agent.collectors.connections import MESSAGES
    from agent.collectors.reasons import reason

    refused = connections_reader(unavailable=[("connections", reason(MESSAGES, "refused", error="EPERM"))])
    for lang, words in (("en", "system-wide socket list refused"), ("zh_CN", "系统级网络连接列表被拒绝")):
        collector = BACKENDS_FOR_BOUNDARY[backend](lang)
        collector.connections = refused
        if backend == "null":
            continue  # the null collector reads no sockets
        got = dict(collector.snapshot().unavailable)["connections"]
        assert type(got) is str and got.startswith(words) and "EPERM" in got
