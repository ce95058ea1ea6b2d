"""The data that flows between collectors, the engine and responders.

Every type here is a frozen dataclass made of plain values, so a snapshot can
be written to a replay file and read back unchanged (see docs/replay.md), and
the engine can be driven entirely from files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

PLATFORMS = ("windows", "darwin", "linux")

#: Share grades, weakest first. ``none`` means the app was not seen at all.
SHARE_STATES = ("running", "in_session", "sharing")

#: What kind of thing is sharing.
SHARE_KINDS = ("meeting", "remote_control", "browser", "os")

#: Sensitive categories, as named in the verdict contract.
SENSITIVE_CATEGORIES = ("bank", "loan", "payment", "credit_report", "investment")

#: Verdict levels, weakest first.
LEVELS = ("none", "notice", "warning", "block")

#: User actions a replay step (or the warning window) can carry.
USER_ACTIONS = ("continue", "stop_sharing", "dismiss")

MODES = ("monitor", "balanced", "strict")

#: How sure a capture fact is: ``high`` proves capture, ``low`` is evidence only.
CONFIDENCES = ("high", "low")

#: Devices whose use by an app says "a call is under way" (never "sharing").
DEVICE_KINDS = ("microphone", "camera")

#: What a page's getDisplayMedia capture shows (the ``displaySurface`` the
#: browser reports): the whole screen, one window, or one browser tab.
CAPTURE_SURFACES = ("monitor", "window", "browser")

#: Why a sensitive context counts (docs/detection.md): the institution's own
#: page or app, or a page posing as it somewhere else. A ``mention`` (a news
#: article, a search result, a document naming it) never counts; mentions are
#: listed apart in the verdict.
SENSITIVE_BASES = ("own", "impersonation")
MENTION_BASIS = "mention"


def state_rank(state: Optional[str]) -> int:
    """Order share states: None < running < in_session < sharing."""
    if state is None:
        return 0
    return SHARE_STATES.index(state) + 1


def level_rank(level: str) -> int:
    """Order verdict levels: none < notice < warning < block."""
    return LEVELS.index(level)


@dataclass(frozen=True)
class IoRate:
    """Bytes per second a process wrote (``sent``) and read (``received``),
    averaged over the last ``seconds`` as the collector measured them.

    The collector only measures; the engine decides what a screen stream
    looks like (docs/detection.md, "Session evidence").
    """

    sent: float
    received: float = 0.0
    seconds: float = 0.0


@dataclass(frozen=True)
class ProcessInfo:
    """One running process, as a collector saw it.

    ``io_rate`` is None when unknown (not measured for this process, or not
    for long enough yet).
    """

    pid: int
    name: str
    ppid: Optional[int] = None
    exe: Optional[str] = None
    cmdline: Tuple[str, ...] = ()
    create_time: Optional[float] = None
    user: Optional[str] = None
    io_rate: Optional[IoRate] = None


@dataclass(frozen=True)
class WindowInfo:
    """One top-level window. ``visible`` means on screen (mapped, not minimized)."""

    title: str
    pid: Optional[int] = None
    wm_class: Optional[str] = None
    visible: bool = True
    foreground: bool = False
    window_id: Optional[int] = None


@dataclass(frozen=True)
class Connection:
    """One socket of a process (``remote`` empty for listening sockets)."""

    pid: Optional[int]
    proto: str = "tcp"
    status: str = ""
    local: str = ""
    remote: str = ""

    @property
    def remote_port(self) -> Optional[int]:
        return _port_of(self.remote)

    @property
    def local_port(self) -> Optional[int]:
        return _port_of(self.local)


def _port_of(address: str) -> Optional[int]:
    # "1.2.3.4:5938", "[::1]:443" and "host:80" all end in ":port".
    if not address or ":" not in address:
        return None
    tail = address.rsplit(":", 1)[1]
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class CaptureFact:
    """An OS-level fact about screen capture (PipeWire node, macOS screen watcher...).

    ``confidence`` is ``high`` (proof that the screen is being captured) or
    ``low`` (evidence only, e.g. the Windows ConsentStore).
    """

    source: str
    active: bool
    pid: Optional[int] = None
    detail: str = ""
    confidence: str = "high"


@dataclass(frozen=True)
class DeviceUse:
    """A microphone or camera in use by a process now.

    A meeting app holding the microphone is in a call: session evidence for
    apps that have no share-only signal (Tencent Meeting, DingTalk, WeChat).
    It is never evidence of screen capture, so it is kept apart from
    :class:`CaptureFact`.
    """

    device: str
    pid: Optional[int] = None
    source: str = ""
    detail: str = ""


@dataclass(frozen=True)
class PageInfo:
    """One browser tab, as the browser companion reported it.

    ``visible`` means on screen (the active tab of a window that is not
    minimized); ``capturing`` is the surface this page captures with
    getDisplayMedia (``monitor``, ``window`` or ``browser``), None when it
    captures nothing; ``shared`` marks the tab another page is capturing (a
    tab share). ``pid`` is the browser process the page belongs to.
    """

    url: str = ""
    title: str = ""
    pid: Optional[int] = None
    browser: str = ""
    active: bool = True
    visible: bool = True
    capturing: Optional[str] = None
    shared: bool = False


@dataclass(frozen=True)
class UserEvent:
    """A choice the user made on the warning (or replayed from a file)."""

    action: str


@dataclass(frozen=True)
class Snapshot:
    """Everything the engine needs to judge one moment.

    ``time`` is seconds (epoch for live snapshots, scenario-relative for
    replays). ``unavailable`` names sources that could not be read, with the
    reason, e.g. ``("windows", "no X display")``: the engine treats a missing
    source as "nothing seen" and the CLI reports it.
    """

    platform: str
    time: float = 0.0
    processes: Tuple[ProcessInfo, ...] = ()
    windows: Tuple[WindowInfo, ...] = ()
    connections: Tuple[Connection, ...] = ()
    capture: Tuple[CaptureFact, ...] = ()
    events: Tuple[UserEvent, ...] = ()
    unavailable: Tuple[Tuple[str, str], ...] = ()
    devices: Tuple[DeviceUse, ...] = ()
    pages: Tuple[PageInfo, ...] = ()


@dataclass(frozen=True)
class ShareFinding:
    """One app that can share the screen, graded.

    ``session_key`` identifies the share session (app, pids, start time) for
    snoozes; ``has_share_signal`` tells whether the app has a known
    share-only signal (so an ``in_session`` without it is weaker evidence).
    """

    app: str
    name: str
    kind: str
    state: str
    pids: Tuple[int, ...] = ()
    evidence: Tuple[str, ...] = ()
    has_share_signal: bool = False
    trusted: bool = False
    session_key: str = ""
    first_seen: bool = False
    #: A chat app's voice or video call (WeChat, WhatsApp): no dedicated
    #: meeting signal was seen, so it is graded by the chat-call row.
    chat_call: bool = False
    #: ``browser`` when all that is shared is one browser tab (a tab share);
    #: empty for a screen or window share or no share.
    surface: str = ""

    def to_json(self) -> dict:
        out: Dict[str, object] = {
            "app": self.app,
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "pids": list(self.pids),
            "evidence": list(self.evidence),
        }
        if self.trusted:
            out["trusted"] = True
        if self.chat_call:
            out["chat_call"] = True
        if self.surface:
            out["surface"] = self.surface
        return out


@dataclass(frozen=True)
class SensitiveFinding:
    """A bank, loan, payment, credit-report or investment context on screen.

    ``basis`` is ``own`` or ``impersonation`` for a sensitive context, and
    ``mention`` for a window that only names the institution (kept in
    ``Verdict.mentions``, never raising the level). ``site`` is what the
    context was seen on: the registrable domain of a page's URL, or the site
    part of a browser title (never a full URL: docs/detection.md, Privacy). ``shared``
    is true when this context is the tab being shared.
    """

    id: str
    name: str
    category: str
    pids: Tuple[int, ...] = ()
    evidence: str = "window-title"
    name_en: str = ""
    basis: str = "own"
    site: str = ""
    shared: bool = False

    def to_json(self) -> dict:
        out: Dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "pids": list(self.pids),
            "evidence": self.evidence,
            "basis": self.basis,
        }
        if self.site:
            out["site"] = self.site
        if self.shared:
            out["shared"] = True
        return out


@dataclass(frozen=True)
class Verdict:
    """What the engine decided for one snapshot.

    ``alert`` is true exactly when the blocking warning should be on screen
    after this snapshot (and its user events) were processed.
    ``freeze_pids`` are remote-control processes to suspend while the warning
    shows; ``end_pids`` are processes the user asked to end.
    """

    alert: bool
    level: str
    shares: Tuple[ShareFinding, ...] = ()
    sensitive: Tuple[SensitiveFinding, ...] = ()
    reasons: Tuple[str, ...] = ()
    actions: Tuple[str, ...] = ()
    mode: str = "balanced"
    freeze_pids: Tuple[int, ...] = ()
    end_pids: Tuple[int, ...] = ()
    snoozed: Tuple[str, ...] = ()
    first_seen: Tuple[str, ...] = ()
    blocking_shares: Tuple[str, ...] = ()
    time: float = 0.0
    mentions: Tuple[SensitiveFinding, ...] = ()

    def to_json(self) -> dict:
        """The verdict object of docs/replay.md (without ``file``/``step``)."""
        return {
            "alert": self.alert,
            "level": self.level,
            "mode": self.mode,
            "shares": [s.to_json() for s in self.shares],
            "sensitive": [s.to_json() for s in self.sensitive],
            "mentions": [m.to_json() for m in self.mentions],
            "reasons": list(self.reasons),
            "actions": list(self.actions),
            "first_seen": list(self.first_seen),
            "snoozed": list(self.snoozed),
            "freeze_pids": list(self.freeze_pids),
            "end_pids": list(self.end_pids),
        }

