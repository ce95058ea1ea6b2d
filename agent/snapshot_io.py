"""Reading and writing snapshots in the replay format (docs/replay.md).

``shareguard replay`` reads scenario files with :func:`load_scenario`;
``shareguard scan --dump`` writes one with :func:`snapshot_to_dict`. Errors
name the file, the line, the step and the field, and say what to change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import yaml

from agent.model import (CAPTURE_SURFACES, DEVICE_KINDS, PLATFORMS, USER_ACTIONS, CaptureFact, Connection, DeviceUse,
                         IoRate, PageInfo, ProcessInfo, Snapshot, UserEvent, WindowInfo)

#: Top-level keys a scenario may carry besides a snapshot's own keys.
SCENARIO_KEYS = ("platform", "policy", "steps", "description", "name", "expect", "notes")
SNAPSHOT_KEYS = ("at", "processes", "windows", "connections", "capture", "devices", "pages", "events", "platform",
                 "unavailable", "description", "name", "notes")
DEFAULT_PLATFORM = "windows"


class ScenarioError(Exception):
    """A scenario file that cannot be replayed; ``str()`` says where and why."""

    def __init__(self, file: str, message: str, line: Optional[int] = None, step: Optional[int] = None,
                 field_path: str = "") -> None:
        self.file, self.line, self.step, self.field_path, self.message = file, line, step, field_path, message
        where = file + (f":{line}" if line else "")
        parts = [where]
        if step is not None:
            parts.append(f"step {step}")
        if field_path:
            parts.append(field_path)
        super().__init__(": ".join(parts) + ": " + message)


# -- YAML with line numbers ------------------------------------------------
class LineDict(dict):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: Optional[int] = None
    key_lines: Dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_with_lines(text: str, file: str) -> Any:
    """Parse YAML (or JSON, a subset) into plain data whose dicts know their lines."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ScenarioError(file, f"not valid YAML/JSON: {exc.problem}", line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(file, f"not valid YAML/JSON: {exc}") from None


def line_of(mapping: Any, key: Optional[str] = None) -> Optional[int]:
    if isinstance(mapping, LineDict):
        if key is not None and key in mapping.key_lines:
            return mapping.key_lines[key]
        return mapping.line
    return None


# -- scenario ----------------------------------------------------------------
@dataclass
class Scenario:
    """A parsed scenario: snapshots to replay in order through one engine."""

    file: str
    platform: str
    policy: Dict[str, Any] = field(default_factory=dict)
    policy_lines: Dict[str, int] = field(default_factory=dict)
    steps: List[Snapshot] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    expect: Any = None


