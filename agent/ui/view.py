"""What a verdict means for the screen, as plain JSON-able data.

The UI helper process, the console and the tests all read this one summary,
so "which state is the tray in" and "is this still the same alert" are
decided once, here, and not in three places.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from agent.model import Verdict

#: Tray states, calmest first.
TRAY_STATES = ("watching", "share", "alert", "paused")

#: Share grades that mean "someone else may see this screen right now".
LIVE_STATES = ("in_session", "sharing")


def _share_dict(share) -> Dict:
    # ``surface`` is "browser" when a page shares one tab (docs/detection.md section 3).
    return {"app": share.app, "name": share.name or share.app, "kind": share.kind,
            "state": share.state, "pids": list(share.pids), "session_key": share.session_key,
            "surface": share.surface}


def site_label(site: str) -> str:
    """The bare host of ``site``: the engine already gives a registrable domain, and the screen
    must never show more (no scheme, path, query or port: docs/privacy.md)."""
    host = site.split("://", 1)[-1]
    return host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]


def _sensitive_dict(item) -> Dict:
    return {"id": item.id, "name": item.name, "name_en": item.name_en, "category": item.category,
            "basis": item.basis, "shared": item.shared, "site": site_label(item.site or "")}


def summarize(verdict: Verdict, paused: bool = False) -> Dict:
    """Reduce a verdict to what the tray, toasts and warning need to show."""
    live = [_share_dict(s) for s in verdict.shares if s.state in LIVE_STATES and not s.trusted]
    blocking_ids = set(verdict.blocking_shares)
    if blocking_ids:
        blocking = [_share_dict(s) for s in verdict.shares
                    if s.app in blocking_ids or s.session_key in blocking_ids]
    else:
        blocking = live or [_share_dict(s) for s in verdict.shares if not s.trusted]
    freeze = set(verdict.freeze_pids)
    frozen = [s["name"] for s in blocking if freeze.intersection(s["pids"])]
    sensitive = [_sensitive_dict(s) for s in verdict.sensitive]
    first_seen_ids = set(verdict.first_seen)
    first_seen = [_share_dict(s) for s in verdict.shares if s.first_seen or s.app in first_seen_ids]
    known = {s["app"] for s in first_seen}
    first_seen += [{"app": a, "name": a, "kind": "", "state": "running", "pids": []}
                   for a in verdict.first_seen if a not in known]
    if paused:
        state = "paused"
    elif verdict.alert or verdict.level in ("warning", "block"):
        state = "alert"
    elif live:
        state = "share"
    else:
        state = "watching"
    return {
        "state": state,
        "level": verdict.level,
        "alert": bool(verdict.alert),
        "shares": live,
        "blocking": blocking,
        "sensitive": sensitive,
        "frozen": frozen,
        "first_seen": first_seen,
        "alert_key": alert_key(blocking, []) if verdict.alert else "",
        "warning_key": alert_key(blocking, sensitive) if verdict.level == "warning" else "",
    }


def alert_key(blocking: List[Dict], sensitive: List[Dict]) -> str:
    """A stable name for "this danger": the same share sessions over the same finance apps.

    The warning keeps its countdown while the key stays the same across ticks,
    and toasts fire once per key rather than once per tick.
    """
    shares = sorted(s.get("session_key") or f"{s['app']}:{','.join(map(str, s['pids']))}" for s in blocking)
    return "|".join(shares) + "#" + ",".join(sorted(s["id"] for s in sensitive))


def same_display(a: Optional[Dict], b: Optional[Dict]) -> bool:
    """True when two summaries would look identical (so the helper need not be told)."""
    return a == b
