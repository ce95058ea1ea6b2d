"""Name and phrase matching rules, compiled once per signature set.

Two rules of docs/detection.md (sections 1 and 2) live here so every caller applies them the
same way:
- Windows process names are case-insensitive and ``.exe`` is optional
  (macOS file names are case-insensitive too); Linux names are exact.
- A title phrase needs word boundaries: "Bank of China" must not match
  inside "Food Bank of Chinatown", an all-capitals acronym (ICBC, SBI) must
  be in capitals, and CJK phrases match as substrings (CJK has no spaces;
  short CJK forms that occur inside ordinary words are ``weak`` signatures).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections import OrderedDict
from typing import Any, Callable, Dict, Generic, Hashable, Iterable, List, Optional, Pattern, Sequence, Tuple, TypeVar

from agent.model import ProcessInfo
from agent.signatures.model import ProcessMatcher

T = TypeVar("T")
V = TypeVar("V")

#: Entries kept by each memo (per process name, per title, per window) before the least
#: recently used ones are forgotten: a machine spawning random names cannot grow them.
CACHE_LIMIT = 4096


class LruMemo(Generic[V]):
    """A bounded memo of pure results: the least recently used entry goes first.

    The engine's matchers keep one per kind of input (a process name, a
    window's title and class...), keyed by everything that decides the result,
    so a desktop that barely changes between ticks is judged from memory.
    """

    def __init__(self, limit: int = CACHE_LIMIT) -> None:
        self.limit = limit
        self._entries: "OrderedDict[Hashable, V]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Optional[V]:
        """The remembered result for ``key``, or None."""
        entries = self._entries
        value = entries.get(key)
        if value is not None:
            try:
                entries.move_to_end(key)
            except KeyError:
                pass  # forgotten meanwhile by an engine in another thread (matchers are shared)
        return value

    def put(self, key: Hashable, value: V) -> V:
        """Remember ``value`` (never None) for ``key`` and return it."""
        entries = self._entries
        entries[key] = value
        if len(entries) > self.limit:
            try:
                entries.popitem(last=False)
            except KeyError:
                pass  # emptied meanwhile by another thread
        return value

    def clear(self) -> None:
        """Forget everything (the signatures or the policy changed)."""
        self._entries.clear()



def same_items(a: Sequence[object], b: Sequence[object]) -> bool:
    """True when two lists of records are equal, cheaply when they are the same objects.

    What the engine's last-snapshot memos compare with: equal by value (so a memo
    never answers for different input), decided by pointers when a collector or
    the replay reader handed the same records over again, and by length first
    (tuple equality would compare every record before looking at the lengths).
    """
    return a is b or (len(a) == len(b) and a == b)


def frozen(items: Sequence[Any]) -> Sequence[Any]:
    """``items`` as a tuple (itself when it is one), to be compared with later."""
    return items if type(items) is tuple else tuple(items)


class ListMemo(Generic[V]):
    """What a list of records yields, item by item, remembered for the last list.

    ``per_item(record)`` gives a tuple of results for one record (usually empty);
    calling the memo with a list gives all of them in list order. A list equal to
    the last one (:func:`same_items`) is answered at once; otherwise only records
    that were not in the last list (by identity: a collector or the replay reader
    hands unchanged records over as the same objects) are looked at. The memo keeps
    only the last list's records, so it never grows beyond one snapshot.
    """

    def __init__(self, per_item: Callable[[Any], Tuple[V, ...]]) -> None:
        self._per_item = per_item
        # (last list, its results, its records by id), replaced as one: engines sharing
        # the matchers may call from several threads.
        self._last: Optional[Tuple[Sequence[Any], Tuple[V, ...], Dict[int, Tuple[Any, Tuple[V, ...]]]]] = None

    def __call__(self, items: Sequence[Any]) -> Tuple[V, ...]:
        last = self._last
        if last is not None and same_items(last[0], items):
            return last[1]
        old = last[2] if last is not None else {}
        by_id: Dict[int, Tuple[Any, Tuple[V, ...]]] = {}
        out: List[V] = []
        for item in items:
            hit = old.get(id(item))
            if hit is None or hit[0] is not item:
                hit = (item, self._per_item(item))
            by_id[id(item)] = hit  # holding the record keeps its id from being reused
            out.extend(hit[1])
        found = tuple(out)
        # A list (not a tuple) could be changed in place before the next call: keep a copy.
        self._last = (frozen(items), found, by_id)
        return found

    def clear(self) -> None:
        """Forget the last list."""
        self._last = None


_CASE_INSENSITIVE_PLATFORMS = ("windows", "darwin")


def normalize_process_name(name: str, platform: str) -> str:
    """The form a process name is compared in on ``platform``."""
    if platform in _CASE_INSENSITIVE_PLATFORMS:
        name = name.casefold()
        if platform == "windows" and name.endswith(".exe"):
            name = name[:-4]
    return name


def applies_to(platforms: Sequence[str], platform: str) -> bool:
    """True when a rule limited to ``platforms`` (empty = all) applies here."""
    return not platforms or platform in platforms


def _argv_has(cmdline: Sequence[str], wanted: Sequence[str]) -> bool:
    rest = set(cmdline[1:])
    return all(arg in rest for arg in wanted)


class ProcessIndex(Generic[T]):
    """Finds which matchers a process satisfies, in O(1) for plain names.

    Built from ``(matcher, payload)`` pairs for one platform; wildcard names
    (``rustdesk*.exe``) are checked by regex after the dictionary lookup.
    """

    def __init__(self, entries: Iterable[Tuple[ProcessMatcher, T]], platform: str) -> None:
        self.platform = platform
        self._exact: Dict[str, List[Tuple[ProcessMatcher, T]]] = {}
        self._wild: List[Tuple[Pattern[str], ProcessMatcher, T]] = []
        self._by_name: LruMemo[List[Tuple[ProcessMatcher, T]]] = LruMemo()
        for matcher, payload in entries:
            if not applies_to(matcher.platforms, platform):
                continue
            key = normalize_process_name(matcher.name, platform)
            if any(c in key for c in "*?["):
                # .exe stays optional for wildcard names too: "rustdesk*.exe" -> "rustdesk*".
                self._wild.append((re.compile(fnmatch.translate(key)), matcher, payload))
            else:
                self._exact.setdefault(key, []).append((matcher, payload))

    def __len__(self) -> int:
        return sum(len(v) for v in self._exact.values()) + len(self._wild)

    def forget(self) -> None:
        """Drop the per-name memo."""
        self._by_name.clear()

    def _candidates(self, name: str) -> List[Tuple[ProcessMatcher, T]]:
        # The same few hundred names come back every tick: remember what each
        # name matched (bounded, so a machine spawning random names cannot
        # grow it without limit).
        found = self._by_name.get(name)
        if found is None:
            key = normalize_process_name(name, self.platform)
            found = list(self._exact.get(key, ()))
            found += [(matcher, payload) for rx, matcher, payload in self._wild if rx.match(key)]
            self._by_name.put(name, found)
        return found

    def names(self, name: str) -> List[Tuple[ProcessMatcher, T]]:
        """The ``(matcher, payload)`` pairs whose name matches ``name`` (arguments and exe not checked)."""
        return self._candidates(name)

    def match(self, proc: ProcessInfo) -> List[Tuple[ProcessMatcher, T]]:
        """All ``(matcher, payload)`` pairs ``proc`` satisfies."""
        candidates = self._candidates(proc.name)
        if not candidates:
            return []
        out = []
        for matcher, payload in candidates:
            if matcher.args and not _argv_has(proc.cmdline, matcher.args):
                continue
            if matcher.exe_contains and not (proc.exe and matcher.exe_contains.casefold() in proc.exe.casefold()):
                continue
            out.append((matcher, payload))
        return out


_CJK_RANGES = (
    ("\u2e80", "\u9fff"),  # CJK radicals, punctuation, kana, unified ideographs
    ("\uac00", "\ud7af"),  # Hangul
    ("\uf900", "\ufaff"),  # compatibility ideographs
    ("\uff00", "\uffef"),  # full-width forms
)


def is_cjk(ch: str) -> bool:
    return any(lo <= ch <= hi for lo, hi in _CJK_RANGES)


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


#: The word-boundary guards of a phrase: no Latin letter or digit just before or after it.
#: Inside a pattern compiled with ``re.IGNORECASE``, ``[A-Za-z0-9]`` also matches the four
#: characters that case-fold to ASCII (İ ı ſ and the Kelvin sign), and Python's regex
#: compiler then builds a full Unicode map for every guard (a quarter of a second for the
#: signature set's ~780 guards). Guards scoped case-sensitive compile ten times faster and
#: differ only at those four characters, so a table uses them for any text without them
#: (:class:`PhraseTable`) and keeps the original guards for text that has one.
_GUARDS = (r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])")
_FAST_GUARDS = (r"(?-i:(?<![A-Za-z0-9]))", r"(?-i:(?![A-Za-z0-9]))")
_FOLDED_ALNUM = frozenset("\u0130\u0131\u017f\u212a")


def _phrase_parts(phrase: str, guards: Tuple[str, str]) -> Tuple[str, str, str]:
    """``(leading guard, body, trailing guard)`` of a phrase's regex (guards may be empty)."""
    phrase = " ".join(phrase.split())
    body = r"\s+".join(re.escape(part) for part in phrase.split(" "))
    letters = [c for c in phrase if c.isascii() and c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) <= 6:
        body = f"(?-i:{body})"
    # Boundaries only where the phrase ends in a Latin letter or digit: a CJK
    # edge has no word boundary to respect.
    return (guards[0] if _is_word_char(phrase[0]) else "", body,
            guards[1] if _is_word_char(phrase[-1]) else "")


