"""Audit events: a versioned schema (docs/events.md), a non-blocking log,
and a responder that derives events from verdict transitions."""

from agent.audit.events import EVENT_TYPES, SCHEMA_VERSION, AuditContext, make_event
from agent.audit.log import AuditLog
from agent.audit.responder import AuditResponder

__all__ = ["EVENT_TYPES", "SCHEMA_VERSION", "AuditContext", "make_event", "AuditLog", "AuditResponder"]
