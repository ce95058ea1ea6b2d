"""Reading and writing snapshots in the replay format (docs/replay.md).

``shareguard replay`` reads scenario files with :func:`load_scenario`;
``shareguard scan --dump`` writes one with :func:`snapshot_to_dict`. Both,
and replay's help, are derived from the fields of :mod:`agent.model`: a new
model field is read, written and documented without touching this module.
Only where the file format differs from the model is there an entry here:
:data:`RENAMES` (file keys), :data:`CHOICES` (allowed texts) and
:data:`FILE_DEFAULTS` (optional in a file although the model requires it).

Errors name the file, the line, the step and the field, say what to change,
and all of them are reported at once (:class:`agent.sourcefile.SourceError`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import marshal
import math
import textwrap
import typing
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from agent import model
from agent.model import (
    CAPTURE_SURFACES,
    CONFIDENCES,
    DEVICE_KINDS,
    PLATFORMS,
    USER_ACTIONS,
    CaptureFact,
    DeviceUse,
    PageInfo,
    ProcessInfo,
    Snapshot,
    UserEvent,
    WindowInfo,
)
from agent.sourcefile import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MAX_NODES,
    Doubt,
    NodeReader,
    Problem,
    SourceError,
    brief,
    compose,
    errors,
    line_of,
    node_from_data,
    plain_values,
    read_source,
    scalar_value,
    to_python,
)

#: Model field -> file key, where they differ.
RENAMES: Dict[Tuple[type, str], str] = {
    (Snapshot, "time"): "at",
    (WindowInfo, "wm_class"): "class",
    (WindowInfo, "window_id"): "id",
}
#: Texts a field accepts, from the model's own tables.
CHOICES: Dict[Tuple[type, str], Tuple[str, ...]] = {
    (Snapshot, "platform"): PLATFORMS,
    (CaptureFact, "confidence"): CONFIDENCES,
    (DeviceUse, "device"): DEVICE_KINDS,
    (UserEvent, "action"): USER_ACTIONS,
    (PageInfo, "capturing"): CAPTURE_SURFACES,
}
#: How an error names a wrong choice ("unknown surface 'screen'"), where not by its key.
CHOICE_NOUNS: Dict[Tuple[type, str], str] = {
    (PageInfo, "capturing"): "surface",
}
#: Fields the model requires that a file may leave out, with the value they then get.
#: (A process without a pid still runs: it gets a synthetic negative pid, see _Reader.records.)
FILE_DEFAULTS: Dict[Tuple[type, str], Any] = {
    (ProcessInfo, "pid"): None,
    (WindowInfo, "title"): "",
    (model.Connection, "pid"): None,
    (CaptureFact, "active"): True,
}
#: Snapshot fields a scenario sets per file or per step rather than as data.
_STEP_FIELDS = ("platform", "time")

#: Top-level keys a scenario may carry besides a snapshot's own keys.
SCENARIO_KEYS = ("platform", "policy", "steps", "description", "name", "expect", "notes")
DEFAULT_PLATFORM = "windows"


# --------------------------------------------------------------------------- fields from the model


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """How one model field appears in a file."""

    name: str                      # the model attribute
    key: str                       # the file key
    kind: str                      # int | float | str | bool | strings | record | records | pairs
    required: bool
    default: Any = None
    record: Optional[type] = None  # for record / records
    choices: Tuple[str, ...] = ()
    noun: str = ""                 # how a wrong choice is named (default: the key)


def _classify(hint: Any) -> Tuple[str, Optional[type]]:
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union:           # Optional[X]
        return _classify(next(a for a in args if a is not type(None)))
    if typing.get_origin(hint) is tuple:
        item = args[0]
        if item is str:
            return "strings", None
        if dataclasses.is_dataclass(item):
            return "records", typing.cast(type, item)
        return "pairs", None                                # Tuple[Tuple[str, str], ...]
    if dataclasses.is_dataclass(hint):
        return "record", typing.cast(type, hint)
    return {int: "int", float: "float", str: "str", bool: "bool"}[hint], None


@functools.lru_cache(maxsize=None)
def fields_of(cls: type) -> Tuple[FieldSpec, ...]:
    """The file fields of a model dataclass, in model order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        kind, record = _classify(hints[f.name])
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        required = not has_default and (cls, f.name) not in FILE_DEFAULTS
        default = FILE_DEFAULTS.get((cls, f.name), default)
        key = RENAMES.get((cls, f.name), f.name)
        out.append(FieldSpec(f.name, key, kind, required, default, record, CHOICES.get((cls, f.name), ()),
                             CHOICE_NOUNS.get((cls, f.name), key)))
    return tuple(out)