def phrase_pattern(phrase: str) -> str:
    """A regex source for ``phrase`` under the boundary rules of this module.

    Meant to be compiled with ``re.IGNORECASE``; acronyms switch it off
    locally with a scoped ``(?-i:...)`` group.
    """
    return "".join(_phrase_parts(phrase, _GUARDS))


def phrases_pattern(phrases: Sequence[str], guards: Tuple[str, str] = _GUARDS) -> str:
    """One regex source trying ``phrases`` in order, as ``"|".join(map(phrase_pattern, phrases))``.

    Neighbours with the same guards share them: ``G(?:a|b)H`` tries the same
    alternatives in the same order as ``GaH|GbH`` (a lookbehind looks at the same
    place for both; a failed lookahead backtracks into the group), and the
    signature set's ~780 phrase guards become ~200.
    """
    runs: List[Tuple[str, str, List[str]]] = []
    for phrase in phrases:
        lead, body, trail = _phrase_parts(phrase, guards)
        if runs and runs[-1][0] == lead and runs[-1][1] == trail:
            runs[-1][2].append(body)
        else:
            runs.append((lead, trail, [body]))
    return "|".join(f"{lead}(?:{'|'.join(bodies)}){trail}" if lead or trail else "|".join(bodies)
                    for lead, trail, bodies in runs)


