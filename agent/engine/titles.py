"""Window titles taken apart: browser suffix, page part, site part.

A browser's window title is ``<page title><separator><browser name>``
("招商银行 - Google Chrome", "… — Mozilla Firefox", "… - 个人 - Microsoft​ Edge"
with a zero-width space). A page title in turn is made of segments, one of
which is where a site puts its own name ("<headline> - 财联社",
"Chase | Sign in", "招商银行_百度搜索"). Telling which institution a page IS
from which it merely names starts from this structure (docs/detection.md).

Browser suffixes are signature data (``browser_titles`` in
signatures/title_rules.yaml); the separators are the ones sites use in
every language and live here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Pattern, Sequence, Tuple

_CJK = "\u2e80-\u9fff\uf900-\ufaff"
_OPEN = "【（《「『(\\["
_CLOSE = "】）》」』)\\]"

#: Where a page title is cut into segments:
#: - a dash, bar, dot or slash between spaces ("Page - Site", "Site | Page", "X / Twitter");
#: - a bar or the CJK bar 丨 or a full-width bar, spaces optional ("招商银行|登录", "财经丨…");
#: - an underscore next to a CJK character or a space ("招商银行_百度搜索", "…_bilibili");
#: - a dash touching a CJK character or bracket ("…营业时间-大众点评网", "中信证券-信e投"), as
#:   Chinese sites write it without spaces. A dash between Latin letters (Wi-Fi, e-CNY) is kept.
_SEPARATOR: Pattern[str] = re.compile(
    r"\s+[-–—−|·•/»]\s+"
    r"|\s*[|丨｜]\s*"
    rf"|(?<=[{_CJK}{_CLOSE}])\s*_+\s*|\s*_+\s*(?=[{_CJK}{_OPEN}])|\s+_+\s*|\s*_+\s+"
    rf"|(?<=[{_CJK}{_CLOSE}])[-–—]+(?=\S)|(?<=\S)[-–—]+(?=[{_CJK}{_OPEN}])"
)


@dataclass(frozen=True)
class Segment:
    """One part of a page title and its offsets in the page part."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class BrowserTitle:
    """A window title split into the page part and the browser that framed it.

    ``browser`` is the id of the browser whose suffix was found, None when the
    title had none (a native app's window, Safari, a share bar).
    """

    page: str
    browser: Optional[str] = None


class BrowserSuffixes:
    """The browser title suffixes of one signature set, compiled once."""

    def __init__(self, entries: Sequence[Tuple[str, str]]) -> None:
        # Each suffix regex is anchored at the end of the title.
        self._entries: List[Tuple[Pattern[str], str]] = [
            (re.compile(f"(?:{suffix})$"), browser) for suffix, browser in entries
        ]

    def split(self, title: str) -> BrowserTitle:
        """Strip the browser's own name from ``title``; the rest is the page part."""
        text = title.strip()
        for rx, browser in self._entries:
            m = rx.search(text)
            if m and m.start() > 0:
                return BrowserTitle(page=text[: m.start()].rstrip(), browser=browser)
        return BrowserTitle(page=text)


def split_segments(page: str) -> Tuple[Segment, ...]:
    """The non-empty segments of a page title, in order."""
    out: List[Segment] = []
    pos = 0
    for m in _SEPARATOR.finditer(page):
        _add(out, page, pos, m.start())
        pos = m.end()
    _add(out, page, pos, len(page))
    return tuple(out)


def _add(out: List[Segment], page: str, start: int, end: int) -> None:
    text = page[start:end]
    stripped = text.strip(" \t\u200b\u3000")
    if not stripped:
        return
    lead = len(text) - len(text.lstrip(" \t\u200b\u3000"))
    out.append(Segment(text=stripped, start=start + lead, end=start + lead + len(stripped)))
