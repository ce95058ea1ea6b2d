"""Read signature YAML files into the frozen objects of :mod:`agent.signatures.model`.

The schema is described in docs/signatures.md. Files are parsed with
``yaml.compose`` so every node keeps its line number: each problem is
reported as ``file:line: message`` with what to change, and all problems of
all files are collected before :class:`SignatureError` is raised, so one run
of ``shareguard signatures validate`` shows everything that needs fixing.

The guard itself uses :func:`load_signatures_safely`, which never raises and
keeps the last good set when a file is broken.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from agent.model import DEVICE_KINDS
from agent.signatures.model import (
    APP_KINDS,
    SIGNAL_GRADES,
    AppSignature,
    ConnectionMatcher,
    DeviceMatcher,
    ProcessMatcher,
    SensitiveSignature,
    Signal,
    SignatureSet,
    TitleRules,
    WindowMatcher,
)

SCHEMA_VERSION = 1
FAMILIES = ("apps", "finance", "title_rules")
PLATFORMS = ("windows", "darwin", "linux")
CATEGORIES = ("bank", "loan", "payment", "credit_report", "investment")
LANGS = ("en", "zh_CN")
#: Socket states psutil reports; a typo here would silently never match.
STATUSES = (
    "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
    "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NONE",
)
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PORT_RANGE_RE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")

# Allowed keys per object, in the order the error message lists them.
TOP_KEYS = {
    "apps": ("schema", "family", "source", "apps"),
    "finance": ("schema", "family", "source", "region", "contexts"),
    "title_rules": ("schema", "family", "source", "context_words", "exclude_titles", "exclude_processes"),
}
APP_KEYS = ("id", "kind", "name", "source", "processes", "signals")
SIGNAL_KEYS = ("grade", "process", "window", "connection", "device", "platforms", "label", "source")
DEVICE_KEYS = ("devices",)
PROCESS_KEYS = ("name", "platforms", "args", "exe_contains")
WINDOW_KEYS = ("title", "class", "same_app", "visible_only")
CONNECTION_KEYS = ("remote_ports", "local_ports", "statuses")
CONTEXT_KEYS = ("id", "category", "name", "strong", "weak", "patterns", "processes", "domains", "source")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a signature file; ``line`` is 1-based (0: the file as a whole)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class SignatureError(Exception):
    """Raised by :func:`load_signatures` with every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def builtin_signature_dir() -> str:
    """The signatures shipped with the agent.

    An installed wheel carries them as ``agent/_bundled_signatures``; a source
    checkout reads ``<repo>/signatures`` directly.
    """
    agent_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bundled = os.path.join(agent_dir, "_bundled_signatures")
    if os.path.isdir(bundled):
        return bundled
    return os.path.join(os.path.dirname(agent_dir), "signatures")


def signature_files(path: str) -> List[str]:
    """Every ``*.yaml`` under ``path`` (recursively, sorted; hidden entries skipped), or ``[path]``."""
    if not os.path.isdir(path):
        return [path]
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.endswith(".yaml") and not name.startswith("."):
                found.append(os.path.join(root, name))
    return sorted(found, key=lambda p: os.path.relpath(p, path).replace(os.sep, "/"))


def load_signatures(path: Optional[str] = None) -> SignatureSet:
    """Load a signature directory (recursively) or one file; raise :class:`SignatureError` on any problem."""
    signatures, problems = _load(path)
    if problems:
        raise SignatureError(problems)
    return signatures


def load_signatures_safely(
    path: Optional[str], last_good: Optional[SignatureSet]
) -> Tuple[Optional[SignatureSet], List[Problem]]:
    """Load like :func:`load_signatures` but never raise.

    Returns ``(set, problems)``: on any problem the set is ``last_good``
    (which may be None on the very first load), so a broken file never stops
    the guard.
    """
    try:
        signatures, problems = _load(path)
    except Exception as exc:  # the guard must survive anything, even a loader bug
        return last_good, [Problem(str(path), 0, f"could not load signatures: {exc!r}")]
    if problems:
        return last_good, problems
    return signatures, []


# --------------------------------------------------------------------------- files


