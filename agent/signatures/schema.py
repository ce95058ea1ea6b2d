"""The schema of one signature YAML file (docs/signatures.md): nodes in, frozen objects out.

:mod:`agent.signatures.loader` finds the files and hands each one to a
:class:`SchemaReader`; the typed accessors, line numbers and limits come
from :mod:`agent.sourcefile`, so every problem is ``file:line: message``
with what to change, and all of them are collected.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

import yaml

from agent.domains import registrable_domain
from agent.model import DEVICE_KINDS, PLATFORMS, SENSITIVE_CATEGORIES
from agent.signatures.model import (
    APP_KINDS,
    CALL_KINDS,
    ROLES,
    SIGNAL_GRADES,
    AppSignature,
    ConnectionMatcher,
    DeviceMatcher,
    ProcessMatcher,
    SensitiveSignature,
    Signal,
    TitleRules,
    WindowMatcher,
)
from agent.sourcefile import NodeReader, Problem, SourceError, brief, compose, decode, kind_name, line_of, scalar_value

SCHEMA_VERSION = 1
FAMILIES = ("apps", "finance", "title_rules")
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
    "title_rules": ("schema", "family", "source", "context_words", "exclude_titles", "exclude_processes",
                    "browser_titles", "page_words", "offer_words", "service_desk_words", "quoting_sites",
                    "antifraud_words", "mention_words", "document_titles", "cheap_tlds", "nonservice_hosts"),
}
APP_KEYS = ("id", "kind", "name", "source", "processes", "signals", "calls", "fallback", "stream_min_rate")
SIGNAL_KEYS = ("grade", "process", "window", "connection", "device", "platforms", "label", "source", "meeting")
DEVICE_KEYS = ("devices",)
PROCESS_KEYS = ("name", "platforms", "args", "exe_contains")
WINDOW_KEYS = ("title", "class", "same_app", "visible_only")
CONNECTION_KEYS = ("remote_ports", "local_ports", "statuses")
CONTEXT_KEYS = ("id", "category", "name", "strong", "weak", "patterns", "processes", "official_domains", "domains",
                "role", "source")
BROWSER_TITLE_KEYS = ("browser", "suffix", "source")


class SchemaReader(NodeReader):
    """Validates the nodes of each file and accumulates objects and problems (across files)."""

    def __init__(self) -> None:
        super().__init__()
        self.apps: List[AppSignature] = []
        self.contexts: List[SensitiveSignature] = []
        self.title_rules: Optional[TitleRules] = None
        self._title_rules_at: Optional[str] = None
        # id -> list of "file:line" where it is defined, per namespace
        self._ids: Dict[str, Dict[str, List[Tuple[str, int]]]] = {"app": {}, "finance context": {}}

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
            self.err(node, f"{what}: bad regular expression {brief(value)}: {exc}; escape special characters with \\")
            return None
        if compiled.search("") is not None:
            # An empty-matching pattern would match every window title.
            self.err(node, f"{what}: regular expression {brief(value)} matches an empty text, "
                           "so it would match everything")
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
                self.err(values["id"], f"{what}: id {brief(ident)} must match [a-z0-9][a-z0-9_.-]* (lower case)")
            else:
                self.remember_id(namespace, ident, values["id"])
        return ident

    def remember_id(self, namespace: str, ident: str, node: yaml.Node) -> None:
        self._ids[namespace].setdefault(ident, []).append((self.file, line_of(node)))

    # -- files


    def load_file(self, file: str, data: bytes) -> None:
        """Read one file's bytes (the discovery hashed them) into objects and problems."""
        self.file = file
        try:
            root, problems = compose(decode(data, file), file)
        except SourceError as exc:
            self.problems.extend(exc.problems)
            return
        self.problems.extend(problems)
        if root is None and problems:
            return
        if root is None:
            self.err(1, "file is empty; it needs 'schema: 1' and 'family:'")
            return
        if not isinstance(root, yaml.MappingNode):
            self.err(root, f"top level must be a mapping with 'schema: 1' and 'family:', got {kind_name(root)}")
            return
        # First read schema/family without judging other keys, to know which keys are allowed.
        raw = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
        schema_node = raw.get("schema")
        if schema_node is None:
            self.err(root, "missing 'schema: 1' at the top of the file")
        else:
            schema = scalar_value(schema_node) if isinstance(schema_node, yaml.ScalarNode) else None
            if schema != SCHEMA_VERSION or isinstance(schema, bool):
                self.err(schema_node, f"schema is {kind_name(schema_node)}; this agent reads schema: {SCHEMA_VERSION}")
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
        calls = self.enum(values["calls"], CALL_KINDS, f"{what}: calls") if "calls" in values else "meeting"
        fallback = self.boolean(values["fallback"], f"{what}: fallback") if "fallback" in values else False
        stream = self.number(values["stream_min_rate"], f"{what}: stream_min_rate") \
            if "stream_min_rate" in values else 0.0
        if stream is not None and stream < 0:
            self.err(values["stream_min_rate"],
                     f"{what}: stream_min_rate must be a positive number of bytes per second")
            stream = None
        if not ok or ident is None or kind is None or names is None or source is None or calls is None \
                or fallback is None or stream is None:
            return None
        return AppSignature(
            id=ident, kind=kind, names=names, processes=processes, signals=tuple(signals),
            source=source, origin=f"{self.file}:{line_of(node)}", calls=calls, fallback=fallback,
            stream_min_rate=stream,
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
            return ProcessMatcher(name=name) if name is not None and self._process_name(node, name, what) else None
        values = self.mapping(node, PROCESS_KEYS, what)
        if values is None:
            return None
        if not self.require(values, node, ("name",), what):
            return None
        name = self.string(values["name"], f"{what}: name")
        if name is None or not self._process_name(values["name"], name, what):
            return None
        args = self.strings(values["args"], f"{what}: args") if "args" in values else ()
        exe_contains = (self.string(values["exe_contains"], f"{what}: exe_contains")
                        if "exe_contains" in values else None)
        return ProcessMatcher(
            name=name, platforms=self.platforms(values.get("platforms"), what),
            args=args, exe_contains=exe_contains,
        )

    def _process_name(self, node: yaml.Node, name: str, what: str) -> bool:
        if "/" in name or "\\" in name:
            self.err(node, f"{what}: name {brief(name)} must be an executable name, not a path; "
                           "use exe_contains for paths")
            return False
        if not name.replace("*", "").replace("?", "").strip():
            self.err(node, f"{what}: name {brief(name)} is only wildcards and would match every process")
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
        process: Optional[ProcessMatcher] = None
        window: Optional[WindowMatcher] = None
        connection: Optional[ConnectionMatcher] = None
        device: Optional[DeviceMatcher] = None
        matched: object = None
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
        meeting = self.boolean(values["meeting"], f"{what}: meeting") if "meeting" in values else False
        if not ok or matched is None or grade is None or source is None or meeting is None \
                or ("label" in values and label is None):
            return None
        return Signal(
            grade=grade, label=label or _derive_label(process, window, connection, device),
            process=process, window=window, connection=connection, platforms=platforms, source=source,
            device=device, meeting=meeting,
        )

    def _device(self, node: yaml.Node, what: str) -> Optional[DeviceMatcher]:
        values = self.mapping(node, DEVICE_KEYS, what)
        if values is None:
            return None
        if "devices" not in values:
            return DeviceMatcher()
        found = [self.enum(item, DEVICE_KINDS, f"{what}: devices")
                 for item in self.seq(values["devices"], f"{what}: devices")]
        kinds = [k for k in found if k is not None]
        if len(kinds) != len(found) or not found:
            if not found:
                self.err(values["devices"], f"{what}: devices must not be empty; use microphone and/or camera")
            return None
        return DeviceMatcher(devices=tuple(dict.fromkeys(kinds)))

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
            value = scalar_value(item) if isinstance(item, yaml.ScalarNode) else None
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
                out.append(value)
                continue
            match = PORT_RANGE_RE.match(value) if isinstance(value, str) else None
            if match and 0 < int(match.group(1)) <= int(match.group(2)) < 65536 \
                    and int(match.group(2)) - int(match.group(1)) < 100:
                out.extend(range(int(match.group(1)), int(match.group(2)) + 1))
                continue
            self.err(item, f"{what}: {kind_name(item)} is not a port; "
                           "use a number 1-65535 or a short range '5900-5909'")
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
            found = [self.enum(item, STATUSES, f"{what}: status")
                     for item in self.seq(values["statuses"], f"{what}: statuses")]
            known = [s for s in found if s is not None]
            if len(known) != len(found) or not found:
                if not found:
                    self.err(values["statuses"], f"{what}: statuses must not be empty")
                return None
            statuses = tuple(known)
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
        category = (self.enum(values["category"], SENSITIVE_CATEGORIES, f"{what}: category")
                    if "category" in values else None)
        names = self.names(values["name"], what) if "name" in values else None
        source = self.string(values["source"], f"{what}: source") if "source" in values else None
        strong = self.strings(values["strong"], f"{what}: strong") if "strong" in values else ()
        weak = self.strings(values["weak"], f"{what}: weak") if "weak" in values else ()
        patterns: List[str] = []
        pattern_items = self.seq(values["patterns"], f"{what}: patterns") if "patterns" in values else []
        for i, item in enumerate(pattern_items, 1):
            pattern = self.regex(item, f"{what}: pattern {i}", re.IGNORECASE)
            ok = ok and pattern is not None
            if pattern is not None:
                patterns.append(pattern)
        processes = tuple(self._processes(values.get("processes"), what))
        # `domains` is the older name of `official_domains` (bundles made before it was renamed).
        key = "official_domains" if "official_domains" in values else "domains"
        domains = self.strings(values[key], f"{what}: {key}") if key in values else ()
        for domain in domains:
            if registrable_domain(domain) is None:
                self.err(values[key], f"{what}: {key}: {brief(domain)} is not a host name with a known public "
                                      "suffix (write it like icbc.com.cn or bank.pingan.com, without https://)")
                ok = False
        role = self.enum(values["role"], ROLES, f"{what}: role") if "role" in values else "institution"
        # A lure entry without phrases names findings the engine makes from structure (a
        # page on a throw-away domain); every other entry needs something to match.
        if not (strong or weak or pattern_items or processes) and role != "lure":
            self.err(node, f"{what}: give at least one of 'strong', 'weak', 'patterns' or 'processes'")
            ok = False
        if not ok or ident is None or category is None or names is None or source is None or role is None:
            return None
        return SensitiveSignature(
            id=ident, category=category, names=names, strong=strong, weak=weak,
            patterns=tuple(patterns), processes=processes, official_domains=domains, role=role,
            region=region, source=source, origin=f"{self.file}:{line_of(node)}",
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
        items = self.seq(top["exclude_titles"], "exclude_titles") if "exclude_titles" in top else ()
        for i, item in enumerate(items, 1):
            pattern = self.regex(item, f"exclude_titles item {i}", re.IGNORECASE)
            if pattern is not None:
                excludes.append(pattern)
        processes = self._processes(top.get("exclude_processes"), "exclude_processes")

        def words_of(key: str) -> Tuple[str, ...]:
            return self.strings(top[key], key) if key in top else ()

        def regexes_of(key: str) -> Tuple[str, ...]:
            out = []
            for i, item in enumerate(self.seq(top[key], key) if key in top else (), 1):
                pattern = self.regex(item, f"{key} item {i}", re.IGNORECASE)
                if pattern is not None:
                    out.append(pattern)
            return tuple(out)

        browsers = []
        items = self.seq(top["browser_titles"], "browser_titles") if "browser_titles" in top else []
        for i, item in enumerate(items, 1):
            what = f"browser_titles item {i}"
            values = self.mapping(item, BROWSER_TITLE_KEYS, what)
            if values is None or not self.require(values, item, BROWSER_TITLE_KEYS, what):
                continue
            browser = self.string(values["browser"], f"{what}: browser")
            suffix = self.regex(values["suffix"], f"{what}: suffix")
            self.string(values["source"], f"{what}: source")
            if browser and suffix:
                browsers.append((suffix, browser))
        self.title_rules = TitleRules(
            context_words=words, exclude_titles=tuple(excludes), exclude_processes=tuple(processes),
            browser_titles=tuple(browsers), page_words=words_of("page_words"), offer_words=words_of("offer_words"),
            service_desk_words=words_of("service_desk_words"), quoting_sites=words_of("quoting_sites"),
            antifraud_words=words_of("antifraud_words"), mention_words=words_of("mention_words"),
            document_titles=regexes_of("document_titles"), cheap_tlds=words_of("cheap_tlds"),
            nonservice_hosts=words_of("nonservice_hosts"),
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
                    and isinstance(scalar_value(value), str) and value.value.strip():
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
    if connection is None:
        raise ValueError("a signal names a process, window, device or connection")  # the schema requires one
    ports = connection.remote_ports + tuple(p for p in connection.local_ports if p not in connection.remote_ports)
    return "port:" + ",".join(str(p) for p in ports)
