"""Finding bank, loan, payment, credit-report and investment contexts.

A sensitive context is a visible window whose title names such a service
(a browser's page title is part of its window title) or a running process of
such a service's native app. Precision rules, in order:
1. windows of document apps (office suites, editors, PDF readers) and titles
   that look like documents ("Bank reconciliation.xlsx - Excel") are never
   sensitive: ``TitleRules.exclude_processes`` / ``exclude_titles``;
2. a ``strong`` phrase alone identifies the service;
3. a ``weak`` phrase ("Chase", "工行") counts only when the same title also
   holds a context word ("bank", "登录") outside the phrase itself;
4. ``patterns`` are extra regexes for forms the phrase rules cannot express.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Pattern, Sequence, Tuple

from agent.engine.matching import CACHE_LIMIT, PhraseTable, ProcessIndex, is_cjk
from agent.model import ProcessInfo, SensitiveFinding, WindowInfo
from agent.signatures.model import SensitiveSignature, SignatureSet

_STRONG, _WEAK = "strong", "weak"


def _overlaps(a: Tuple[int, int], b: Tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


class SensitiveMatcher:
    """Compiled sensitive signatures for one platform."""

    def __init__(self, signatures: SignatureSet, platform: str) -> None:
        self.platform = platform
        self._by_id: Dict[str, SensitiveSignature] = {s.id: s for s in signatures.sensitive}
        phrases: List[Tuple[str, Tuple[str, SensitiveSignature]]] = []
        for sig in signatures.sensitive:
            phrases += [(p, (_STRONG, sig)) for p in sig.strong]
            phrases += [(p, (_WEAK, sig)) for p in sig.weak]
        self._phrases = PhraseTable(phrases)
        self._patterns: List[Tuple[Pattern[str], SensitiveSignature]] = [
            (re.compile(p, re.IGNORECASE), sig) for sig in signatures.sensitive for p in sig.patterns
        ]
        rules = signatures.title_rules
        self._context = PhraseTable((w, w) for w in rules.context_words)
        self._exclude_titles: Optional[Pattern[str]] = (
            re.compile("|".join(f"(?:{p})" for p in rules.exclude_titles), re.IGNORECASE)
            if rules.exclude_titles else None
        )
        self._exclude_procs = ProcessIndex(((m, None) for m in rules.exclude_processes), platform)
        self._title_cache: Dict[Tuple[str, Optional[str]], Optional[SensitiveSignature]] = {}
        self._native = ProcessIndex(((m, sig) for sig in signatures.sensitive for m in sig.processes), platform)

    def is_excluded(self, title: str, process_name: Optional[str]) -> bool:
        """True when a title or its app is a document, never a live service."""
        if self._exclude_titles is not None and self._exclude_titles.search(title):
            return True
        if process_name and self._exclude_procs.match(ProcessInfo(pid=0, name=process_name)):
            return True
        return False

    def match_title(self, title: str, process_name: Optional[str] = None,
                    platform: Optional[str] = None) -> Optional[SensitiveSignature]:
        """The service a window title names, or None.

        ``platform`` is accepted for symmetry with the test cases; matching
        uses the platform this matcher was built for. Results are cached per
        (title, process): window titles barely change between ticks.
        """
        key = (title, process_name)
        if key in self._title_cache:
            return self._title_cache[key]
        if len(self._title_cache) >= CACHE_LIMIT:
            self._title_cache.clear()
        found = self._title_cache[key] = self._match_title(title, process_name)
        return found

    def _match_title(self, title: str, process_name: Optional[str]) -> Optional[SensitiveSignature]:
        if not title or self.is_excluded(title, process_name):
            return None
        hits = self._phrases.find(title)
        for _span, (strength, sig) in hits:
            if strength == _STRONG:
                return sig
        weak = [(span, sig) for span, (strength, sig) in hits if strength == _WEAK]
        if weak:
            context_spans = [span for span, _ in self._context.find(title)]
            for span, sig in weak:
                if any(not _overlaps(span, c) for c in context_spans):
                    return sig
        for rx, sig in self._patterns:
            if rx.search(title):
                return sig
        return None

    def find(self, windows: Sequence[WindowInfo], processes: Sequence[ProcessInfo],
             procs_by_pid: Dict[int, ProcessInfo]) -> Tuple[SensitiveFinding, ...]:
        """Sensitive contexts among visible windows and native app processes.

        ``procs_by_pid`` (the engine's index of the snapshot) names each
        window's app, so a spreadsheet's window can be excluded.
        """
        found: Dict[str, Tuple[SensitiveSignature, set, str, bool]] = {}
        for win in windows:
            if not win.visible:
                continue
            proc = procs_by_pid.get(win.pid) if win.pid is not None else None
            sig = self.match_title(win.title, proc.name if proc is not None else None)
            if sig is None:
                continue
            cjk = any(is_cjk(ch) for ch in win.title)
            _, pids, _, _ = found.setdefault(sig.id, (sig, set(), "window-title", cjk))
            if win.pid is not None:
                pids.add(win.pid)
        for proc in processes:
            for _, sig in self._native.match(proc):
                _, pids, _, _ = found.setdefault(sig.id, (sig, set(), "process", False))
                pids.add(proc.pid)
        # The verdict names a service as the person sees it: in Chinese for a
        # Chinese market or a Chinese title (中国工商银行, 中銀香港), else in English.
        return tuple(
            SensitiveFinding(id=sig.id, name=sig.display_name("zh_CN" if sig.region == "cn" or cjk else "en"),
                             category=sig.category, pids=tuple(sorted(pids)), evidence=evidence,
                             name_en=sig.display_name("en"))
            for sig, pids, evidence, cjk in (found[k] for k in sorted(found))
        )