class _Reader:
    """Turns one step's raw mapping into a Snapshot, collecting warnings."""

    def __init__(self, file: str, step: Optional[int], warnings: List[str]) -> None:
        self.file, self.step, self.warnings = file, step, warnings

    def error(self, where: Any, path: str, message: str, key: Optional[str] = None) -> ScenarioError:
        return ScenarioError(self.file, message, line=line_of(where, key), step=self.step, field_path=path)

    def mapping(self, value: Any, path: str, parent: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise self.error(parent, path, f"expected a mapping ({{key: value}}), got {_kind(value)}", key)
        return value

    def items(self, raw: dict, key: str) -> list:
        value = raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(raw, key, f"expected a list, got {_kind(value)}", key)
        return value

    def check_keys(self, raw: dict, allowed: Sequence[str], path: str) -> None:
        for key in raw:
            if key not in allowed:
                line = line_of(raw, key)
                where = f"{self.file}:{line}" if line else self.file
                step = f"step {self.step}: " if self.step is not None else ""
                self.warnings.append(f"{where}: {step}{path + '.' if path else ''}{key}: unknown key ignored "
                                     f"(known: {', '.join(allowed)})")

    def typed(self, raw: dict, key: str, path: str, types: tuple, what: str, required: bool = False,
              default: Any = None, convert: Optional[Callable[[Any], Any]] = None) -> Any:
        if key not in raw or raw[key] is None:
            if required:
                raise self.error(raw, f"{path}.{key}", f"missing required field '{key}'")
            return default
        value = raw[key]
        # bool is an int in Python; a `pid: true` is still a mistake.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise self.error(raw, f"{path}.{key}", f"expected {what}, got {_kind(value)} {value!r}", key)
        return convert(value) if convert else value

    def process(self, raw: Any, path: str, index: int) -> ProcessInfo:
        fields = ("pid", "ppid", "name", "exe", "cmdline", "create_time", "user", "io_rate")
        self.check_keys(raw, fields, path)
        cmdline = self.typed(raw, "cmdline", path, (list,), "a list of strings", default=[])
        if not all(isinstance(a, str) for a in cmdline):
            raise self.error(raw, f"{path}.cmdline", "expected a list of strings", "cmdline")
        pid = self.typed(raw, "pid", path, (int,), "an integer")
        return ProcessInfo(
            # A process without a pid still counts as running; it gets a
            # synthetic pid no real process has, so it links to nothing.
            pid=pid if pid is not None else -(index + 1),
            name=self.typed(raw, "name", path, (str,), "a string", required=True),
            ppid=self.typed(raw, "ppid", path, (int,), "an integer"),
            exe=self.typed(raw, "exe", path, (str,), "a string"),
            cmdline=tuple(cmdline),
            create_time=self.typed(raw, "create_time", path, (int, float), "a number", convert=float),
            user=self.typed(raw, "user", path, (str,), "a string"),
            io_rate=self.io_rate(raw, path),
        )

    def io_rate(self, raw: dict, path: str) -> Optional[IoRate]:
        if raw.get("io_rate") is None:
            return None
        rate = self.mapping(raw["io_rate"], f"{path}.io_rate", raw, "io_rate")
        path = f"{path}.io_rate"
        self.check_keys(rate, ("sent", "received", "seconds"), path)
        number = (int, float)
        return IoRate(sent=self.typed(rate, "sent", path, number, "bytes per second", required=True, convert=float),
                      received=self.typed(rate, "received", path, number, "bytes per second", default=0.0,
                                          convert=float),
                      seconds=self.typed(rate, "seconds", path, number, "a number of seconds", default=0.0,
                                         convert=float))

    def window(self, raw: dict, path: str) -> WindowInfo:
        self.check_keys(raw, ("pid", "title", "class", "visible", "foreground", "id"), path)
        return WindowInfo(
            title=self.typed(raw, "title", path, (str,), "a string", default=""),
            pid=self.typed(raw, "pid", path, (int,), "an integer"),
            wm_class=self.typed(raw, "class", path, (str,), "a string"),
            visible=self.typed(raw, "visible", path, (bool,), "true or false", default=True),
            foreground=self.typed(raw, "foreground", path, (bool,), "true or false", default=False),
            window_id=self.typed(raw, "id", path, (int,), "an integer"),
        )

    def connection(self, raw: dict, path: str) -> Connection:
        self.check_keys(raw, ("pid", "proto", "status", "local", "remote"), path)
        return Connection(
            pid=self.typed(raw, "pid", path, (int,), "an integer"),
            proto=self.typed(raw, "proto", path, (str,), "a string", default="tcp"),
            status=self.typed(raw, "status", path, (str,), "a string", default=""),
            local=self.typed(raw, "local", path, (str,), "a string like '10.0.0.5:50123'", default=""),
            remote=self.typed(raw, "remote", path, (str,), "a string like '1.2.3.4:5938'", default=""),
        )

    def capture(self, raw: dict, path: str) -> CaptureFact:
        self.check_keys(raw, ("source", "pid", "active", "detail", "confidence"), path)
        confidence = self.typed(raw, "confidence", path, (str,), "high or low", default="high")
        if confidence not in ("high", "low"):
            raise self.error(raw, f"{path}.confidence", f"expected high or low, got {confidence!r}", "confidence")
        return CaptureFact(
            source=self.typed(raw, "source", path, (str,), "a string", required=True),
            active=self.typed(raw, "active", path, (bool,), "true or false", default=True),
            pid=self.typed(raw, "pid", path, (int,), "an integer"),
            detail=self.typed(raw, "detail", path, (str,), "a string", default=""),
            confidence=confidence,
        )

    def device(self, raw: dict, path: str) -> DeviceUse:
        self.check_keys(raw, ("device", "pid", "source", "detail"), path)
        device = self.typed(raw, "device", path, (str,), "microphone or camera", required=True)
        if device not in DEVICE_KINDS:
            raise self.error(raw, f"{path}.device", f"unknown device {device!r}; use one of {', '.join(DEVICE_KINDS)}",
                             "device")
        return DeviceUse(
            device=device,
            pid=self.typed(raw, "pid", path, (int,), "an integer"),
            source=self.typed(raw, "source", path, (str,), "a string", default=""),
            detail=self.typed(raw, "detail", path, (str,), "a string", default=""),
        )

    def page(self, raw: dict, path: str) -> PageInfo:
        self.check_keys(raw, ("pid", "browser", "url", "title", "active", "visible", "capturing", "shared"), path)
        capturing = self.typed(raw, "capturing", path, (str,), "monitor, window or browser")
        if capturing is not None and capturing not in CAPTURE_SURFACES:
            raise self.error(raw, f"{path}.capturing",
                             f"unknown surface {capturing!r}; use one of {', '.join(CAPTURE_SURFACES)}", "capturing")
        return PageInfo(
            url=self.typed(raw, "url", path, (str,), "a string", default=""),
            title=self.typed(raw, "title", path, (str,), "a string", default=""),
            pid=self.typed(raw, "pid", path, (int,), "an integer"),
            browser=self.typed(raw, "browser", path, (str,), "a string", default=""),
            active=self.typed(raw, "active", path, (bool,), "true or false", default=True),
            visible=self.typed(raw, "visible", path, (bool,), "true or false", default=True),
            capturing=capturing,
            shared=self.typed(raw, "shared", path, (bool,), "true or false", default=False),
        )

    def event(self, raw: dict, path: str) -> UserEvent:
        self.check_keys(raw, ("action",), path)
        action = self.typed(raw, "action", path, (str,), "a string", required=True)
        if action not in USER_ACTIONS:
            raise self.error(raw, f"{path}.action", f"unknown action {action!r}; use one of {', '.join(USER_ACTIONS)}",
                             "action")
        return UserEvent(action=action)

    def snapshot(self, raw: dict, platform: str, default_time: float, allowed: Sequence[str]) -> Snapshot:
        self.check_keys(raw, allowed, "")
        at = self.typed(raw, "at", "at", (int, float), "a number of seconds", default=default_time, convert=float)
        platform = self.typed(raw, "platform", "platform", (str,), "a string", default=platform)
        if platform not in PLATFORMS:
            raise self.error(raw, "platform", f"unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}",
                             "platform")

        def each(key: str, build: Callable[[dict, str], Any]) -> tuple:
            out = []
            for i, item in enumerate(self.items(raw, key)):
                path = f"{key}[{i}]"
                out.append(build(self.mapping(item, path, raw, key), path))
            return tuple(out)

        procs = tuple(self.process(self.mapping(item, f"processes[{i}]", raw, "processes"), f"processes[{i}]", i)
                      for i, item in enumerate(self.items(raw, "processes")))
        unavailable = tuple((str(u.get("source", "")), str(u.get("reason", ""))) if isinstance(u, dict) else (str(u), "")
                            for u in self.items(raw, "unavailable"))
        return Snapshot(platform=platform, time=at, processes=procs, windows=each("windows", self.window),
                        connections=each("connections", self.connection), capture=each("capture", self.capture),
                        events=each("events", self.event), unavailable=unavailable, devices=each("devices", self.device),
                        pages=each("pages", self.page))


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


def parse_scenario(data: Any, file: str) -> Scenario:
    """Validate parsed scenario data and build its snapshots."""
    warnings: List[str] = []
    top = _Reader(file, None, warnings)
    if not isinstance(data, dict):
        raise ScenarioError(file, f"expected a mapping at the top (a snapshot or 'steps:'), got {_kind(data)}",
                            line=1)
    platform = top.typed(data, "platform", "platform", (str,), "a string", default=DEFAULT_PLATFORM)
    if platform not in PLATFORMS:
        raise top.error(data, "platform", f"unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}",
                        "platform")
    policy = data.get("policy") or {}
    if not isinstance(policy, dict):
        raise top.error(data, "policy", f"expected a mapping of policy keys, got {_kind(policy)}", "policy")
    scenario = Scenario(file=file, platform=platform, policy=dict(policy),
                        policy_lines=dict(getattr(policy, "key_lines", {})), warnings=warnings,
                        expect=data.get("expect"))
    if "steps" in data:
        top.check_keys(data, SCENARIO_KEYS, "")
        steps = data["steps"]
        if not isinstance(steps, list) or not steps:
            raise top.error(data, "steps", "expected a non-empty list of snapshots", "steps")
        for i, raw in enumerate(steps):
            reader = _Reader(file, i, warnings)
            raw = reader.mapping(raw, f"steps[{i}]", data, "steps")
            scenario.steps.append(reader.snapshot(raw, platform, float(i), SNAPSHOT_KEYS))
    else:
        allowed = tuple(dict.fromkeys(SCENARIO_KEYS + SNAPSHOT_KEYS))
        scenario.steps.append(_Reader(file, 0, warnings).snapshot(data, platform, 0.0, allowed))
    return scenario


def read_text(path: str, name: Optional[str] = None) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark is dropped); ScenarioError names ``name`` or ``path``."""
    name = name or path
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ScenarioError(name, f"cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(name, f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None


def load_scenario(path: str, display_name: Optional[str] = None) -> Scenario:
    """Read and validate a scenario file (YAML or JSON)."""
    name = display_name or path
    return parse_scenario(load_yaml_with_lines(read_text(path, name), name), name)


# -- writing -----------------------------------------------------------------
def _drop_empty(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, (), [], "")}


def _io_rate_dict(rate: Optional[IoRate]) -> Optional[Dict[str, float]]:
    if rate is None:
        return None
    return {"sent": rate.sent, "received": rate.received, "seconds": rate.seconds}


def snapshot_to_dict(snapshot: Snapshot, with_events: bool = True) -> Dict[str, Any]:
    """A snapshot in replay format: a single-snapshot scenario file's contents."""
    out: Dict[str, Any] = {"platform": snapshot.platform, "at": snapshot.time}
    out["processes"] = [_drop_empty({"pid": p.pid, "ppid": p.ppid, "name": p.name, "exe": p.exe,
                                     "cmdline": list(p.cmdline), "create_time": p.create_time, "user": p.user,
                                     "io_rate": _io_rate_dict(p.io_rate)})
                        for p in snapshot.processes]
    out["windows"] = [_drop_empty({"pid": w.pid, "title": w.title, "class": w.wm_class, "visible": w.visible,
                                   "foreground": w.foreground, "id": w.window_id})
                      for w in snapshot.windows]
    out["connections"] = [_drop_empty({"pid": c.pid, "proto": c.proto, "status": c.status, "local": c.local,
                                       "remote": c.remote}) for c in snapshot.connections]
    out["capture"] = [_drop_empty({"source": c.source, "pid": c.pid, "active": c.active, "detail": c.detail,
                                   "confidence": c.confidence}) for c in snapshot.capture]
    if snapshot.devices:
        out["devices"] = [_drop_empty({"device": d.device, "pid": d.pid, "source": d.source, "detail": d.detail})
                          for d in snapshot.devices]
    if snapshot.pages:
        out["pages"] = [_drop_empty({"pid": g.pid, "browser": g.browser, "url": g.url, "title": g.title,
                                     "active": g.active, "visible": g.visible, "capturing": g.capturing,
                                     "shared": g.shared or None})
                        for g in snapshot.pages]
    if with_events and snapshot.events:
        out["events"] = [{"action": e.action} for e in snapshot.events]
    if snapshot.unavailable:
        out["unavailable"] = [{"source": s, "reason": r} for s, r in snapshot.unavailable]
    return out