#: Keys one snapshot (a step) may carry.
SNAPSHOT_KEYS = tuple(s.key for s in fields_of(Snapshot)) + ("description", "name", "notes")


def _describe(cls: type) -> str:
    parts = []
    for spec in fields_of(cls):
        text = spec.key
        if spec.kind == "record" and spec.record is not None:
            text += " " + _describe(spec.record)
        elif spec.choices:
            text += ": " + "|".join(spec.choices)
        if spec.required:
            text += " (required)"
        parts.append(text)
    return "{" + ", ".join(parts) + "}"


def fields_help(width: int = 78) -> str:
    """Every list of a snapshot and its fields, for ``shareguard replay --help``."""
    lists = [f"{s.key}[] {_describe(s.record)}" for s in fields_of(Snapshot)
             if s.kind == "records" and s.record is not None]
    lists += [f"{s.key}[] {{source, reason}}" for s in fields_of(Snapshot) if s.kind == "pairs"]
    return textwrap.fill(", ".join(lists) + ".", width, break_on_hyphens=False)


# --------------------------------------------------------------------------- reading


@dataclasses.dataclass
class Scenario:
    """A parsed scenario: snapshots to replay in order through one engine."""

    file: str
    platform: str
    policy: Dict[str, Any] = dataclasses.field(default_factory=dict)
    policy_lines: Dict[str, int] = dataclasses.field(default_factory=dict)
    steps: List[Snapshot] = dataclasses.field(default_factory=list)
    warnings: List[str] = dataclasses.field(default_factory=list)
    expect: Any = None
    #: The ``policy:`` mapping as nodes (lines of nested values too), None without one.
    policy_node: Optional[yaml.Node] = None


_BAD = object()


