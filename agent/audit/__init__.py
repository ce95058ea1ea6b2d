"""Audit events: a versioned schema (docs/events.md) and a non-blocking log.

The responder that derives events from verdict transitions is
agent.responders.audit; responders record through :class:`AuditTrail`.
"""

from typing import Any, Dict, Protocol

from agent.audit.events import EVENT_TYPES, SCHEMA_VERSION, AuditContext, make_event
from agent.audit.log import AuditLog


class AuditTrail(Protocol):
    """What responders record through: :class:`AuditLog`, or a recorder in tests.

    ``emit`` raises ValueError for an event type or field the schema does not
    know (docs/events.md) and returns the event it recorded.
    """

    #: Who and where (device id, whether titles may be recorded).
    context: AuditContext
    #: The folder the events are written to ("" when no file sink writes any).
    log_dir: str

    def emit(self, type_: str, **fields: Any) -> Dict[str, Any]:
        """Record one audit event of ``type_``."""
        ...


__all__ = ["EVENT_TYPES", "SCHEMA_VERSION", "AuditContext", "AuditLog", "AuditTrail", "make_event"]