def dump_snapshot(snapshot: Snapshot, path: str) -> None:
    """Write ``snapshot`` as a replayable YAML (or JSON for *.json) file."""
    data = snapshot_to_dict(snapshot)
    with open(path, "w", encoding="utf-8") as f:
        if path.endswith(".json"):
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write("\n")
        else:
            f.write("# ShareGuard snapshot (replay with: shareguard replay FILE). It holds window titles: "
                    "share it only with people you trust.\n")
            yaml.safe_dump(data, f, allow_unicode=True, sort_keys=False, width=200)


def without_pids(snapshot: Snapshot, ended: Dict[int, Optional[float]]) -> Snapshot:
    """``snapshot`` minus the processes (and their windows, sockets, capture facts) in ``ended``.

    Used by replay to make ``stop_sharing`` take effect: "the next step sees
    them gone". A pid reused by a new process (other create_time) stays.
    """
    if not ended:
        return snapshot

    def gone(pid: Optional[int]) -> bool:
        return pid is not None and pid in ended

    procs = tuple(p for p in snapshot.processes
                  if not (p.pid in ended and (ended[p.pid] is None or p.create_time in (None, ended[p.pid]))))
    kept = {p.pid for p in procs}
    return Snapshot(
        platform=snapshot.platform, time=snapshot.time, processes=procs,
        windows=tuple(w for w in snapshot.windows if not gone(w.pid) or w.pid in kept),
        connections=tuple(c for c in snapshot.connections if not gone(c.pid) or c.pid in kept),
        capture=tuple(c for c in snapshot.capture if not gone(c.pid) or c.pid in kept),
        devices=tuple(d for d in snapshot.devices if not gone(d.pid) or d.pid in kept),
        pages=tuple(g for g in snapshot.pages if not gone(g.pid) or g.pid in kept),
        events=snapshot.events, unavailable=snapshot.unavailable,
    )


def ended_map(pids: Sequence[int], snapshot: Snapshot) -> Dict[int, Optional[float]]:
    """pid -> create_time (None if unknown) for the processes a verdict ended."""
    times = {p.pid: p.create_time for p in snapshot.processes}
    return {pid: times.get(pid) for pid in pids}