class _Reader(NodeReader):
    """Builds model objects from one step's nodes; every problem is recorded, none stops it."""

    WORDS = dict(NodeReader.WORDS, text="a string", any_text="a string", mapping="a mapping ({key: value})",
                 list="a list")

    def __init__(self, file: str, step: Optional[int], problems: List[Problem]) -> None:
        super().__init__(file)
        self.step = step
        self.problems = problems

    def err(self, where: Any, message: str, severity: str = "error") -> None:
        super().err(where, (f"step {self.step}: " if self.step is not None else "") + message, severity)

    def expected(self, node: yaml.Node, what: str, expectation: str) -> None:
        self.err(node, f"{what}: expected {self.WORDS[expectation]}, got {_kind(node)}")

    def unknown_key(self, key_node: yaml.Node, key: str, allowed: Sequence[str], what: str) -> None:
        self.err(key_node, f"{what + '.' if what else ''}{key}: unknown key ignored (known: {', '.join(allowed)})",
                 "warning")

    def value(self, spec: FieldSpec, node: yaml.Node, path: str) -> Any:
        """The field's value from ``node``, or _BAD after recording why."""
        if spec.kind == "int":
            value: Any = self.integer(node, path)
        elif spec.kind == "float":
            value = self.number(node, path)
        elif spec.kind == "bool":
            value = self.boolean(node, path)
        elif spec.kind == "str":
            value = self.string(node, path, allow_empty=True)
            if value is not None and spec.choices and value not in spec.choices:
                self.err(node, f"{path}: unknown {spec.noun} {brief(value)}; use one of {', '.join(spec.choices)}")
                value = None
        elif spec.kind == "strings":
            items = self.seq(node, path)
            value = tuple(scalar_value(i) if isinstance(i, yaml.ScalarNode) else None for i in items)
            if not all(isinstance(v, str) for v in value):
                self.err(node, f"{path}: expected a list of strings")
                value = None
        elif spec.kind == "record":
            value = self.record(spec.record, node, path)
        elif spec.kind == "records":
            value = self.records(spec.record, node, path)
        else:
            value = self.pairs(node, path)
        return _BAD if value is None else value

    def record(self, cls: Any, node: yaml.Node, path: str, preset: Optional[Dict[str, Any]] = None,
               extra_keys: Sequence[str] = ()) -> Any:
        """One model object from a mapping; None (problems recorded) if any field is wrong.

        ``preset`` gives fields the caller read itself (a step's platform and time).
        """
        kwargs: Dict[str, Any] = dict(preset or {})
        specs = [s for s in fields_of(cls) if s.name not in kwargs]
        values = self.mapping(node, tuple(s.key for s in fields_of(cls)) + tuple(extra_keys), path)
        if values is None:
            return None
        ok = True
        for spec in specs:
            sub = f"{path}.{spec.key}" if path else spec.key
            item = values.get(spec.key)
            if item is None or self.is_null(item):
                if spec.required:
                    self.err(node, f"{sub}: missing required field '{spec.key}'")
                    ok = False
                else:
                    kwargs[spec.name] = spec.default
                continue
            value = self.value(spec, item, sub)
            if value is _BAD:
                ok = False
            else:
                kwargs[spec.name] = value
        return cls(**kwargs) if ok else None

    def records(self, cls: Any, node: yaml.Node, path: str) -> Optional[tuple]:
        out = []
        ok = True
        for i, item in enumerate(self.seq(node, path)):
            rec = self.record(cls, item, f"{path}[{i}]")
            if rec is None:
                ok = False
            elif cls is ProcessInfo and rec.pid is None:
                # A process without a pid still counts as running; it gets a
                # synthetic pid no real process has, so it links to nothing.
                rec = dataclasses.replace(rec, pid=-(i + 1))
            out.append(rec)
        return tuple(out) if ok else None

    def pairs(self, node: yaml.Node, path: str) -> Optional[tuple]:
        """``unavailable``: ``{source, reason}`` mappings (or bare source names)."""
        out = []
        for i, item in enumerate(self.seq(node, path)):
            if isinstance(item, yaml.MappingNode):
                values = self.mapping(item, ("source", "reason"), f"{path}[{i}]") or {}
                out.append(tuple(self.string(values[k], f"{path}[{i}].{k}", allow_empty=True) or ""
                                 if k in values else "" for k in ("source", "reason")))
            elif isinstance(item, yaml.ScalarNode):
                out.append((str(scalar_value(item)), ""))
            else:
                self.expected(item, f"{path}[{i}]", "mapping")
        return tuple(out)

    def snapshot(self, node: yaml.MappingNode, platform: str, default_time: float, allowed: Sequence[str],
                 read_platform: bool = True) -> Optional[Snapshot]:
        values = self.mapping(node, allowed, "")
        if values is None:
            return None
        if read_platform and not self.is_null(values.get("platform")):
            spec = next(s for s in fields_of(Snapshot) if s.name == "platform")
            platform = self.value(spec, values["platform"], "platform")
        at: Optional[float] = default_time
        if not self.is_null(values.get("at")):
            at = self.number(values["at"], "at")
        ok = platform is not _BAD and at is not None
        # The rest is still read (and its problems reported) when platform or time is wrong.
        snapshot = self.record(Snapshot, _only(node, set(values) - {"platform", "at"}), "",
                               preset={"platform": platform if ok else DEFAULT_PLATFORM, "time": at if ok else 0.0},
                               extra_keys=allowed)
        return snapshot if ok else None


def _only(node: yaml.MappingNode, keys: set) -> yaml.MappingNode:
    """``node`` with only ``keys`` (the snapshot's data keys), marks kept."""
    kept = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value in keys]
    return yaml.MappingNode(node.tag, kept, node.start_mark, node.end_mark)


