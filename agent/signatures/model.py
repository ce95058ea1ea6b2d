"""Loaded signatures, as the engine consumes them.

The YAML files under ``signatures/`` (schema: docs/signatures.md) are read by
:mod:`agent.signatures.loader` into these frozen objects. Patterns stay as
strings here (validated by the loader); the engine compiles them once into
its own index, so this module has no behaviour beyond small helpers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

#: Grades a signal can prove (``running`` comes from ``processes``).
SIGNAL_GRADES = ("in_session", "sharing")

APP_KINDS = ("meeting", "remote_control", "browser")

#: What a meeting app's call is (docs/detection.md, "Chat apps and meetings"): a
#: dedicated meeting app (Tencent Meeting, Webex) or a chat app whose voice or
#: video call cannot show a share (WeChat, WhatsApp).
CALL_KINDS = ("meeting", "chat")

#: What a finance entry stands for (docs/detection.md):
#: ``institution`` a bank, lender, payment or investment service or the credit
#: centre (own on its official domains, impersonated elsewhere);
#: ``authority`` the central bank or a regulator (its general site is not
#: sensitive; posing as it elsewhere, or offering services in its name, is
#: impersonation of category credit_report);
#: ``generic`` words any bank's page uses ("个人网上银行"), no domain of its own;
#: ``lure`` the scam script's own words (never own; impersonation where they
#: are not merely quoted).
ROLES = ("institution", "authority", "generic", "lure")


@dataclass(frozen=True)
class ProcessMatcher:
    """Matches a process by name, optionally by arguments and OS.

    ``name`` is compared casefolded on Windows with ``.exe`` optional, exactly
    elsewhere; ``*`` and ``?`` wildcards are allowed (LOLRMM names such as
    ``rustdesk*.exe``). ``args``: every item must equal one argv element
    (after the first). ``platforms`` empty means every OS.
    """

    name: str
    platforms: Tuple[str, ...] = ()
    args: Tuple[str, ...] = ()
    exe_contains: Optional[str] = None


@dataclass(frozen=True)
class WindowMatcher:
    """Matches a top-level window by title regex and/or WM class.

    ``title`` is a Python regular expression searched in the title;
    ``wm_class`` is compared casefolded and exactly. ``same_app`` requires the
    window's pid to be one of the app's processes (when the pid is known).
    ``visible_only``: a hidden share bar still proves sharing on most apps,
    so it defaults to False.
    """

    title: Optional[str] = None
    wm_class: Optional[str] = None
    same_app: bool = False
    visible_only: bool = False


@dataclass(frozen=True)
class ConnectionMatcher:
    """Matches sockets of the app's processes by port.

    ``remote_ports``: established connections to these ports;
    ``local_ports``: sockets bound to these local ports (a direct session
    accepted by the app).
    """

    remote_ports: Tuple[int, ...] = ()
    local_ports: Tuple[int, ...] = ()
    statuses: Tuple[str, ...] = ("ESTABLISHED",)


@dataclass(frozen=True)
class DeviceMatcher:
    """Matches a microphone or camera in use by one of the app's processes.

    A call is session evidence (``in_session``), never proof of a share.
    """

    devices: Tuple[str, ...] = ("microphone", "camera")


@dataclass(frozen=True)
class Signal:
    """One piece of evidence that lifts an app to ``in_session`` or ``sharing``.

    Exactly one of ``process``, ``window``, ``connection``, ``device`` is set. ``label``
    is the evidence string reported in verdicts, e.g.
    ``window-class:ZPFloatToolbarClass`` or ``process-args:rustdesk --cm``.
    """

    grade: str
    label: str
    process: Optional[ProcessMatcher] = None
    window: Optional[WindowMatcher] = None
    connection: Optional[ConnectionMatcher] = None
    platforms: Tuple[str, ...] = ()
    source: str = ""
    device: Optional[DeviceMatcher] = None
    #: For chat apps (AppSignature.calls == "chat"): this signal proves a
    #: dedicated meeting (WeCom's meeting window), not a chat call.
    meeting: bool = False


@dataclass(frozen=True)
class AppSignature:
    """A meeting, remote-control or browser app."""

    id: str
    kind: str
    names: Dict[str, str]
    processes: Tuple[ProcessMatcher, ...] = ()
    signals: Tuple[Signal, ...] = ()
    source: str = ""
    origin: str = ""  # "file.yaml:line" the entry came from
    calls: str = "meeting"
    #: Its window signals count only for windows no other app's signal claimed
    #: (a Chromium-family share bar whatever the executable).
    fallback: bool = False
    #: Remote tools: the sent rate (bytes/s, sustained over the collector's
    #: window) that means a screen stream leaves the tool (session evidence);
    #: 0 = not used. See docs/detection.md, "Session evidence".
    stream_min_rate: float = 0.0

    @property
    def has_share_signal(self) -> bool:
        """True when some signal proves sharing (not just a session)."""
        return any(s.grade == "sharing" for s in self.signals)

    def display_name(self, lang: str = "en") -> str:
        return self.names.get(lang) or self.names.get("en") or self.id


@dataclass(frozen=True)
class SensitiveSignature:
    """A bank, loan, payment, credit-report or investment service.

    ``strong`` phrases identify the service alone; ``weak`` phrases (short
    forms that are also ordinary words: "Chase", "工行") count only when the
    same title also holds a context word (TitleRules.context_words).
    ``patterns`` are extra regexes. Latin phrases match on word boundaries,
    CJK phrases as substrings. ``official_domains``: the institution's own
    registrable domains (or hosts below one); a page there is ``own``, a page
    posing as it anywhere else is ``impersonation``. ``role``: see ROLES.
    """

    id: str
    category: str
    names: Dict[str, str]
    strong: Tuple[str, ...] = ()
    weak: Tuple[str, ...] = ()
    patterns: Tuple[str, ...] = ()
    processes: Tuple[ProcessMatcher, ...] = ()
    official_domains: Tuple[str, ...] = ()
    region: str = ""
    source: str = ""
    origin: str = ""
    role: str = "institution"

    def display_name(self, lang: str = "en") -> str:
        return self.names.get(lang) or self.names.get("en") or self.id


@dataclass(frozen=True)
class TitleRules:
    """Global rules that keep sensitive matching precise.

    ``exclude_titles``: regexes; a title matching one is never sensitive
    (document file names such as "Bank reconciliation.xlsx - Excel").
    ``exclude_processes``: windows of these apps (office suites, editors,
    file managers) are never sensitive by title.
    """

    context_words: Tuple[str, ...] = ()
    exclude_titles: Tuple[str, ...] = ()
    exclude_processes: Tuple[ProcessMatcher, ...] = ()
    #: The title parser's data (agent/engine/titles.py, docs/detection.md):
    #: browser title suffixes (regex -> browser id), words a finance page uses
    #: about itself besides context_words, words that make a page an offer of
    #: service in an institution's name, customer-service words, words of
    #: sites that quote anything (search, Q&A), anti-fraud words, cheap TLDs
    #: for throw-away domains, and host labels of an institution's non-service
    #: sites (developer., careers.).
    browser_titles: Tuple[Tuple[str, str], ...] = ()
    page_words: Tuple[str, ...] = ()
    offer_words: Tuple[str, ...] = ()
    service_desk_words: Tuple[str, ...] = ()
    quoting_sites: Tuple[str, ...] = ()
    antifraud_words: Tuple[str, ...] = ()
    mention_words: Tuple[str, ...] = ()
    document_titles: Tuple[str, ...] = ()
    cheap_tlds: Tuple[str, ...] = ()
    nonservice_hosts: Tuple[str, ...] = ()


@dataclass(frozen=True)
class SignatureSet:
    """Everything loaded from one signature directory or bundle."""

    apps: Tuple[AppSignature, ...] = ()
    sensitive: Tuple[SensitiveSignature, ...] = ()
    title_rules: TitleRules = field(default_factory=TitleRules)
    version: str = ""
    files: Tuple[str, ...] = ()

    def app(self, app_id: str) -> Optional[AppSignature]:
        for a in self.apps:
            if a.id == app_id:
                return a
        return None