def _load(path: Optional[str]) -> Tuple[Optional[SignatureSet], List[Problem]]:
    root = builtin_signature_dir() if path is None else str(path)
    if not os.path.exists(root):
        return None, [Problem(root, 0, "no such file or directory")]
    files = signature_files(root)
    if not files:
        return None, [Problem(root, 0, "no *.yaml signature files found")]
    builder = _Builder()
    digest = hashlib.sha256()
    for file in files:
        try:
            with open(file, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            builder.problems.append(Problem(file, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        rel = os.path.relpath(file, root).replace(os.sep, "/") if os.path.isdir(root) else os.path.basename(file)
        digest.update(rel.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
        builder.load_file(file, data)
    builder.finish()
    if builder.problems:
        return None, builder.problems
    signatures = SignatureSet(
        apps=tuple(builder.apps),
        sensitive=tuple(builder.contexts),
        title_rules=builder.title_rules or TitleRules(),
        version=digest.hexdigest()[:12],
        files=tuple(files),
    )
    return signatures, []


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _kind_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = _scalar_value(node)
    if value is None:
        return "empty"
    return f"{type(value).__name__} {value!r}"


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
#: libyaml's parser when available (same nodes and marks, several times faster).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar_value(node: yaml.Node) -> Any:
    """The Python value of a scalar node, typed as yaml.safe_load would type it."""
    try:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    except yaml.YAMLError:
        return node.value


class _Builder:
    """Validates nodes of each file and accumulates objects and problems."""

    def __init__(self) -> None:
        self.problems: List[Problem] = []
        self.apps: List[AppSignature] = []
        self.contexts: List[SensitiveSignature] = []
        self.title_rules: Optional[TitleRules] = None
        self._title_rules_at: Optional[str] = None
        # id -> list of "file:line" where it is defined, per namespace
        self._ids: Dict[str, Dict[str, List[Tuple[str, int]]]] = {"app": {}, "finance context": {}}
        self.file = ""

    # -- reporting helpers

    def err(self, node_or_line: Any, message: str) -> None:
        line = node_or_line if isinstance(node_or_line, int) else _line(node_or_line)
        self.problems.append(Problem(self.file, line, message))

    def mapping(self, node: yaml.Node, allowed: Sequence[str], what: str) -> Optional[Dict[str, yaml.Node]]:
        """Key -> value node of a mapping; reports non-mappings, unknown and repeated keys."""
        if not isinstance(node, yaml.MappingNode):
            self.err(node, f"{what} must be a mapping, got {_kind_name(node)}")
            return None
        out: Dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                self.err(key_node, f"{what}: keys must be plain names")
                continue
            if key not in allowed:
                self.err(key_node, f"unknown key '{key}' in {what}; expected one of: {', '.join(allowed)}")
                continue
            if key in out:
                self.err(key_node, f"{what}: key '{key}' appears twice; keep one")
                continue
            out[key] = value_node
        return out

    def require(self, values: Dict[str, yaml.Node], node: yaml.Node, keys: Iterable[str], what: str) -> bool:
        ok = True
        for key in keys:
            if key not in values:
                self.err(node, f"{what}: missing required key '{key}'")
                ok = False
        return ok

    def string(self, node: yaml.Node, what: str, allow_empty: bool = False) -> Optional[str]:
        value = _scalar_value(node) if isinstance(node, yaml.ScalarNode) else node
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            self.err(node, f"{what} must be a non-empty text, got {_kind_name(node)}")
            return None
        return value

    def boolean(self, node: yaml.Node, what: str) -> Optional[bool]:
        value = _scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            self.err(node, f"{what} must be true or false, got {_kind_name(node)}")
            return None
        return value

    def enum(self, node: yaml.Node, allowed: Sequence[str], what: str) -> Optional[str]:
        value = _scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, str) or value not in allowed:
            self.err(node, f"{what} is {_kind_name(node)}; expected one of: {', '.join(allowed)}")
            return None
        return value

    def seq(self, node: yaml.Node, what: str) -> List[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and _scalar_value(node) is None:
            return []  # `key:` with nothing after it: treat as an empty list
        if not isinstance(node, yaml.SequenceNode):
            self.err(node, f"{what} must be a list, got {_kind_name(node)}")
            return []
        return list(node.value)

    def strings(self, node: yaml.Node, what: str) -> Tuple[str, ...]:
        out = []
        for i, item in enumerate(self.seq(node, what), 1):
            value = self.string(item, f"{what} item {i}")
            if value is not None:
                out.append(value)
        return tuple(out)

    def platforms(self, node: Optional[yaml.Node], what: str) -> Tuple[str, ...]:
        if node is None:
            return ()
        out = []
        for item in self.seq(node, f"{what}: platforms"):
            value = self.enum(item, PLATFORMS, f"{what}: platform")
            if value is not None and value not in out:
                out.append(value)
        return tuple(out)

    def regex(self, node: yaml.Node, what: str, flags: int = 0) -> Optional[str]:
        value = self.string(node, what)
        if value is None:
            return None
        try:
            compiled = re.compile(value, flags)
        except re.error as exc:
            self.err(node, f"{what}: bad regular expression {value!r}: {exc}; escape special characters with \\")
            return None
        if compiled.search("") is not None:
            # An empty-matching pattern would match every window title.
            self.err(node, f"{what}: regular expression {value!r} matches an empty text, so it would match everything")
            return None
        return value

    def names(self, node: yaml.Node, what: str) -> Optional[Dict[str, str]]:
        values = self.mapping(node, LANGS, f"{what}: name")
        if values is None:
            return None
        out: Dict[str, str] = {}
        for lang in LANGS:
            if lang not in values:
                self.err(node, f"{what}: name has no '{lang}' text; give both en and zh_CN")
                continue
            text = self.string(values[lang], f"{what}: name.{lang}")
            if text is not None:
                out[lang] = text.strip()
        return out if len(out) == len(LANGS) else None

    def entry_id(self, values: Dict[str, yaml.Node], namespace: str, what: str) -> Optional[str]:
        """An entry's ``id`` if present and well-formed (remembered for the duplicate check), else None."""
        if "id" not in values:
            return None
        ident = self.string(values["id"], f"{what}: id")
        if ident is not None:
            if not ID_RE.match(ident):
                self.err(values["id"], f"{what}: id {ident!r} must match [a-z0-9][a-z0-9_.-]* (lower case)")
            else:
                self.remember_id(namespace, ident, values["id"])
        return ident

    def remember_id(self, namespace: str, ident: str, node: yaml.Node) -> None:
        self._ids[namespace].setdefault(ident, []).append((self.file, _line(node)))

    # -- files

    def load_file(self, file: str, data: bytes) -> None:
        self.file = file
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.err(0, f"not UTF-8 text (byte {exc.start}); save the file as UTF-8")
            return
        try:
            root = yaml.compose(text, Loader=_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 0
            detail = " ".join(x for x in (exc.context, exc.problem) if x)
            self.err(line, f"YAML syntax error: {detail}; check indentation, quotes and colons")
            return
        except yaml.YAMLError as exc:
            self.err(0, f"YAML error: {exc}")
            return
        if root is None:
            self.err(1, "file is empty; it needs 'schema: 1' and 'family:'")
            return
        if not isinstance(root, yaml.MappingNode):
            self.err(root, f"top level must be a mapping with 'schema: 1' and 'family:', got {_kind_name(root)}")
            return
        # First read schema/family without judging other keys, to know which keys are allowed.
        raw = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
        schema_node = raw.get("schema")
        if schema_node is None:
            self.err(root, "missing 'schema: 1' at the top of the file")
        else:
            schema = _scalar_value(schema_node) if isinstance(schema_node, yaml.ScalarNode) else None
            if schema != SCHEMA_VERSION or isinstance(schema, bool):
                self.err(schema_node, f"schema is {_kind_name(schema_node)}; this agent reads schema: {SCHEMA_VERSION}")
                return
        family_node = raw.get("family")
        if family_node is None:
            self.err(root, f"missing 'family:'; one of: {', '.join(FAMILIES)}")
            return
        family = self.enum(family_node, FAMILIES, "family")
        if family is None:
            return
        top = self.mapping(root, TOP_KEYS[family], f"{family} file")
        if top is None:
            return
        getattr(self, f"_family_{family}")(root, top)

    # -- family: apps

    def _family_apps(self, root: yaml.Node, top: Dict[str, yaml.Node]) -> None:
        if "source" in top:
            self.string(top["source"], "source")
        if "apps" not in top:
            self.err(root, "missing 'apps:' list")
            return
        for index, node in enumerate(self.seq(top["apps"], "apps"), 1):
            app = self._app(node, index)
            if app is not None:
                self.apps.append(app)

    def _app(self, node: yaml.Node, index: int) -> Optional[AppSignature]:
        what = _entry_name(node, "app", index)
        values = self.mapping(node, APP_KEYS, what)
        if values is None:
            return None
        ident = self.entry_id(values, "app", what)
        ok = self.require(values, node, ("id", "kind", "name", "source"), what)
        kind = self.enum(values["kind"], APP_KINDS, f"{what}: kind") if "kind" in values else None
        names = self.names(values["name"], what) if "name" in values else None
        source = self.string(values["source"], f"{what}: source") if "source" in values else None
        processes = tuple(self._processes(values.get("processes"), what))
        signals = []
        if "signals" in values:
            for i, sig_node in enumerate(self.seq(values["signals"], f"{what}: signals"), 1):
                sig = self._signal(sig_node, f"{what}: signal {i}")
                if sig is not None:
                    signals.append(sig)
        if "processes" not in values and "signals" not in values:
            self.err(node, f"{what}: give at least one of 'processes' or 'signals', or nothing can match it")
            ok = False
        if not ok or None in (ident, kind, names, source):
            return None
        return AppSignature(
            id=ident, kind=kind, names=names, processes=processes, signals=tuple(signals),
            source=source, origin=f"{self.file}:{_line(node)}",
        )

    def _processes(self, node: Optional[yaml.Node], what: str) -> List[ProcessMatcher]:
        if node is None:
            return []
        out = []
        for i, item in enumerate(self.seq(node, f"{what}: processes"), 1):
            matcher = self._process(item, f"{what}: process {i}")
            if matcher is not None:
                out.append(matcher)
        return out

    def _process(self, node: yaml.Node, what: str) -> Optional[ProcessMatcher]:
        if isinstance(node, yaml.ScalarNode):  # shorthand: just the name
            name = self.string(node, f"{what}: name")
            return ProcessMatcher(name=name) if self._process_name(node, name, what) else None
        values = self.mapping(node, PROCESS_KEYS, what)
        if values is None:
            return None
        if not self.require(values, node, ("name",), what):
            return None
        name = self.string(values["name"], f"{what}: name")
        if not self._process_name(values["name"], name, what):
            return None
        args = self.strings(values["args"], f"{what}: args") if "args" in values else ()
        exe_contains = self.string(values["exe_contains"], f"{what}: exe_contains") if "exe_contains" in values else None
        return ProcessMatcher(
            name=name, platforms=self.platforms(values.get("platforms"), what),
            args=args, exe_contains=exe_contains,
        )

    def _process_name(self, node: yaml.Node, name: Optional[str], what: str) -> bool:
        if name is None:
            return False
        if "/" in name or "\\" in name:
            self.err(node, f"{what}: name {name!r} must be an executable name, not a path; use exe_contains for paths")
            return False
        if not name.replace("*", "").replace("?", "").strip():
            self.err(node, f"{what}: name {name!r} is only wildcards and would match every process")
            return False
        return True

    def _signal(self, node: yaml.Node, what: str) -> Optional[Signal]:
        values = self.mapping(node, SIGNAL_KEYS, what)
        if values is None:
            return None
        ok = self.require(values, node, ("grade", "source"), what)
        grade = self.enum(values["grade"], SIGNAL_GRADES, f"{what}: grade") if "grade" in values else None
        source = self.string(values["source"], f"{what}: source") if "source" in values else None
        present = [k for k in ("process", "window", "connection", "device") if k in values]
        if len(present) != 1:
            if present:
                self.err(node, f"{what} has {' and '.join(repr(k) for k in present)}; keep exactly one")
            else:
                self.err(node, f"{what} has none of 'process', 'window', 'connection', 'device'; give exactly one")
            return None
        kind = present[0]
        process = window = connection = device = None
        if kind == "process":
            process = self._process(values["process"], f"{what}: process")
            matched = process
        elif kind == "window":
            window = self._window(values["window"], f"{what}: window")
            matched = window
        elif kind == "device":
            device = self._device(values["device"], f"{what}: device")
            matched = device
            if device is not None and grade == "sharing":
                # A microphone or camera proves a call, never a screen being sent.
                self.err(values["grade"], f"{what}: a device signal can only prove 'in_session'")
                return None
        else:
            connection = self._connection(values["connection"], f"{what}: connection")
            matched = connection
        platforms = self.platforms(values.get("platforms"), what)
        label = self.string(values["label"], f"{what}: label") if "label" in values else None
        if not ok or matched is None or None in (grade, source) or ("label" in values and label is None):
            return None
        return Signal(
            grade=grade, label=label or _derive_label(process, window, connection, device),
            process=process, window=window, connection=connection, platforms=platforms, source=source,
            device=device,
        )

    def _device(self, node: yaml.Node, what: str) -> Optional[DeviceMatcher]:
        values = self.mapping(node, DEVICE_KEYS, what)
        if values is None:
            return None
        if "devices" not in values:
            return DeviceMatcher()
        found = [self.enum(item, DEVICE_KINDS, f"{what}: devices") for item in self.seq(values["devices"], f"{what}: devices")]
        if None in found or not found:
            if not found:
                self.err(values["devices"], f"{what}: devices must not be empty; use microphone and/or camera")
            return None
        return DeviceMatcher(devices=tuple(dict.fromkeys(found)))

    def _window(self, node: yaml.Node, what: str) -> Optional[WindowMatcher]:
        values = self.mapping(node, WINDOW_KEYS, what)
        if values is None:
            return None
        if "title" not in values and "class" not in values:
            self.err(node, f"{what}: give 'title' (a regular expression) and/or 'class'")
            return None
        title = self.regex(values["title"], f"{what}: title") if "title" in values else None
        wm_class = self.string(values["class"], f"{what}: class") if "class" in values else None
        same_app = self.boolean(values["same_app"], f"{what}: same_app") if "same_app" in values else False
        visible = self.boolean(values["visible_only"], f"{what}: visible_only") if "visible_only" in values else False
        if ("title" in values and title is None) or ("class" in values and wm_class is None) \
                or same_app is None or visible is None:
            return None
        return WindowMatcher(title=title, wm_class=wm_class, same_app=same_app, visible_only=visible)

    def _ports(self, node: yaml.Node, what: str) -> Optional[Tuple[int, ...]]:
        out: List[int] = []
        ok = True
        for item in self.seq(node, what):
            value = _scalar_value(item) if isinstance(item, yaml.ScalarNode) else None
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
                out.append(value)
                continue
            match = PORT_RANGE_RE.match(value) if isinstance(value, str) else None
            if match and 0 < int(match.group(1)) <= int(match.group(2)) < 65536 \
                    and int(match.group(2)) - int(match.group(1)) < 100:
                out.extend(range(int(match.group(1)), int(match.group(2)) + 1))
                continue
            self.err(item, f"{what}: {_kind_name(item)} is not a port; use a number 1-65535 or a short range '5900-5909'")
            ok = False
        return tuple(dict.fromkeys(out)) if ok else None

    def _connection(self, node: yaml.Node, what: str) -> Optional[ConnectionMatcher]:
        values = self.mapping(node, CONNECTION_KEYS, what)
        if values is None:
            return None
        remote = self._ports(values["remote_ports"], f"{what}: remote_ports") if "remote_ports" in values else ()
        local = self._ports(values["local_ports"], f"{what}: local_ports") if "local_ports" in values else ()
        if remote is None or local is None:
            return None
        if not remote and not local:
            self.err(node, f"{what}: give 'remote_ports' and/or 'local_ports'")
            return None
        statuses: Tuple[str, ...] = ("ESTABLISHED",)
        if "statuses" in values:
            found = [self.enum(item, STATUSES, f"{what}: status") for item in self.seq(values["statuses"], f"{what}: statuses")]
            if None in found or not found:
                if not found:
                    self.err(values["statuses"], f"{what}: statuses must not be empty")
                return None
            statuses = tuple(found)
        return ConnectionMatcher(remote_ports=remote, local_ports=local, statuses=statuses)

    # -- family: finance

    def _family_finance(self, root: yaml.Node, top: Dict[str, yaml.Node]) -> None:
        if "source" in top:
            self.string(top["source"], "source")
        region = self.string(top["region"], "region") if "region" in top else ""
        if "contexts" not in top:
            self.err(root, "missing 'contexts:' list")
            return
        for index, node in enumerate(self.seq(top["contexts"], "contexts"), 1):
            context = self._context(node, index, region or "")
            if context is not None:
                self.contexts.append(context)

    def _context(self, node: yaml.Node, index: int, region: str) -> Optional[SensitiveSignature]:
        what = _entry_name(node, "context", index)
        values = self.mapping(node, CONTEXT_KEYS, what)
        if values is None:
            return None
        ident = self.entry_id(values, "finance context", what)
        ok = self.require(values, node, ("id", "category", "name", "source"), what)
        category = self.enum(values["category"], CATEGORIES, f"{what}: category") if "category" in values else None
        names = self.names(values["name"], what) if "name" in values else None
        source = self.string(values["source"], f"{what}: source") if "source" in values else None
        strong = self.strings(values["strong"], f"{what}: strong") if "strong" in values else ()
        weak = self.strings(values["weak"], f"{what}: weak") if "weak" in values else ()
        patterns = []
        for i, item in enumerate(self.seq(values["patterns"], f"{what}: patterns") if "patterns" in values else (), 1):
            pattern = self.regex(item, f"{what}: pattern {i}", re.IGNORECASE)
            ok = ok and pattern is not None
            patterns.append(pattern)
        processes = tuple(self._processes(values.get("processes"), what))
        domains = self.strings(values["domains"], f"{what}: domains") if "domains" in values else ()
        if not (strong or weak or patterns or processes):
            self.err(node, f"{what}: give at least one of 'strong', 'weak', 'patterns' or 'processes'")
            ok = False
        if not ok or None in (ident, category, names, source):
            return None
        return SensitiveSignature(
            id=ident, category=category, names=names, strong=strong, weak=weak,
            patterns=tuple(patterns), processes=processes, domains=domains,
            region=region, source=source, origin=f"{self.file}:{_line(node)}",
        )

    # -- family: title_rules

    def _family_title_rules(self, root: yaml.Node, top: Dict[str, yaml.Node]) -> None:
        if self._title_rules_at is not None:
            self.err(root, f"a second title_rules file; keep exactly one (the other is {self._title_rules_at})")
            return
        self._title_rules_at = self.file
        if "source" not in top:
            self.err(root, "missing 'source:' (where the word lists come from)")
        else:
            self.string(top["source"], "source")
        words = self.strings(top["context_words"], "context_words") if "context_words" in top else ()
        excludes = []
        for i, item in enumerate(self.seq(top["exclude_titles"], "exclude_titles") if "exclude_titles" in top else (), 1):
            pattern = self.regex(item, f"exclude_titles item {i}", re.IGNORECASE)
            if pattern is not None:
                excludes.append(pattern)
        processes = self._processes(top.get("exclude_processes"), "exclude_processes")
        self.title_rules = TitleRules(
            context_words=words, exclude_titles=tuple(excludes), exclude_processes=tuple(processes),
        )

    # -- across files

    def finish(self) -> None:
        for namespace, ids in self._ids.items():
            for ident, places in ids.items():
                if len(places) < 2:
                    continue
                for file, line in places:
                    others = ", ".join(f"{f}:{n}" for f, n in places if (f, n) != (file, line))
                    self.problems.append(Problem(
                        file, line, f"duplicate {namespace} id '{ident}' (also at {others}); ids must be unique",
                    ))


def _entry_name(node: yaml.Node, label: str, index: int) -> str:
    """``app 'zoom'`` when the entry has a readable id, else ``app 3`` (its position)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "id" and isinstance(value, yaml.ScalarNode) \
                    and isinstance(_scalar_value(value), str) and value.value.strip():
                return f"{label} '{value.value}'"
    return f"{label} {index}"


def _derive_label(process: Optional[ProcessMatcher], window: Optional[WindowMatcher],
                  connection: Optional[ConnectionMatcher], device: Optional[DeviceMatcher] = None) -> str:
    """The evidence label of a signal without an explicit ``label`` (docs/signatures.md)."""
    if process is not None:
        if process.args:
            return "process-args:" + " ".join((process.name,) + process.args)
        return f"process:{process.name}"
    if window is not None:
        if window.wm_class:
            return f"window-class:{window.wm_class}"
        return f"window-title:{window.title}"
    if device is not None:
        return "device:" + ",".join(device.devices)
    ports = connection.remote_ports + tuple(p for p in connection.local_ports if p not in connection.remote_ports)
    return "port:" + ",".join(str(p) for p in ports)
