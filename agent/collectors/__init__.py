"""Pick the collector for this OS.

Like pystray's backend choice: :data:`BACKENDS` maps a name to a lazy
importer, ``SHAREGUARD_COLLECTOR`` forces one name, otherwise the names in
:data:`ORDER` for ``sys.platform`` are tried in turn. When none loads,
:class:`CollectorUnavailable` lists every backend's import error at once.

Backends: ``linux`` (:class:`agent.collectors._linux.LinuxCollector`),
``windows`` (:class:`agent.collectors._windows.WindowsCollector`),
``darwin`` (:class:`agent.collectors._macos.MacCollector`) and ``null``
(:class:`NullCollector`, an empty machine for tests).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Callable, Dict, List, Mapping, Optional, Tuple, Type

from agent import i18n
from agent.collectors.base import Collector
from agent.collectors.reasons import reason
from agent.model import Snapshot

ENV_VAR = "SHAREGUARD_COLLECTOR"

MESSAGES = i18n.register(__name__, {
    "null": {"en": "null collector: nothing is read", "zh_CN": "空采集器：不读取任何内容"},
})


def _platform_name(platform: str) -> str:
    if platform.startswith("win") or platform == "cygwin":
        return "windows"
    if platform == "darwin":
        return "darwin"
    return "linux"


class NullCollector(Collector):
    """Sees nothing, or the fixed snapshot given as ``api``: for tests and dry runs.

    It reads no process and no socket; every source comes from the fixed
    snapshot (empty by default, with an ``unavailable`` note saying so).
    """

    name = "null"
    platform = _platform_name(sys.platform)

    def default_api(self) -> Snapshot:
        return Snapshot(platform=self.platform,
                        unavailable=(("collector", reason(MESSAGES, "null")),))

    def read_processes(self):
        return self.api.processes, self.api.unavailable

    def read_windows(self):
        return self.api.windows, ()

    def read_connections(self, processes):
        return self.api.connections, ()

    def read_capture(self, processes):
        return self.api.capture, ()

    def read_devices(self, processes):
        return self.api.devices, ()


def _importer(module: str, attr: str) -> Callable[[], Type[Collector]]:
    def load() -> Type[Collector]:
        return getattr(importlib.import_module(module), attr)
    return load


#: Backend name -> function returning the collector class (imports on call).
BACKENDS: Dict[str, Callable[[], Type[Collector]]] = {
    "linux": _importer("agent.collectors._linux", "LinuxCollector"),
    "windows": _importer("agent.collectors._windows", "WindowsCollector"),
    "darwin": _importer("agent.collectors._macos", "MacCollector"),
    "null": lambda: NullCollector,
}

#: Backends tried, in order, per ``sys.platform`` prefix; other Unixes try X11.
ORDER: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("linux", ("linux",)),
    ("win32", ("windows",)),
    ("cygwin", ("windows",)),
    ("darwin", ("darwin",)),
    ("", ("linux",)),
)


class CollectorUnavailable(RuntimeError):
    """No collector backend could be loaded; ``errors`` maps name -> reason."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        lines = [f"  {name}: {reason}" for name, reason in self.errors.items()]
        super().__init__("no collector backend could be loaded:\n" + "\n".join(lines))


def candidates(platform: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> List[str]:
    """The backend names to try, in order (the env override alone when set)."""
    env = os.environ if environ is None else environ
    forced = (env.get(ENV_VAR) or "").strip()
    if forced:
        return [forced]
    platform = sys.platform if platform is None else platform
    for prefix, names in ORDER:
        if platform.startswith(prefix):
            return list(names)
    return []  # pragma: no cover - ORDER ends with a catch-all


def collector_class(platform: Optional[str] = None,
                    environ: Optional[Mapping[str, str]] = None) -> Type[Collector]:
    """The first backend class that imports; raises CollectorUnavailable listing all failures."""
    errors: Dict[str, str] = {}
    for name in candidates(platform, environ):
        loader = BACKENDS.get(name)
        if loader is None:
            errors[name] = f"unknown backend (set {ENV_VAR} to one of: {', '.join(BACKENDS)})"
            continue
        try:
            return loader()
        except (ImportError, AttributeError, OSError) as exc:
            # OSError: a ctypes library that failed to load is an import failure too.
            errors[name] = f"{type(exc).__name__}: {exc}"
    raise CollectorUnavailable(errors)


def get_collector(platform: Optional[str] = None, environ: Optional[Mapping[str, str]] = None,
                  **kwargs) -> Collector:
    """An instance of the collector for this OS (see module docstring)."""
    return collector_class(platform, environ)(**kwargs)
