"""One reader for every file a person or IT writes: signatures, policy, settings, scenarios.

Every such file is YAML (JSON is read as the YAML subset it is). This module
is the only place that turns their bytes into nodes, so every entry point
reports the same way and obeys the same limits (docs/security.md, "Hostile
files"):

- :func:`read_source` reads at most :data:`MAX_FILE_BYTES` and decodes UTF-8;
- :func:`compose` builds ``yaml`` nodes (each knows its line) without
  recursion, refusing more than :data:`MAX_DEPTH` levels, more than
  :data:`MAX_NODES` values counting every alias expansion (the "billion
  laughs"), integers longer than :data:`MAX_INT_DIGITS` digits, lone
  surrogates, unknown tags, and reporting repeated keys at every level;
- :class:`NodeReader` offers typed accessors that record a :class:`Problem`
  for each mistake and carry on, so one run shows everything to fix;
- :func:`brief` and :func:`printable` keep every message short and
  printable whatever the file holds;
- :func:`plain_values` is the fast path for files that are well formed:
  the C parser (or ``json.loads``) straight to Python values, under the same
  limits checked cheaply, raising :class:`Doubt` at anything it cannot vouch
  for so the caller reads the file again through :func:`compose` and gets
  every line-numbered message exactly as before.
"""

from __future__ import annotations

import functools
import json
import math
import re
import reprlib
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

#: A file larger than this is refused before it is parsed.
MAX_FILE_BYTES = 8 * 1024 * 1024
#: Mappings and lists nested deeper than this are refused (no real file needs 10).
MAX_DEPTH = 64
#: Values in one file, counting an aliased subtree again at every use.
MAX_NODES = 500_000
#: Digits an integer may have (a pid, a port, a time: 20 is already plenty).
MAX_INT_DIGITS = 40

#: libyaml's parser when available (same events and marks, several times faster).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STANDARD_TAG = "tag:yaml.org,2002:"
_INT_TAG = _STANDARD_TAG + "int"
#: Tags a file may spell out (``!!str 5``); anything else (``!!python/object``...) is refused.
_ALLOWED_TAGS = frozenset(_STANDARD_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map",
                                                       "timestamp", "binary"))
_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: Any) -> str:
    """``text`` safe to print and encode: undecodable file-name bytes and lone
    surrogates become backslash escapes (``\\xff``, ``\\ud800``)."""
    text = str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class _BriefRepr(reprlib.Repr):
    """A repr whose length and cost are bounded whatever the value (shared subtrees too)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxdict, self.maxlist, self.maxtuple, self.maxset = 2, 4, 4, 4, 4
        self.maxstring, self.maxother, self.maxlong = 60, 60, 40

    def repr_int(self, x: int, level: int) -> str:
        # repr() of a 5,000-digit int raises ValueError (Python's 4,300-digit limit).
        if x.bit_length() > 128:
            return f"<an integer of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)

    def repr_str(self, x: str, level: int) -> str:
        return printable(super().repr_str(x, level))


_BRIEF = _BriefRepr()


def brief(value: Any) -> str:
    """A short repr of ``value`` for a message (at most about 80 characters)."""
    try:
        return _BRIEF.repr(value)
    except Exception:  # a value from a hostile file must not break the error message about it
        return f"<{type(value).__name__}>"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a source file. ``line`` is 1-based, 0 for the file as a whole."""

    file: str
    line: int
    message: str
    severity: str = "error"   # error | warning

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", printable(self.file))
        object.__setattr__(self, "message", printable(self.message))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "message": self.message, "severity": self.severity}


class SourceError(Exception):
    """A file that cannot be used; ``problems`` says every reason, ``str()`` one per line."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def errors(problems: Iterable[Problem]) -> List[Problem]:
    """The problems that are errors (not warnings)."""
    return [p for p in problems if p.severity == "error"]


# --------------------------------------------------------------------------- bytes and text


def read_source(path: str, name: Optional[str] = None, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark dropped), read at most ``limit`` bytes.

    Raises :class:`SourceError` naming ``name`` (default ``path``) when the
    file cannot be read, is too large or is not UTF-8.
    """
    name = name or path
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise SourceError([Problem(name, 0, f"cannot read: {exc.strerror or exc}")]) from None
    except ValueError as exc:  # e.g. a NUL in the name
        raise SourceError([Problem(name, 0, f"cannot read: {exc}")]) from None
    if len(data) > limit:
        raise SourceError([Problem(name, 0, f"larger than {limit} bytes; a ShareGuard file is far smaller")])
    return decode(data, name)


