"""The agent's side of the companion: facts in, snapshot ``pages`` out.

:class:`BrowserReports` is the pure part: it keeps the latest report of each
connected browser and turns it into :class:`~agent.model.PageInfo` rows
(each window's active tab; background tabs only when they capture or are
being shared). A browser silent for :data:`STALE_SECONDS` (the extension
reports every 10 s) or gone from the channel is forgotten, so the engine
falls back to window titles as if there were no companion.

:class:`CompanionReceiver` listens on the local channel, one thread per
browser connection, and wakes the watch loop on every fact so a tab switch
is judged at once. Addresses are kept in memory only and never logged.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from agent.companion import channel, protocol
from agent.model import PageInfo

log = logging.getLogger("shareguard.companion")

#: A browser not heard from for this long no longer reports pages.
STALE_SECONDS = 30.0

#: When a page runs several captures, the one that shows the most wins.
_SURFACE_ORDER = ("unknown", "browser", "window", "monitor")


@dataclass
class BrowserReport:
    """What one connected browser (one profile, one host process) said last."""

    browser: str = ""
    pid: Optional[int] = None
    extension: str = ""
    state: Optional[Dict[str, Any]] = None
    updated: float = 0.0
    connected: float = 0.0
    facts: int = 0
    causes: Tuple[str, ...] = field(default_factory=tuple)


def pages_of(report: BrowserReport) -> Tuple[PageInfo, ...]:
    """The pages one browser report stands for (see module docstring)."""
    state = report.state
    if not state:
        return ()
    capturing: Dict[int, str] = {}
    shared = set()
    for cap in state.get("captures", ()):
        surface = cap["surface"]
        old = capturing.get(cap["tab"])
        if old is None or _SURFACE_ORDER.index(surface) > _SURFACE_ORDER.index(old):
            capturing[cap["tab"]] = surface
        if cap.get("shared_tab") is not None:
            shared.add(cap["shared_tab"])
    pages: List[PageInfo] = []
    seen = set()
    for win in state.get("windows", ()):
        tab = win.get("tab")
        if tab is None:
            continue
        seen.add(tab["id"])
        pages.append(PageInfo(url=tab["url"], title=tab["title"], pid=report.pid, browser=report.browser,
                              active=True, visible=win["state"] != "minimized",
                              capturing=_surface(capturing.get(tab["id"])), shared=tab["id"] in shared))
    for tab in state.get("tabs", ()):
        if tab["id"] in seen:
            continue
        seen.add(tab["id"])
        pages.append(PageInfo(url=tab["url"], title=tab["title"], pid=report.pid, browser=report.browser,
                              active=False, visible=False, capturing=_surface(capturing.get(tab["id"])),
                              shared=tab["id"] in shared))
    return tuple(pages)


def _surface(value: Optional[str]) -> Optional[str]:
    # "unknown" (a browser that does not say) is reported as a window share: it
    # cannot be told apart, and a window share blocks like a screen share.
    if value == "unknown":
        return "window"
    return value


class BrowserReports:
    """Latest facts per connection; pure apart from the clock it is handed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, stale_seconds: float = STALE_SECONDS) -> None:
        self.clock = clock
        self.stale_seconds = stale_seconds
        self._reports: Dict[int, BrowserReport] = {}
        self._lock = threading.Lock()

    def apply(self, conn_id: int, fact: Dict[str, Any]) -> bool:
        """Record one checked fact; True when the pages may have changed."""
        now = self.clock()
        with self._lock:
            report = self._reports.setdefault(conn_id, BrowserReport(connected=now))
            report.facts += 1
            kind = fact["type"]
            if kind == "hello":
                report.browser = fact.get("browser") or report.browser
                pid = fact.get("browser_pid")
                report.pid = pid if isinstance(pid, int) and not isinstance(pid, bool) else report.pid
                report.extension = fact.get("extension", "")
                report.updated = now
                return False
            if kind == "bye":
                self._reports.pop(conn_id, None)
                return True
            changed = report.state is None or _pages_key(report.state) != _pages_key(fact)
            report.state = fact
            report.updated = now
            report.causes = tuple(fact.get("causes", ()))
            return changed

    def drop(self, conn_id: int) -> None:
        """The connection ended: forget its pages at once."""
        with self._lock:
            self._reports.pop(conn_id, None)

    def _fresh(self, now: float) -> List[BrowserReport]:
        return [r for r in self._reports.values() if r.state is not None and now - r.updated <= self.stale_seconds]

    def pages(self) -> Tuple[PageInfo, ...]:
        """Pages of every browser heard from recently."""
        now = self.clock()
        with self._lock:
            fresh = self._fresh(now)
        return tuple(page for report in fresh for page in pages_of(report))

    def browsers(self) -> List[Dict[str, Any]]:
        """Which browsers report (for ``shareguard scan`` and the logs); no addresses."""
        now = self.clock()
        with self._lock:
            reports = list(self._reports.values())
        out = []
        for r in reports:
            windows = len(r.state.get("windows", ())) if r.state else 0
            out.append({"browser": r.browser or "unknown", "pid": r.pid, "extension": r.extension,
                        "windows": windows, "seconds_since_report": round(now - r.updated, 1),
                        "reporting": r.state is not None and now - r.updated <= self.stale_seconds})
        return sorted(out, key=lambda b: (b["browser"], b["pid"] or 0))


