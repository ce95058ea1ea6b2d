"""Console mode (``shareguard run --console`` or no display): one line per change.

Prints in the user's language when what a person would see changes (a share
starts or ends, an alert starts or ends, a notice), never once per tick.
"""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

from agent.model import Snapshot, Verdict
from agent.responders.base import EventSink, Responder
from agent.ui import messages
from agent.ui.messages import t
from agent.ui.view import summarize


class ConsoleResponder(Responder):
    """Prints state changes and verdicts to a stream (stdout by default)."""

    name = "console"

    def __init__(self, lang: str, stream: Optional[TextIO] = None, no_display_reason: str = "") -> None:
        self.lang = lang
        self.stream = stream or sys.stdout
        self.no_display_reason = no_display_reason
        self._last_lines: dict = {}
        self._seen_first: set = set()

    def start(self, post_event: Optional[EventSink] = None) -> None:
        """Say once why there is no window, if that is why we are here."""
        if self.no_display_reason:
            self._print(t("console.no_display", self.lang, why=self.no_display_reason))

    def handle(self, verdict: Verdict, snapshot: Snapshot) -> None:
        """Print what changed since the last verdict."""
        lang, view = self.lang, summarize(verdict)
        if view["shares"]:
            shares = t("console.shares", lang, shares=messages.join(
                [messages.describe_share(s, lang) for s in view["shares"]], lang))
        else:
            shares = t("console.no_shares", lang)
        self._changed("shares", shares)
        alert: Optional[str]
        if view["alert"]:
            alert = t("console.alert", lang, details=messages.join(messages.detected_lines(view, lang), lang))
        else:
            alert = t("console.alert_over", lang) if self._last_lines.get("alert") else None
        self._changed("alert", alert)
        frozen = t("console.frozen", lang, apps=messages.join(view["frozen"], lang)) if view["frozen"] else None
        self._changed("frozen", frozen)
        if verdict.level == "warning":
            self._changed("warning", t("console.notice", lang, details=messages.join(
                messages.detected_lines(view, lang), lang)))
        else:
            self._last_lines.pop("warning", None)
        for share in view["first_seen"]:
            if share["app"] not in self._seen_first:
                self._seen_first.add(share["app"])
                # The toast's body already starts with the app's name: the console line
                # says it once ("First time on this computer: Zoom can let...").
                self._print(t("console.notice", lang, details=t(
                    "console.first_seen", lang, body=t("toast.first_seen.body", lang, app=share["name"]))))
        missing = "; ".join(f"{what} ({why})" for what, why in snapshot.unavailable)
        self._changed("unavailable", t("console.unavailable", lang, what=missing) if missing else None)

    def _changed(self, slot: str, line: Optional[str]) -> None:
        previous = self._last_lines.get(slot)
        if line == previous:
            return
        if line is None:
            self._last_lines.pop(slot, None)
            return
        self._last_lines[slot] = line
        self._print(line)

    def _print(self, line: str) -> None:
        self.stream.write(time.strftime("%H:%M:%S ") + line + "\n")
        self.stream.flush()