def phrase_key(text: str) -> str:
    """Normalise matched text to look it up in a phrase table."""
    return " ".join(text.split()).casefold()


@functools.lru_cache(maxsize=64)
def _compile_phrases(phrases: Tuple[str, ...], guards: Tuple[str, str]) -> Pattern[str]:
    """One table's regex, shared by every engine built on the same phrases (a compiled
    pattern is immutable): ``shareguard replay`` makes a new engine per file."""
    return re.compile(phrases_pattern(phrases, guards), re.IGNORECASE)


class PhraseTable(Generic[T]):
    """Many phrases compiled into one regex; ``find`` returns what matched.

    Longer phrases are tried first so "中国工商银行" wins over "工商银行" at
    the same position. The regex is compiled on first use (a table a run never
    needs costs nothing), with the fast guards unless the text has one of the
    characters they treat differently (see :data:`_FAST_GUARDS`).
    """

    def __init__(self, phrases: Iterable[Tuple[str, T]]) -> None:
        self._payloads: Dict[str, List[T]] = {}
        sources: Dict[str, Tuple[int, str]] = {}
        for phrase, payload in phrases:
            phrase = " ".join(phrase.split())
            if not phrase:
                continue
            self._payloads.setdefault(phrase_key(phrase), []).append(payload)
            sources[phrase_key(phrase)] = (len(phrase), phrase)
        # Longest phrase first (not longest regex: boundary guards would skew it).
        self._phrases = tuple(phrase for _, phrase in sorted(sources.values(), key=lambda item: -item[0]))
        self._compiled: Dict[Tuple[str, str], Pattern[str]] = {}

    def _regex(self, text: str) -> Pattern[str]:
        guards = _FAST_GUARDS if _FOLDED_ALNUM.isdisjoint(text) else _GUARDS
        rx = self._compiled.get(guards)
        if rx is None:
            rx = self._compiled[guards] = _compile_phrases(self._phrases, guards)
        return rx

    def find(self, text: str) -> List[Tuple[Tuple[int, int], T]]:
        """Every ``((start, end), payload)`` found in ``text``, in order."""
        if not self._phrases or not text:
            return []
        out: List[Tuple[Tuple[int, int], T]] = []
        for m in self._regex(text).finditer(text):
            for payload in self._payloads.get(phrase_key(m.group(0)), ()):
                out.append((m.span(), payload))
        return out