def _pages_key(state: Dict[str, Any]) -> tuple:
    # Heartbeats repeat the same state: only a real change should wake the loop.
    return (tuple((w["id"], w["state"], w["focused"], None if w["tab"] is None else
                   (w["tab"]["id"], w["tab"]["url"], w["tab"]["title"])) for w in state.get("windows", ())),
            tuple((c["tab"], c["surface"], c["shared_tab"]) for c in state.get("captures", ())),
            tuple((t["id"], t["url"], t["title"]) for t in state.get("tabs", ())))


class CompanionReceiver:
    """Listens on the local channel and keeps :class:`BrowserReports` current."""

    def __init__(self, address: Optional[str] = None, on_change: Optional[Callable[[], None]] = None,
                 reports: Optional[BrowserReports] = None) -> None:
        self.address = address
        self.on_change = on_change
        self.reports = reports or BrowserReports()
        self.problem: Optional[str] = None
        self._listener: Any = None
        self._ids = itertools.count(1)
        self._threads: List[threading.Thread] = []
        #: Monotonic time of the last fact that changed the pages (the bench reads it).
        self.last_change = 0.0

    def start(self) -> bool:
        """Open the channel; False (with :attr:`problem` set) when it cannot be opened."""
        try:
            self._listener = channel.listen(self.address)
        except (channel.ChannelError, OSError) as exc:
            self.problem = f"browser companion channel unavailable: {exc}"
            log.warning("%s; page addresses are unknown, window titles are used", self.problem)
            return False
        thread = threading.Thread(target=self._accept_loop, name="companion-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return True

    def _accept_loop(self) -> None:
        while True:
            try:
                conn = self._listener.accept()
            except OSError as exc:
                log.warning("browser companion channel: accept failed: %s", exc)
                time.sleep(0.5)
                continue
            if conn is None:
                return
            conn_id = next(self._ids)
            thread = threading.Thread(target=self._serve, args=(conn_id, conn), name=f"companion-{conn_id}",
                                      daemon=True)
            thread.start()

    def _serve(self, conn_id: int, conn) -> None:
        name = "?"
        try:
            for raw in conn:
                if isinstance(raw, dict) and raw.get("type") == "status":
                    conn.send({"type": "status", "browsers": self.reports.browsers(),
                               "pages": [_page_json(p) for p in self.reports.pages()]})
                    return
                try:
                    fact = protocol.parse_fact(raw)
                except protocol.MessageError as exc:
                    log.warning("browser companion: ignored a bad fact from connection %d: %s", conn_id, exc)
                    continue
                if fact["type"] == "hello":
                    # parse_fact keeps only the extension's keys; the host adds these two.
                    fact["browser_pid"] = raw.get("browser_pid")
                    name = f"{fact['browser']} (pid {fact['browser_pid']})"
                    log.info("browser companion: %s reports", name)
                if self.reports.apply(conn_id, fact):
                    self._changed()
        except (OSError, ValueError) as exc:
            log.warning("browser companion: connection %d (%s) dropped: %s", conn_id, name, exc)
        finally:
            conn.close()
            self.reports.drop(conn_id)
            self._changed()
            log.info("browser companion: %s stopped reporting", name)

    def _changed(self) -> None:
        self.last_change = time.monotonic()
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("wake-up after a browser fact failed")

    def pages(self) -> Tuple[PageInfo, ...]:
        return self.reports.pages()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None


def _page_json(page: PageInfo) -> Dict[str, Any]:
    out = {"pid": page.pid, "browser": page.browser, "url": page.url, "title": page.title,
           "active": page.active, "visible": page.visible}
    if page.capturing:
        out["capturing"] = page.capturing
    if page.shared:
        out["shared"] = True
    return out


def pages_from_json(rows: Any) -> Tuple[PageInfo, ...]:
    """Pages as :func:`_page_json` wrote them (from the agent's status answer); bad rows are skipped."""
    out = []
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, dict):
            continue
        pid = row.get("pid")
        out.append(PageInfo(url=str(row.get("url", "")), title=str(row.get("title", "")),
                            pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                            browser=str(row.get("browser", "")), active=bool(row.get("active", True)),
                            visible=bool(row.get("visible", True)), capturing=row.get("capturing") or None,
                            shared=bool(row.get("shared", False))))
    return tuple(out)


def ask_agent(address: Optional[str] = None, timeout: float = 1.0) -> Optional[Dict[str, Any]]:
    """The running agent's companion status (browsers and pages), or None when no agent listens."""
    try:
        conn = channel.connect(address, timeout=timeout)
    except (channel.ChannelError, OSError):
        return None
    try:
        conn.settimeout(timeout)
        conn.send({"type": "status"})
        reply = conn.receive()
        return reply if isinstance(reply, dict) and reply.get("type") == "status" else None
    except (OSError, ValueError):
        return None
    finally:
        conn.close()
