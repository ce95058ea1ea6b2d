"""Finding bank, loan, payment, credit-report and investment contexts.

A sensitive context is a window or page that IS such a service (basis
``own``) or poses as one (basis ``impersonation``); a window that only names
one is a ``mention`` and never counts (spec: docs/detection.md). How a title
is judged, in order:

1. Windows of apps that only ever show documents, code, mail or chats
   (``exclude_processes``) mention what they name.
2. The browser's own name is cut off the title (``browser_titles``); the page
   part is cut into segments (agent/engine/titles.py).
3. Institutions are found by phrase (``strong``; ``weak`` ones need a context
   word elsewhere in the title; ``patterns``).
4. A document name, anti-fraud wording or a page about something
   (questions, reviews, developer docs: ``document_titles``,
   ``antifraud_words``, ``mention_words``) makes every name a mention.
5. Each segment is classed: ``brand`` (an institution's name, alone or with
   words a finance page says about itself), ``service`` (only such words),
   ``prose`` (a name among other words: a headline), ``site`` (a short name
   of something else: 财联社, 微博, Microsoft Teams), ``domain``.
6. The site position (the last segment, else the first, skipping service
   and prose segments) decides: another site's name there means the title
   only mentions; an institution there, or a lone brand segment, means the
   page poses as it.
7. A posing page is ``own`` unless it shows another domain, a throw-away
   domain, the scam's lure words, or poses as the central bank or a
   regulator while offering services: then ``impersonation``. When the
   browser companion reports the URL, the registrable domain decides instead
   (:meth:`SensitiveMatcher.judge_page`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Pattern, Sequence, Tuple

from agent.domains import host_of, is_throwaway, looks_alike, on_domains, registrable_domain
from agent.engine.matching import ListMemo, LruMemo, PhraseTable, ProcessIndex, is_cjk
from agent.engine.titles import BrowserSuffixes, Segment, split_segments
from agent.model import MENTION_BASIS, PageInfo, ProcessInfo, SensitiveFinding, WindowInfo
from agent.signatures.model import SensitiveSignature, SignatureSet

_STRONG, _WEAK, _PATTERN = "strong", "weak", "pattern"

# Segment classes (see the module docstring).
BRAND, SERVICE, PROSE, SITE, DOMAIN = "brand", "service", "prose", "site", "domain"

#: The finding made for a page on a throw-away domain that names no institution
#: but offers a login or lure words; its names come from signatures/finance/lures.yaml.
THROWAWAY_ID = "throwaway-site"

#: A segment "is" a name when at most this many CJK characters and no Latin
#: word are left besides names and finance-page words ("招商银行一网通",
#: "Chase | Sign in"); a short segment with more is another site's name.
_BRAND_SLACK_CJK = 2
_SITE_MAX_CJK, _SITE_MAX_WORDS = 12, 4

_HOST_TOKEN = re.compile(r"(?:https?://)?((?:[a-z0-9\u00a1-\uffff-]+\.)+[a-z\u00a1-\uffff]{2,})(?::\d+)?(?:/\S*)?",
                         re.IGNORECASE)
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

#: English function words: masked like page words, but no evidence of a finance page
#: ("The Points Guy" is a site's name, not service wording).
_STOPWORDS = frozenset("the of and to your my for with in on at by from an".split())


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    sig: SensitiveSignature
    weak: bool = False  # a weak form without context: masks its words, names nothing


@dataclass(frozen=True)
class _Seg:
    seg: Segment
    kind: str
    hits: Tuple[_Hit, ...]
    domain: Optional[str] = None


@dataclass(frozen=True)
class Judgement:
    """What one title (or page) is: ``basis`` own, impersonation, mention or none.

    ``sig`` is the institution it is or poses as; ``mentioned`` the
    institutions a mention names; ``site`` the site part or registrable
    domain it was seen on; ``evidence`` ``window-title``, ``page-title`` or
    ``page-url``.
    """

    basis: str
    sig: Optional[SensitiveSignature] = None
    mentioned: Tuple[SensitiveSignature, ...] = ()
    site: str = ""
    evidence: str = "window-title"
    #: Set when it differs from the signature's: lure words make any posing page a
    #: credit-report impersonation (docs/detection.md).
    category: str = ""


_NONE = Judgement("none")


def _overlaps(a: Tuple[int, int], b: Tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _unique(sigs: Sequence[SensitiveSignature]) -> Tuple[SensitiveSignature, ...]:
    seen: Dict[str, SensitiveSignature] = {}
    for sig in sigs:
        seen.setdefault(sig.id, sig)
    return tuple(seen.values())


class SensitiveMatcher:
    """Compiled sensitive signatures and title rules for one platform."""

    def __init__(self, signatures: SignatureSet, platform: str) -> None:
        self.platform = platform
        sigs = signatures.sensitive
        self._by_id: Dict[str, SensitiveSignature] = {s.id: s for s in sigs}
        phrases: List[Tuple[str, Tuple[str, SensitiveSignature]]] = []
        for sig in sigs:
            phrases += [(p, (_STRONG, sig)) for p in sig.strong]
            phrases += [(p, (_WEAK, sig)) for p in sig.weak]
        self._phrases = PhraseTable(phrases)
        self._patterns: List[Tuple[Pattern[str], SensitiveSignature]] = [
            (re.compile(p, re.IGNORECASE), sig) for sig in sigs for p in sig.patterns
        ]
        rules = signatures.title_rules
        self._context = PhraseTable((w, w) for w in rules.context_words)
        self._vocab = PhraseTable((w, w) for w in rules.context_words + rules.page_words + rules.offer_words
                                  + rules.service_desk_words)
        self._offers = PhraseTable((w, w) for w in rules.offer_words)
        self._desk = PhraseTable((w, w) for w in rules.service_desk_words)
        self._quoting = PhraseTable((w, w) for w in rules.quoting_sites)
        self._mention_words = PhraseTable((w, w) for w in rules.antifraud_words + rules.mention_words)
        self._documents: Optional[Pattern[str]] = (
            re.compile("|".join(f"(?:{p})" for p in rules.document_titles + rules.exclude_titles), re.IGNORECASE)
            if rules.document_titles or rules.exclude_titles else None
        )
        self._suffixes = BrowserSuffixes(rules.browser_titles)
        self._cheap_tlds = tuple(t.lower().lstrip(".") for t in rules.cheap_tlds)
        self._nonservice_hosts = tuple(h.lower() for h in rules.nonservice_hosts)
        self._exclude_procs = ProcessIndex(((m, None) for m in rules.exclude_processes), platform)
        self._native = ProcessIndex(((m, sig) for sig in sigs for m in sig.processes), platform)
        self._official = [(sig, sig.official_domains) for sig in sigs if sig.official_domains]
        self._all_official = [d for _, ds in self._official for d in ds]
        self._cache: LruMemo[Judgement] = LruMemo()
        self._native_memo: ListMemo[Tuple[SensitiveSignature, int]] = ListMemo(self._native_of)

    # -- public API ------------------------------------------------------
    def is_excluded(self, title: str, process_name: Optional[str]) -> bool:
        """True when a window of ``process_name`` can only mention (documents, code, mail, chats)."""
        if not process_name:
            return False
        return bool(self._exclude_procs.match(ProcessInfo(pid=0, name=process_name)))

    def match_title(self, title: str, process_name: Optional[str] = None,
                    platform: Optional[str] = None) -> Optional[SensitiveSignature]:
        """The service a window title is or poses as (own or impersonation), or None."""
        judged = self.judge_title(title, process_name)
        return judged.sig if judged.basis in ("own", "impersonation") else None

    def judge_title(self, title: str, process_name: Optional[str] = None) -> Judgement:
        """Judge a window title (cached: titles barely change between ticks)."""
        return self._cached(title, process_name, "", lambda: self._judge_window(title, process_name))

    def judge_page(self, title: str, url: str) -> Judgement:
        """Judge a page the browser companion reported: its URL decides, its title helps."""
        return self._cached(title, None, url or "-", lambda: self._judge_page(title, url))

    def find(self, windows: Sequence[WindowInfo], processes: Sequence[ProcessInfo],
             procs_by_pid: Dict[int, ProcessInfo], pages: Sequence[PageInfo] = ()
             ) -> Tuple[Tuple[SensitiveFinding, ...], Tuple[SensitiveFinding, ...]]:
        """Sensitive contexts and mentions among visible windows, pages and native apps.

        Returns ``(sensitive, mentions)``. A page counts when it is visible or
        is the tab being shared (the other side sees it); a browser window
        whose page the companion reported is judged by that page's URL.
        """
        found = _Collector()
        reported = {(p.pid, p.title.strip()) for p in pages if p.pid is not None and p.title}
        for win in windows:
            if not win.visible:
                continue
            proc = procs_by_pid.get(win.pid) if win.pid is not None else None
            if win.pid is not None and self._reported(win.title, win.pid, reported):
                continue  # the companion's page (with its URL) speaks for this window
            judged = self.judge_title(win.title, proc.name if proc is not None else None)
            found.add(judged, win.pid, win.title)
        for page in pages:
            if not (page.visible or page.shared):
                continue
            found.add(self.judge_page(page.title, page.url), page.pid, page.title, shared=page.shared)
        for sig, pid in self.native_apps(processes):
            found.add(Judgement("own", sig, evidence="process"), pid, "")
        return found.results()

    def native_apps(self, processes: Sequence[ProcessInfo]) -> Tuple[Tuple[SensitiveSignature, int], ...]:
        """``(institution, pid)`` for every process that is a bank's (or payment...) own app,
        remembered for the last process list as :meth:`ShareGrader.process_evidence`."""
        return self._native_memo(processes)

    def _native_of(self, proc: ProcessInfo) -> Tuple[Tuple[SensitiveSignature, int], ...]:
        return tuple((sig, proc.pid) for _, sig in self._native.match(proc))

    # -- judging ---------------------------------------------------------
    def _cached(self, title: str, process_name: Optional[str], url: str, judge) -> Judgement:
        key = (title, process_name, url)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache.put(key, judge())
        return hit

    def forget(self) -> None:
        """Drop every memo (judged titles, pages and process names)."""
        self._cache.clear()
        self._native_memo.clear()
        self._native.forget()

    def _reported(self, title: str, pid: int, reported: set) -> bool:
        if not reported:
            return False
        page = self._suffixes.split(title).page
        return (pid, page) in reported or any(pid == p and t and page.startswith(t) for p, t in reported)

    def _judge_window(self, title: str, process_name: Optional[str]) -> Judgement:
        if not title:
            return _NONE
        page = self._suffixes.split(title).page
        if self.is_excluded(title, process_name):
            hits, _ = self._named(page)
            return Judgement(MENTION_BASIS, mentioned=_unique([h.sig for h in hits]), site=process_name or "") \
                if hits else _NONE
        return self._judge_text(page)

    def _judge_page(self, title: str, url: str) -> Judgement:
        host = host_of(url) if url else None
        domain = registrable_domain(host) if host else None
        text = self._judge_text(title or "", url_known=domain is not None)
        if host is None or domain is None:
            # No domain to compare (file://, an IP address, about:blank): the title decides.
            return Judgement(text.basis, text.sig, text.mentioned, text.site, "page-title")
        for sig, domains in self._official:
            if on_domains(host, domains):
                if sig.role == "authority" or host.split(".", 1)[0] in self._nonservice_hosts:
                    # The central bank's or regulator's general site, a bank's developer or
                    # careers site: about the institution, not its service.
                    return Judgement(MENTION_BASIS, mentioned=(sig,), site=domain, evidence="page-url")
                return Judgement("own", sig, site=domain, evidence="page-url")
        if is_throwaway(domain, self._cheap_tlds):
            if text.sig is not None or text.mentioned or self._offers.find(title or ""):
                posed = text.sig or (text.mentioned[0] if text.mentioned else self._by_id.get(THROWAWAY_ID))
                if posed is not None:
                    return Judgement("impersonation", posed, site=domain, evidence="page-url")
            return Judgement("none", site=domain, evidence="page-url")
        imitated = looks_alike(domain, self._all_official)
        if imitated is not None:
            sig = next(s for s, ds in self._official if any((registrable_domain(d) or d) == imitated for d in ds))
            return Judgement("impersonation", sig, site=domain, evidence="page-url")
        if text.basis in ("own", "impersonation") and text.sig is not None:
            if text.sig.role in ("generic",) or (text.sig.role == "institution" and not text.sig.official_domains):
                # Nothing to compare with: a bank we list without domains, or a
                # generic online-banking page of a bank we do not list.
                return Judgement(text.basis, text.sig, site=domain, evidence="page-title")
            return Judgement("impersonation", text.sig, site=domain, evidence="page-url")
        return Judgement(text.basis, text.sig, text.mentioned, domain, "page-title")

    def _judge_text(self, page: str, url_known: bool = False) -> Judgement:
        """Judge a page part (a title without the browser's name)."""
        hits, masks = self._named(page)
        throwaway = self._throwaway_in(page)
        if not hits:
            if throwaway and self._offers.find(page):
                sig = self._by_id.get(THROWAWAY_ID)
                return Judgement("impersonation", sig, site=throwaway) if sig else _NONE
            return _NONE
        everything = _unique([h.sig for h in hits])
        lures = [h.sig for h in hits if h.sig.role == "lure"]
        if throwaway:
            return Judgement("impersonation", self._primary(hits), site=throwaway)
        if (self._documents is not None and self._documents.search(page)) or self._mentions_about(page, hits):
            return Judgement(MENTION_BASIS, mentioned=everything)
        segs = [self._classify(s, hits, masks) for s in split_segments(page)]
        site = self._site_position(segs)
        brands = [s for s in segs if s.kind == BRAND]
        if site is not None and site.kind == SITE:
            if not self._quoting.find(site.seg.text):
                # A page posing as an institution's customer service (or the
                # central bank offering services) on someone else's site.
                for seg in brands:
                    sig = self._primary(seg.hits)
                    if self._desk.find(seg.seg.text) or (sig.role == "authority" and self._offers.find(seg.seg.text)):
                        return Judgement("impersonation", sig, site=site.seg.text)
            return Judgement(MENTION_BASIS, mentioned=everything, site=site.seg.text)
        if site is not None and site.kind == DOMAIN:
            sig = self._primary([h for s in brands for h in s.hits]) if brands else None
            if sig is None:
                # "Citi.com - Sign On": the site names itself by its domain.
                sig = next((s for s, ds in self._official if on_domains(site.domain or "", ds)), None)
            if sig is not None and on_domains(site.domain or "", sig.official_domains):
                return self._posing(sig, hits, page, site=site.domain or "")
            if sig is not None or lures:
                return Judgement("impersonation", sig or lures[0], site=site.domain or "")
            return Judgement(MENTION_BASIS, mentioned=everything, site=site.domain or "")
        if brands:
            return self._posing(self._primary([h for s in brands for h in s.hits]), hits, page,
                                site=site.seg.text if site is not None else "")
        if lures:
            # The script's own words in a sentence ("您的征信异常，请及时处理") with no other
            # site named: a scam page.
            return Judgement("impersonation", lures[0])
        return Judgement(MENTION_BASIS, mentioned=everything)

    def _posing(self, sig: SensitiveSignature, hits: Sequence[_Hit], page: str, site: str) -> Judgement:
        """A page in the institution's brand position: own, impersonation, or its general site."""
        lures = [h.sig for h in hits if h.sig.role == "lure"]
        if sig.role == "lure":
            return Judgement("impersonation", sig, site=site)
        if lures:
            return Judgement("impersonation", sig if sig.role != "generic" else lures[0], site=site,
                             category="credit_report")
        if sig.role == "authority":
            if self._offers.find(page) or self._desk.find(page):
                return Judgement("impersonation", sig, site=site)
            return Judgement(MENTION_BASIS, mentioned=(sig,), site=site)
        return Judgement("own", sig, site=site)

    # -- pieces ----------------------------------------------------------
    def _hits(self, text: str) -> List[_Hit]:
        """Institutions named in ``text``.

        A weak form (工行, Chase) counts with a context word elsewhere in the title, or
        with another institution's strong name there ("京东金融 - 白条": the lender gives
        the context). Weak forms that do not count are still returned with ``weak``
        set, so a segment's residue does not count them as other words.
        """
        if not text:
            return []
        found = self._phrases.find(text)
        strong_spans = [span for span, (strength, _) in found if strength == _STRONG]
        context = [c for c, _ in self._context.find(text)] + strong_spans
        hits: List[_Hit] = []
        for span, (strength, sig) in found:
            valid = strength != _WEAK or any(not _overlaps(span, c) for c in context)
            hits.append(_Hit(span[0], span[1], sig, weak=not valid))
        for rx, sig in self._patterns:
            for m in rx.finditer(text):
                if m.end() <= m.start():
                    continue
                # A longer pattern match of the same institution takes the place of its
                # phrase ("中国人民银行天津市中心支行" over "中国人民银行").
                inner = [h for h in hits if not h.weak and _overlaps((h.start, h.end), m.span())]
                if inner and all(h.sig is sig and m.start() <= h.start and h.end <= m.end() for h in inner):
                    hits = [h for h in hits if h not in inner]
                taken = [(h.start, h.end) for h in hits if not h.weak]
                if not any(_overlaps(m.span(), t) for t in taken):
                    # A pattern names what a weak form alone could not ("Capital One - Sign In").
                    hits = [h for h in hits if not (h.weak and _overlaps((h.start, h.end), m.span()))]
                    hits.append(_Hit(m.start(), m.end(), sig))
        hits.sort(key=lambda h: h.start)
        return hits

    def _named(self, text: str) -> Tuple[List[_Hit], List[_Hit]]:
        """``(hits that name an institution, all hits incl. weak forms without context)``."""
        every = self._hits(text)
        return [h for h in every if not h.weak], every

    @staticmethod
    def _primary(hits: Sequence[_Hit]) -> SensitiveSignature:
        """The institution a posing title is about: the first named, institutions before
        authorities' credit centre words, generic words and lure words last."""
        rank = {"institution": 0, "authority": 0, "generic": 2, "lure": 1}
        return min(hits, key=lambda h: (rank.get(h.sig.role, 3), h.start)).sig

    def _mentions_about(self, page: str, hits: Sequence[_Hit]) -> bool:
        """True when the page is about something (a question, a review, anti-fraud advice, developer
        docs) rather than the service itself; words inside an institution's name do not count."""
        spans = [(h.start, h.end) for h in hits]
        return any(not any(_overlaps(span, s) for s in spans) for span, _ in self._mention_words.find(page))

    def _throwaway_in(self, text: str) -> str:
        """A throw-away domain written in the title (``2406578.top``), or ''."""
        for m in _HOST_TOKEN.finditer(text):
            domain = registrable_domain(m.group(1))
            if domain and is_throwaway(domain, self._cheap_tlds):
                return domain
        return ""

    def _classify(self, seg: Segment, hits: Sequence[_Hit], masks: Sequence[_Hit]) -> _Seg:
        # A name phrase may run across a separator ("Capital One - Sign In" by a
        # pattern): it belongs to every segment it touches.
        inside = tuple(h for h in hits if h.start < seg.end and h.end > seg.start)
        text = seg.text
        token = text.split("://", 1)[-1].split("/", 1)[0]
        if " " not in text and "." in token:
            domain = registrable_domain(token)
            if domain is not None:
                return _Seg(seg, DOMAIN, inside, domain)
        # What is left once names and finance-page words are taken out.
        masked = list(text)
        for h in masks:
            for i in range(max(h.start, seg.start) - seg.start, min(h.end, seg.end) - seg.start):
                masked[i] = " "
        vocab = 0
        for (a, b), word in self._vocab.find(text):
            if all(masked[i] == " " for i in range(a, b)):
                continue  # a word inside the institution's own name ("Bank" of "Bank of America")
            for i in range(a, b):
                masked[i] = " "
            vocab += word.casefold() not in _STOPWORDS
        rest = "".join(masked)
        cjk = sum(1 for ch in rest if is_cjk(ch) and ch.isalnum())
        words = [w for w in _LATIN_WORD.findall(rest) if w.casefold() not in _STOPWORDS]
        if inside:
            # The name with at most a couple of other characters, and no more other
            # Latin words than finance-page words ("CIBIL Score & Report").
            small = cjk <= _BRAND_SLACK_CJK and len(words) <= min(vocab, 2)
            return _Seg(seg, BRAND if small else PROSE, inside)
        if vocab and cjk <= _BRAND_SLACK_CJK and len(words) <= min(vocab + 1, 3):
            return _Seg(seg, SERVICE, inside)  # "Sign On to View Your Accounts", "Banking made easy"
        if cjk <= _SITE_MAX_CJK and len(words) <= _SITE_MAX_WORDS and any(ch.isalnum() for ch in rest):
            return _Seg(seg, SITE, inside)  # another site's or app's short name: 财联社, X, 客服之家网
        return _Seg(seg, PROSE, inside)

    @staticmethod
    def _site_position(segs: Sequence[_Seg]) -> Optional[_Seg]:
        """Where the site names itself: the last segment, else the first (skipping words a
        finance page says about itself, and headlines)."""
        if not segs:
            return None
        if len(segs) == 1:
            return segs[0]
        for seg in (segs[-1], segs[0]):
            if seg.kind in (BRAND, SITE, DOMAIN):
                return seg
        return None


class _Collector:
    """Gathers judgements per institution and basis into verdict findings."""

    def __init__(self) -> None:
        self._found: Dict[Tuple[str, str], dict] = {}

    def add(self, judged: Judgement, pid: Optional[int], title: str, shared: bool = False) -> None:
        # Whether the title is CJK is only worth working out for a title that counts.
        if judged.basis in ("own", "impersonation") and judged.sig is not None:
            self._put(judged.sig, judged.basis, judged, pid, any(is_cjk(ch) for ch in title), shared)
        elif judged.basis == MENTION_BASIS:
            cjk = any(is_cjk(ch) for ch in title)
            for sig in judged.mentioned:
                self._put(sig, MENTION_BASIS, judged, pid, cjk, shared)

    def _put(self, sig: SensitiveSignature, basis: str, judged: Judgement, pid: Optional[int], cjk: bool,
             shared: bool) -> None:
        entry = self._found.setdefault((sig.id, basis), {"sig": sig, "pids": set(), "evidence": judged.evidence,
                                                          "cjk": cjk, "site": judged.site, "shared": False,
                                                          "category": judged.category})
        if pid is not None:
            entry["pids"].add(pid)
        entry["shared"] = entry["shared"] or shared
        entry["cjk"] = entry["cjk"] or cjk

    def results(self) -> Tuple[Tuple[SensitiveFinding, ...], Tuple[SensitiveFinding, ...]]:
        sensitive: List[SensitiveFinding] = []
        mentions: List[SensitiveFinding] = []
        for key in sorted(self._found):
            e = self._found[key]
            sig: SensitiveSignature = e["sig"]
            # Named as the person sees it: in Chinese for a Chinese market or title, else English.
            finding = SensitiveFinding(
                id=sig.id, name=sig.display_name("zh_CN" if sig.region == "cn" or e["cjk"] else "en"),
                category=e["category"] or ("credit_report" if sig.role == "authority" else sig.category),
                pids=tuple(sorted(e["pids"])), evidence=e["evidence"], name_en=sig.display_name("en"),
                basis=key[1], site=e["site"][:60], shared=e["shared"])
            (mentions if key[1] == MENTION_BASIS else sensitive).append(finding)
        return tuple(sensitive), tuple(mentions)