def _kind(node: yaml.Node) -> str:
    """``a string 'abc'``, ``a mapping``... as docs/replay.md words a wrong value (bounded)."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = scalar_value(node)
    name = {str: "a string", bool: "a boolean", int: "an integer", float: "a number",
            type(None): "nothing"}.get(type(value), type(value).__name__)
    return name if value is None else f"{name} {brief(value)}"


def parse_scenario(data: Any, file: str, problems: Sequence[Problem] = ()) -> Scenario:
    """Validate a scenario (nodes from :func:`agent.sourcefile.compose`, or plain data) and build its snapshots.

    Raises :class:`SourceError` with every error; unknown keys become ``warnings``.
    """
    found: List[Problem] = list(problems)
    node = data if isinstance(data, yaml.Node) or data is None else node_from_data(data)
    top = _Reader(file, None, found)
    scenario = Scenario(file=file, platform=DEFAULT_PLATFORM)
    if not isinstance(node, yaml.MappingNode):
        top.err(node if node is not None else 1,
                f"expected a mapping at the top (a snapshot or 'steps:'), got {_kind(node) if node else 'nothing'}")
        raise SourceError(errors(found))
    values = top.mapping(node, None, "") or {}
    if not top.is_null(values.get("platform")):
        spec = next(s for s in fields_of(Snapshot) if s.name == "platform")
        platform = top.value(spec, values["platform"], "platform")
        scenario.platform = platform if platform is not _BAD else DEFAULT_PLATFORM
    policy = values.get("policy")
    if policy is not None and not top.is_null(policy):
        if isinstance(policy, yaml.MappingNode):
            scenario.policy_node = policy
            scenario.policy = to_python(policy, file, found)
            scenario.policy_lines = {k.value: line_of(k) for k, _ in policy.value if isinstance(k, yaml.ScalarNode)}
        else:
            top.err(policy, f"policy: expected a mapping of policy keys, got {_kind(policy)}")
    if "expect" in values:
        scenario.expect = to_python(values["expect"], file, found)
    if "steps" in values:
        top.mapping(node, SCENARIO_KEYS, "")
        steps = values["steps"]
        if not isinstance(steps, yaml.SequenceNode) or not steps.value:
            top.err(steps, "steps: expected a non-empty list of snapshots")
        else:
            for i, raw in enumerate(steps.value):
                reader = _Reader(file, i, found)
                if not isinstance(raw, yaml.MappingNode):
                    reader.expected(raw, f"steps[{i}]", "mapping")
                    continue
                snapshot = reader.snapshot(raw, scenario.platform, float(i), SNAPSHOT_KEYS)
                if snapshot is not None:   # else its problems are recorded and raised below
                    scenario.steps.append(snapshot)
    else:
        allowed = tuple(dict.fromkeys(SCENARIO_KEYS + SNAPSHOT_KEYS))
        snapshot = _Reader(file, 0, found).snapshot(node, scenario.platform, 0.0, allowed, read_platform=False)
        if snapshot is not None:
            scenario.steps.append(snapshot)
    found.sort(key=lambda p: p.line)  # in file order, whichever reader found them
    if errors(found):
        raise SourceError(errors(found))
    scenario.warnings = [str(p) for p in found if p.severity != "error"]
    return scenario


# --------------------------------------------------------------------------- the fast path

#: Integers with more digits than the limit are the slow path's to report.
_INT_BOUND = 10 ** MAX_INT_DIGITS
#: Free-form values (expect, description...) nested deeper than this go the slow way.
_FREE_DEPTH = MAX_DEPTH - 4
#: Keys longer than libyaml's simple-key limit (1,024) are the slow path's to report.
_MAX_KEY = 1000


@functools.lru_cache(maxsize=None)
def _keys_of(cls: type) -> frozenset:
    return frozenset(s.key for s in fields_of(cls))


@functools.lru_cache(maxsize=None)
def _plan_of(cls: type) -> Tuple[Dict[str, FieldSpec], frozenset, Dict[str, Any]]:
    """File key -> spec, the required keys, and the file defaults to pass: those the model
    lacks or sets otherwise (leaving any other field out gives the model's own default)."""
    specs = fields_of(cls)
    defaults = {s.name: s.default for s in specs if not s.required
                and ((cls, s.name) in FILE_DEFAULTS or not _has_model_default(cls, s.name))}
    return {s.key: s for s in specs}, frozenset(s.key for s in specs if s.required), defaults


def _has_model_default(cls: type, name: str) -> bool:
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


class _ValueReader:
    """What :class:`_Reader` builds, from plain values and the same :func:`fields_of` specs.

    It accepts only what :class:`_Reader` would accept without a word (no
    error, no warning) and raises :class:`Doubt` at anything else, so a file
    with anything to say about it is read again the slow way, with lines.
    Counts values against :data:`MAX_NODES`: an aliased (shared) YAML value
    is walked, so counted, at every use, as the slow path counts it; half the
    limit already sends the file the slow way, which also ends any walk of a
    "billion laughs" or a self-referencing alias early.
    """

    def __init__(self, reuse: bool = False) -> None:
        self.nodes = 0
        #: Per list field: the marshalled raw list of the last step, what was built from it and
        #: the values it counted; and its records by their own marshalled bytes (see :meth:`records`).
        self._reuse = reuse
        self._last_lists: Dict[Tuple[type, str], Tuple[bytes, tuple, int]] = {}
        self._last_records: Dict[Tuple[type, str], Dict[bytes, Tuple[Any, int]]] = {}

    def container(self, size: int) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES // 2:   # near the limit: let the slow path count exactly
            raise Doubt("many values")

    def free(self, value: Any) -> None:
        """A value no field reads (expect, description...): only the limits apply."""
        stack = [(value, 0)]
        while stack:
            item, depth = stack.pop()
            kind = type(item)
            if kind is dict:
                if depth >= _FREE_DEPTH:
                    raise Doubt("deep")
                self.container(1 + 2 * len(item))
                for key in item:
                    self.scalar(key)
                    if type(key) is str and len(key) > _MAX_KEY:
                        raise Doubt("long key")
                stack.extend((v, depth + 1) for v in item.values())
            elif kind is list:
                if depth >= _FREE_DEPTH:
                    raise Doubt("deep")
                self.container(1 + len(item))
                stack.extend((v, depth + 1) for v in item)
            else:
                self.scalar(item)

    @staticmethod
    def scalar(value: Any) -> None:
        kind = type(value)
        if kind is int:
            if not -_INT_BOUND < value < _INT_BOUND:
                raise Doubt("long integer")
        elif kind not in (str, float, bool, type(None)):
            raise Doubt(f"a {kind.__name__}")  # a date, bytes, a set...: the slow path words it

    def value(self, spec: FieldSpec, value: Any) -> Any:
        kind = spec.kind
        if kind == "str":
            if type(value) is not str or (spec.choices and value not in spec.choices):
                raise Doubt(spec.key)
            return value
        if kind == "int":
            if type(value) is not int or not -_INT_BOUND < value < _INT_BOUND:
                raise Doubt(spec.key)
            return value
        if kind == "float":
            return self.number(value)
        if kind == "bool":
            if type(value) is not bool:
                raise Doubt(spec.key)
            return value
        if type(value) is not list:
            if kind == "record":
                return self.record(spec.record, value)
            raise Doubt(spec.key)
        self.container(1 + len(value))
        if kind == "strings":
            if not all(type(v) is str for v in value):
                raise Doubt(spec.key)
            return tuple(value)
        if kind == "records":
            return self.records(spec, value)
        return tuple(self.pair(item) for item in value)

    def records(self, spec: FieldSpec, value: list) -> tuple:
        """A list of records (its own count already taken).

        Steps of a recording repeat most records: with ``reuse`` (JSON text, which
        has no aliases, so marshalling a value costs no more than its text), a list
        whose marshalled form equals the last step's is answered with the same
        record objects, and in a changed list each record equal to one of the last
        step's is that same object. marshal writes types exactly (``1``, ``1.0``
        and ``true`` differ, unlike ``==``), so what is reused is what would be
        built, and its values are counted again as if read. The engine then finds
        unchanged records as the same objects (agent/engine/matching.ListMemo).
        """
        cls = typing.cast(type, spec.record)
        slot = (cls, spec.key)
        raw = marshal.dumps(value, 2) if self._reuse else b""
        last = self._last_lists.get(slot)
        if last is not None and last[0] == raw:
            self.container(last[2])
            return last[1]
        before = self.nodes
        known = self._last_records.get(slot, {})
        seen: Dict[bytes, Tuple[Any, int]] = {}
        out = []
        for i, item in enumerate(value):
            key = marshal.dumps(item, 2) if self._reuse else b""
            hit = known.get(key) if self._reuse else None
            if hit is not None:
                rec = hit[0]
                self.container(hit[1])
            else:
                start = self.nodes
                rec = self.record(cls, item)
                hit = (rec, self.nodes - start)
            seen[key] = hit
            if cls is ProcessInfo and rec.pid is None:
                rec = dataclasses.replace(rec, pid=-(i + 1))   # as _Reader.records
            out.append(rec)
        built = tuple(out)
        if self._reuse:
            self._last_lists[slot] = (raw, built, self.nodes - before)
            self._last_records[slot] = seen
        return built

    def number(self, value: Any) -> float:
        kind = type(value)
        if kind is int:
            if not -_INT_BOUND < value < _INT_BOUND:
                raise Doubt("long integer")
            return float(value)
        if kind is not float or not math.isfinite(value):
            raise Doubt("number")
        return value

    def pair(self, item: Any) -> Tuple[str, str]:
        if type(item) is dict:
            self.container(1 + 2 * len(item))
            if not item.keys() <= {"source", "reason"} or not all(type(v) is str for v in item.values()):
                raise Doubt("unavailable")
            return (item.get("source", ""), item.get("reason", ""))
        if type(item) is list:
            raise Doubt("unavailable")
        self.scalar(item)
        return (str(item), "")

    def record(self, cls: Any, value: Any, preset: Optional[Dict[str, Any]] = None,
               extra_keys: frozenset = frozenset()) -> Any:
        if type(value) is not dict:
            raise Doubt(cls.__name__)
        self.container(1 + 2 * len(value))
        keys = _keys_of(cls)
        if not value.keys() <= keys:
            extra = value.keys() - keys
            if not extra <= extra_keys:
                raise Doubt("unknown key")  # a warning the slow path gives with its line
            for key in extra:
                self.free(value[key])
        by_key, required, defaults = _plan_of(cls)
        kwargs: Dict[str, Any] = dict(defaults)
        if preset:
            kwargs.update(preset)
        if not required <= value.keys() and any(by_key[k].name not in kwargs for k in required - value.keys()):
            raise Doubt("missing field")
        for key, item in value.items():
            spec = by_key.get(key)
            if spec is None or (preset and spec.name in preset):
                continue  # an extra key (vetted above), or read by the caller (a step's platform and time)
            if item is None:
                if spec.required:
                    raise Doubt(key)
                continue  # its default is in kwargs already, or the model's own applies
            if spec.kind == "str" and type(item) is str and not spec.choices:
                kwargs[spec.name] = item  # the common case, inline
            else:
                kwargs[spec.name] = self.value(spec, item)
        return cls(**kwargs)

    def platform(self, value: Any, default: str) -> str:
        if value is None:
            return default
        if type(value) is not str or value not in PLATFORMS:
            raise Doubt("platform")
        return value

    def snapshot(self, value: Any, platform: str, default_time: float, allowed: frozenset,
                 read_platform: bool = True) -> Snapshot:
        if type(value) is not dict or not value.keys() <= allowed:
            raise Doubt("step")
        if read_platform:
            platform = self.platform(value.get("platform"), platform)
        at = value.get("at")
        return self.record(Snapshot, value, preset={"platform": platform, "time": default_time if at is None
                                                    else self.number(at)}, extra_keys=allowed)

    def scenario(self, data: Any, file: str) -> Scenario:
        if type(data) is not dict or data.get("policy") is not None:
            raise Doubt("top")  # a policy is read with its lines (replay --policy messages need them)
        scenario = Scenario(file=file, platform=self.platform(data.get("platform"), DEFAULT_PLATFORM))
        for key in ("expect", "description", "name", "notes"):
            self.free(data.get(key))
        if "expect" in data:
            scenario.expect = data["expect"]
        if "steps" in data:
            steps = data["steps"]
            if not data.keys() <= _SCENARIO_KEYSET or type(steps) is not list or not steps:
                raise Doubt("steps")
            self.container(1 + len(steps))
            scenario.steps = [self.snapshot(raw, scenario.platform, float(i), _SNAPSHOT_KEYSET)
                              for i, raw in enumerate(steps)]
        else:
            scenario.steps = [self.snapshot(data, scenario.platform, 0.0, _SINGLE_KEYSET, read_platform=False)]
        return scenario


_SCENARIO_KEYSET = frozenset(SCENARIO_KEYS)
_SNAPSHOT_KEYSET = frozenset(SNAPSHOT_KEYS)
_SINGLE_KEYSET = frozenset(SCENARIO_KEYS + SNAPSHOT_KEYS)


def load_scenario(path: str, display_name: Optional[str] = None) -> Scenario:
    """Read and validate a scenario file (YAML or JSON); :class:`SourceError` lists every problem.

    A well-formed file takes the fast path (:func:`agent.sourcefile.plain_values`
    and :class:`_ValueReader`); anything it cannot vouch for is read again with
    line numbers, so every message and limit is the slow path's.
    """
    name = display_name or path
    text = read_source(path, name)
    json_text = path.lower().endswith(".json")
    try:
        return _ValueReader(reuse=json_text).scenario(plain_values(text, json_text), name)
    except Doubt:
        pass
    node, problems = compose(text, name)
    if node is None and errors(problems):
        raise SourceError(errors(problems))
    return parse_scenario(node, name, problems)


# --------------------------------------------------------------------------- writing


def _empty(value: Any) -> bool:
    return value is None or value == () or value == [] or value == ""


def record_to_dict(obj: Any) -> Dict[str, Any]:
    """One model object as a file mapping (empty values left out)."""
    out: Dict[str, Any] = {}
    cls: type = obj.__class__
    for spec in fields_of(cls):
        value = _to_plain(spec, getattr(obj, spec.name))
        if not _empty(value):
            out[spec.key] = value
    return out


def _to_plain(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if spec.kind == "record":
        return record_to_dict(value)
    if spec.kind == "records":
        return [record_to_dict(v) for v in value]
    if spec.kind == "pairs":
        return [{"source": s, "reason": r} for s, r in value]
    if spec.kind == "strings":
        return list(value)
    return value


def snapshot_to_dict(snapshot: Snapshot, with_events: bool = True) -> Dict[str, Any]:
    """A snapshot in replay format: a single-snapshot scenario file's contents."""
    out: Dict[str, Any] = {"platform": snapshot.platform, "at": snapshot.time}
    for spec in fields_of(Snapshot):
        if spec.name in _STEP_FIELDS or (spec.name == "events" and not with_events):
            continue
        value = _to_plain(spec, getattr(snapshot, spec.name))
        if not _empty(value):
            out[spec.key] = value
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


# --------------------------------------------------------------------------- replay helpers


def without_pids(snapshot: Snapshot, ended: Dict[int, Optional[float]]) -> Snapshot:
    """``snapshot`` minus the processes (and everything else of theirs) in ``ended``.

    Used by replay to make ``stop_sharing`` take effect: "the next step sees
    them gone". A pid reused by a new process (other create_time) stays.
    Every list of the snapshot whose items carry a ``pid`` is filtered.
    """
    if not ended:
        return snapshot

    procs = tuple(p for p in snapshot.processes
                  if not (p.pid in ended and (ended[p.pid] is None or p.create_time in (None, ended[p.pid]))))
    kept = {p.pid for p in procs}

    def keep(item: Any) -> bool:
        pid = getattr(item, "pid", None)
        return pid is None or pid not in ended or pid in kept

    changes: Dict[str, Any] = {"processes": procs}
    for spec in fields_of(Snapshot):
        if spec.kind == "records" and spec.name != "processes" and spec.record is not None \
                and "pid" in {f.name for f in dataclasses.fields(spec.record)}:
            changes[spec.name] = tuple(item for item in getattr(snapshot, spec.name) if keep(item))
    return dataclasses.replace(snapshot, **changes)


def ended_map(pids: Sequence[int], snapshot: Snapshot) -> Dict[int, Optional[float]]:
    """pid -> create_time (None if unknown) for the processes a verdict ended."""
    times = {p.pid: p.create_time for p in snapshot.processes}
    return {pid: times.get(pid) for pid in pids}