def decode(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text (BOM dropped); :class:`SourceError` says which byte is wrong."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError([Problem(name, 0, f"not UTF-8 text (byte {exc.start}); save the file as UTF-8")]) from None


def read_json(path: str, limit: int = 1024 * 1024) -> Any:
    """A small JSON file the agent wrote itself (state, heartbeat), read within bounds.

    Raises FileNotFoundError when absent and :class:`SourceError` (one
    problem) for anything else: unreadable, too large, not UTF-8, not JSON,
    nested too deeply, a number too long. Never another exception.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise SourceError([Problem(path, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}")]) from None
    if len(data) > limit:
        raise SourceError([Problem(path, 0, f"larger than {limit} bytes")])
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError:
        raise SourceError([Problem(path, 0, "not usable JSON: nested too deeply")]) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the int digit limit
        raise SourceError([Problem(path, 0, f"not usable JSON: {brief(str(exc))[1:-1]}")]) from None


# --------------------------------------------------------------------------- nodes


def line_of(node: Optional[yaml.Node]) -> int:
    """The 1-based line a node starts on (0 when it came from data, not a file)."""
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else 0


class _Stop(Exception):
    """A limit was hit: composing ends with the problem already recorded."""


class _Composer:
    """Builds nodes from parser events with an explicit stack (no recursion), within the limits."""

    def __init__(self, file: str, problems: List[Problem]) -> None:
        self.file, self.problems = file, problems
        self.anchors: Dict[str, Tuple[yaml.Node, int]] = {}
        self.nodes = 0

    def fail(self, mark: Any, message: str) -> None:
        self.problems.append(Problem(self.file, mark.line + 1 if mark is not None else 0, message))
        raise _Stop()

    def count(self, n: int, mark: Any) -> None:
        self.nodes += n
        if self.nodes > MAX_NODES:
            self.fail(mark, f"too many values (more than {MAX_NODES}, counting each use of an alias "
                            "like *name again); write a smaller file")

    def tag(self, tag: Optional[str], default: str, mark: Any) -> str:
        if tag in (None, "!"):
            return default
        if tag not in _ALLOWED_TAGS:
            self.fail(mark, f"unsupported tag {brief(tag)}; remove it (plain values only)")
        return tag

    def scalar(self, event: yaml.ScalarEvent) -> yaml.ScalarNode:
        value = event.value
        if event.tag in (None, "!"):
            tag = _RESOLVER.resolve(yaml.ScalarNode, value, event.implicit)
        else:
            tag = self.tag(event.tag, "", event.start_mark)
        if tag == _INT_TAG and sum(c.isdigit() for c in value) > MAX_INT_DIGITS:
            self.fail(event.start_mark, f"a number with {sum(c.isdigit() for c in value)} digits is too long "
                                        f"(at most {MAX_INT_DIGITS}); write a real value")
        bad = _SURROGATE.search(value)
        if bad:
            self.fail(event.start_mark, f"invalid character U+{ord(bad.group()):04X} (a lone surrogate); "
                                        "remove the \\u escape")
        # libyaml's marks are typed apart from PyYAML's (types-PyYAML); nodes take either.
        start: Any = event.start_mark
        end: Any = event.end_mark
        return yaml.ScalarNode(tag, value, start, end, style=event.style)

    def compose(self, events: Iterable[yaml.Event]) -> Optional[yaml.Node]:
        # Each open collection: [node, children, size so far, anchor]
        stack: List[list] = []
        root: Optional[yaml.Node] = None
        documents = 0
        for event in events:
            node: Optional[yaml.Node] = None
            size = 1
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    self.fail(event.start_mark, "more than one YAML document (a second '---'); keep one")
                continue
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in self.anchors:
                    self.fail(event.start_mark, f"alias *{brief(event.anchor)} names no anchor above it")
                node, size = self.anchors[event.anchor or ""]  # an alias always names an anchor
                self.count(size, event.start_mark)
            elif isinstance(event, yaml.ScalarEvent):
                node = self.scalar(event)
                self.count(1, event.start_mark)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    self.fail(event.start_mark, f"nested more than {MAX_DEPTH} levels deep; flatten the file")
                self.count(1, event.start_mark)
                mark: Any = event.start_mark   # libyaml's or PyYAML's: nodes take either
                if isinstance(event, yaml.SequenceStartEvent):
                    tag = self.tag(event.tag, _STANDARD_TAG + "seq", mark)
                    coll: yaml.Node = yaml.SequenceNode(tag, [], mark, None, flow_style=event.flow_style)
                else:
                    tag = self.tag(event.tag, _STANDARD_TAG + "map", mark)
                    coll = yaml.MappingNode(tag, [], mark, None, flow_style=event.flow_style)
                stack.append([coll, [], 1, event.anchor])
                continue
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                node, children, size, anchor = stack.pop()
                node.end_mark = event.end_mark
                if isinstance(node, yaml.MappingNode):
                    node.value = list(zip(children[0::2], children[1::2], strict=False))  # pairs: always even
                    self.repeated_keys(node)
                else:
                    node.value = children
                if anchor is not None:
                    self.anchors[anchor] = (node, size)
                self.attach(stack, node, size)
                if not stack:
                    root = node
                continue
            else:
                continue  # stream and document boundaries
            anchor = getattr(event, "anchor", None)
            if anchor is not None and not isinstance(event, yaml.AliasEvent):
                self.anchors[anchor] = (node, size)
            self.attach(stack, node, size)
            if not stack:
                root = node
        return root

    @staticmethod
    def attach(stack: List[list], node: yaml.Node, size: int) -> None:
        if stack:
            stack[-1][1].append(node)
            stack[-1][2] += size

    def repeated_keys(self, node: yaml.MappingNode) -> None:
        seen: Dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # the reader of the mapping reports a non-text key
            name = key_node.value
            line = line_of(key_node)
            if name in seen:
                shown = brief(name)[1:-1] if isinstance(name, str) else name
                self.problems.append(Problem(self.file, line, f"{shown}: "
                                                              f"set twice (first on line {seen[name]}); "
                                                              "the later value would win, remove one"))
            else:
                seen[name] = line


def compose(text: str, file: str) -> Tuple[Optional[yaml.Node], List[Problem]]:
    """Parse one YAML/JSON document into nodes within the limits.

    Returns ``(root node or None, problems)``; the node is None when the
    text is empty or cannot be used at all (then a problem says why).
    Repeated keys are reported as problems but the node is still returned.
    """
    problems: List[Problem] = []
    if len(text) > MAX_FILE_BYTES:
        return None, [Problem(file, 0, f"larger than {MAX_FILE_BYTES} bytes; a ShareGuard file is far smaller")]
    composer = _Composer(file, problems)
    try:
        root = composer.compose(yaml.parse(text, Loader=_LOADER))
    except _Stop:
        return None, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = " ".join(x for x in (exc.context, exc.problem) if x)
        problems.append(Problem(file, mark.line + 1 if mark else 0,
                                f"not valid YAML: {detail}; check indentation, quotes and colons"))
        return None, problems
    except (yaml.YAMLError, ValueError) as exc:  # the reader refuses some characters outright
        problems.append(Problem(file, 0, f"not valid YAML: {brief(str(exc))[1:-1]}"))
        return None, problems
    return root, problems


# --------------------------------------------------------------------------- fast path


class Doubt(Exception):
    """The fast path cannot vouch for a file: read it again through :func:`compose`."""


#: Escapes the fast path leaves to the slow one: lone surrogates (checked per
#: value there), control characters and ``\/``, where JSON and YAML may differ.
_DOUBTFUL_ESCAPE = re.compile(r"\\(?:u[dD][89a-fA-F]|U0000[dD][89a-fA-F]|/|u00[0189]|u007[fF]|u[fF]{3}[eEfF])")
#: Raw characters YAML refuses or reads as line breaks, and tabs (not indentation in YAML).
_JSON_DOUBTFUL_CHAR = re.compile("[^\x0A\x0D\x20-\x7E\xA0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD"
                                 "\U00010000-\U0010FFFF]")
#: A YAML tag (``!!set``, ``!foo``) starting a value: the slow path vets tags.
_YAML_TAG = re.compile(r"(?:^|[\s\[\{,])!")
_FLOAT_TAG = _STANDARD_TAG + "float"


@functools.lru_cache(maxsize=4096)
def _yaml_float(text: str) -> float:
    # YAML 1.1 reads 1e5 (no dot, no sign) as text: such a JSON number is the slow path's to judge.
    # Remembered (a Doubt is not): recorded steps repeat the same times and rates thousands of times.
    if _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) != _FLOAT_TAG:
        raise Doubt(text)
    return float(text)


def _refuse(text: str) -> Any:
    raise Doubt(text)  # NaN / Infinity: not JSON YAML reads as a number


def _unique_dict(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise Doubt("repeated key")  # the slow path names both lines
    return out


class _PlainLoader(_LOADER):  # type: ignore[misc, valid-type]
    """libyaml's loader, refusing (by :class:`Doubt`) what the slow path reports: repeated
    keys, merge keys and over-long integers."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Dict[Any, Any]:
        keys = [k.value if isinstance(k, yaml.ScalarNode) and k.tag != _STANDARD_TAG + "merge" else None
                for k, _ in node.value]
        if None in keys or len(set(keys)) != len(keys):
            raise Doubt("repeated, merge or complex key")
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        if sum(c.isdigit() for c in node.value) > MAX_INT_DIGITS:
            raise Doubt("long integer")
        return super().construct_yaml_int(node)


_PlainLoader.add_constructor(_INT_TAG, _PlainLoader.construct_yaml_int)


def plain_values(text: str, json_text: bool) -> Any:
    """The document in ``text`` as plain Python values, fast; :class:`Doubt` when unsure.

    ``json_text`` reads it with ``json.loads`` (typed as YAML would type it),
    otherwise with libyaml's loader. Checked here: the size, escapes and
    characters where JSON and YAML differ or the slow path reports
    (surrogates), tags, repeated and merge keys, integer digits, numbers
    YAML would read as text, more than one document. The caller still walks
    the values for depth, node count, shared (aliased) containers and types.
    """
    if len(text) > MAX_FILE_BYTES or _DOUBTFUL_ESCAPE.search(text):
        raise Doubt("size or escape")
    if json_text:
        if _JSON_DOUBTFUL_CHAR.search(text):
            raise Doubt("character")
        try:
            return json.loads(text, parse_float=_yaml_float, parse_constant=_refuse, object_pairs_hook=_unique_dict)
        except (ValueError, RecursionError) as exc:  # not JSON, the int digit limit, too deep
            raise Doubt(str(exc)[:80]) from None
    if _YAML_TAG.search(text):
        raise Doubt("tag")
    try:
        return yaml.load(text, Loader=_PlainLoader)  # a safe loader: a CSafeLoader subclass
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise Doubt(str(exc)[:80]) from None


def load_file(path: str, name: Optional[str] = None) -> Tuple[Optional[yaml.Node], List[Problem]]:
    """:func:`read_source` then :func:`compose`; every failure is a problem, never an exception."""
    name = name or path
    try:
        text = read_source(path, name)
    except SourceError as exc:
        return None, exc.problems
    return compose(text, name)


def node_from_data(data: Any) -> yaml.Node:
    """Nodes for plain Python data (lines are 0), so data and files go through the same reader."""
    return yaml.representer.SafeRepresenter().represent_data(data)


def scalar_value(node: yaml.Node) -> Any:
    """The Python value of a scalar node, typed as ``yaml.safe_load`` would type it.

    A scalar the constructor cannot build (a date like 2026-13-45) stays text.
    """
    try:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return node.value


def kind_name(node: yaml.Node) -> str:
    """``a mapping``, ``a list``, ``empty`` or ``int 5`` (bounded), for messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = scalar_value(node)
    if value is None:
        return "empty"
    return f"{type(value).__name__} {brief(value)}"


def to_python(node: Optional[yaml.Node], file: str, problems: List[Problem]) -> Any:
    """Plain data (dict/list/scalars) for ``node``; aliased subtrees become shared objects.

    A key that is a list or mapping is reported and skipped (Python cannot
    hash it). Depth is bounded by :func:`compose`, so recursion is safe.
    """
    memo: Dict[int, Any] = {}

    def build(n: yaml.Node) -> Any:
        if id(n) in memo:
            return memo[id(n)]
        if isinstance(n, yaml.ScalarNode):
            return scalar_value(n)
        if isinstance(n, yaml.SequenceNode):
            out: Any = []
            memo[id(n)] = out
            out.extend(build(item) for item in n.value)
            return out
        out = {}
        memo[id(n)] = out
        for key_node, value_node in n.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(file, line_of(key_node),
                                        f"a key must be a plain name, not {kind_name(key_node)}"))
                continue
            out[scalar_value(key_node)] = build(value_node)
        return out

    return None if node is None else build(node)


# --------------------------------------------------------------------------- typed accessors


class NodeReader:
    """Typed accessors over nodes that record every problem and carry on.

    Each accessor returns the value or None (after recording a problem that
    names the line and what to write instead); callers build what they can
    and report everything in one go. Subclasses word the mismatch message
    their file format documents by overriding :meth:`expected` and
    :data:`WORDS`.
    """

    #: How each expectation is named in messages.
    WORDS = {"mapping": "a mapping", "text": "a non-empty text", "any_text": "a text", "boolean": "true or false",
             "integer": "an integer", "number": "a number", "finite": "a finite number", "list": "a list"}

    def __init__(self, file: str = "") -> None:
        self.file = file
        self.problems: List[Problem] = []

    def err(self, where: Any, message: str, severity: str = "error") -> None:
        """Record a problem at a node (or a line number)."""
        line = where if isinstance(where, int) else line_of(where)
        self.problems.append(Problem(self.file, line, message, severity))

    def expected(self, node: yaml.Node, what: str, expectation: str) -> None:
        """Record "``what`` is not what it should be"."""
        self.err(node, f"{what} must be {self.WORDS[expectation]}, got {kind_name(node)}")

    def mapping(self, node: yaml.Node, allowed: Optional[Sequence[str]], what: str) -> Optional[Dict[str, yaml.Node]]:
        """Key -> value node; reports non-mappings, non-text keys and keys not in ``allowed``
        (None: any key). Repeated keys were already reported by :func:`compose`;
        the later one wins, as in YAML."""
        if not isinstance(node, yaml.MappingNode):
            self.expected(node, what, "mapping")
            return None
        out: Dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.err(key_node, f"{what}: keys must be plain names, not {kind_name(key_node)}")
                continue
            if allowed is not None and key not in allowed:
                self.unknown_key(key_node, key, allowed, what)
                continue
            out[key] = value_node
        return out

    def unknown_key(self, key_node: yaml.Node, key: str, allowed: Sequence[str], what: str) -> None:
        """Report a key the format does not know (an error unless a subclass says otherwise)."""
        self.err(key_node, f"unknown key {brief(key)} in {what}; expected one of: {', '.join(allowed)}")

    def require(self, values: Dict[str, yaml.Node], node: yaml.Node, keys: Iterable[str], what: str) -> bool:
        """Report each of ``keys`` missing from ``values``; True when all are there."""
        ok = True
        for key in keys:
            if key not in values:
                self.err(node, f"{what}: missing required key '{key}'")
                ok = False
        return ok

    @staticmethod
    def is_null(node: Optional[yaml.Node]) -> bool:
        """True for an absent value and for ``key:`` with nothing after it."""
        return node is None or (isinstance(node, yaml.ScalarNode) and scalar_value(node) is None)

    def string(self, node: yaml.Node, what: str, allow_empty: bool = False) -> Optional[str]:
        value = scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            self.expected(node, what, "any_text" if allow_empty else "text")
            return None
        return value

    def boolean(self, node: yaml.Node, what: str) -> Optional[bool]:
        value = scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            self.expected(node, what, "boolean")
            return None
        return value

    def integer(self, node: yaml.Node, what: str) -> Optional[int]:
        value = scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, int) or isinstance(value, bool):
            self.expected(node, what, "integer")
            return None
        return value

    def number(self, node: yaml.Node, what: str) -> Optional[float]:
        """A finite number as float (an integer too big for a float is refused, not crashed on)."""
        value = scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.expected(node, what, "number")
            return None
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.expected(node, what, "finite")
            return None
        return number

    def enum(self, node: yaml.Node, allowed: Sequence[str], what: str) -> Optional[str]:
        value = scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, str) or value not in allowed:
            self.err(node, f"{what} is {kind_name(node)}; expected one of: {', '.join(allowed)}")
            return None
        return value

    def seq(self, node: yaml.Node, what: str) -> List[yaml.Node]:
        """The items of a list (``key:`` with nothing after it is an empty list)."""
        if self.is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.expected(node, what, "list")
            return []
        return list(node.value)

    def strings(self, node: yaml.Node, what: str, allow_empty: bool = False) -> Tuple[str, ...]:
        out = []
        for i, item in enumerate(self.seq(node, what), 1):
            value = self.string(item, f"{what} item {i}", allow_empty)
            if value is not None:
                out.append(value)
        return tuple(out)
