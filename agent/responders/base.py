"""The contract between the watch loop and everything that acts on verdicts.

Responders only act. The runtime hands each one every verdict through its
own bounded queue and thread (:class:`agent.runtime.ResponderWorker`), so a
slow or crashing responder (no tray host, a sink that is down) never delays
detection or the other responders. Every responder lives in this package;
``tests/unit/test_responder_contract.py`` checks each one keeps the contract.
"""

from __future__ import annotations

from typing import Callable, Optional

from agent.model import Snapshot, UserEvent, Verdict
from agent.policy.reader import PolicyReader

#: Callback a responder uses to report a user's choice back to the engine.
EventSink = Callable[[UserEvent], None]


class Responder:
    """Base class for verdict consumers (tray, toast, warning, audit...)."""

    #: Short name for logs.
    name = "responder"

    def start(self, post_event: Optional[EventSink] = None) -> None:
        """Called once before the first verdict. ``post_event`` delivers the
        user's choices (continue / stop_sharing / dismiss) to the engine."""

    def handle(self, verdict: Verdict, snapshot: Snapshot) -> None:
        """Act on one verdict. Called from this responder's own thread."""
        raise NotImplementedError

    def apply_policy(self, policy: PolicyReader, lang: str) -> None:
        """A reloaded policy (and the language it implies); most responders keep
        nothing from the policy, so the default does nothing."""

    def close(self) -> None:
        """Release resources; called once at shutdown."""
