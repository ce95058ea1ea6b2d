"""The audit event schema (docs/events.md is generated from EVENT_TYPES).

Every event is one flat JSON object: the common envelope (schema version,
unique event id, time, type, severity, device id, user, hostname, agent
version) plus the fields of its type. Events name apps and signature ids,
never raw window titles, unless policy ``events_include_titles`` is true.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

from agent import __version__
from agent.safe_files import write_private

SCHEMA_VERSION = 1
SEVERITIES = ("info", "notice", "warning", "alert")

#: Fields every event carries.
ENVELOPE = {
    "schema": "schema version of this event (integer; bumped on incompatible change)",
    "event_id": "unique id (UUID4); duplicates after a retried delivery share it",
    "time": "when it happened, RFC 3339 UTC with milliseconds",
    "type": "event type (below)",
    "severity": "info | notice | warning | alert",
    "device_id": "stable random id of this machine's agent install (UUID4)",
    "hostname": "host name",
    "user": "the desktop user the agent runs for",
    "agent_version": "ShareGuard version",
}


@dataclass(frozen=True)
class EventType:
    severity: str
    description: str
    required: Tuple[str, ...] = ()
    optional: Tuple[str, ...] = ()


EVENT_TYPES: Dict[str, EventType] = {
    "agent_started": EventType("info", "The agent started.", ("pid", "platform"), ("collector",)),
    "agent_stopped": EventType("info", "The agent stopped cleanly.", ("reason",), ("dropped_events",)),
    "agent_restarted_after_kill": EventType(
        "warning", "Tamper sign: the previous agent process ended without a clean stop "
        "(killed, crashed or the machine lost power).", ("previous_pid", "last_heartbeat")),
    "policy_loaded": EventType("info", "The effective policy was loaded or reloaded.",
                               ("mode", "sources", "locked")),
    "policy_rejected": EventType("warning", "A policy source had errors; bad keys keep their last good value.",
                                 ("source", "problems"), ("kept_last_good",)),
    "policy_insecure": EventType("alert", "A machine policy file a non-administrator could change was ignored.",
                                 ("source", "reason")),
    "policy_file_changed": EventType("notice", "Tamper sign: a machine policy file changed on disk.",
                                     ("source", "old_sha256", "new_sha256")),
    "signatures_loaded": EventType("info", "Signatures were loaded.", ("source",), ("version", "count")),
    "signatures_rejected": EventType("warning", "A signature file or bundle was rejected; the last good set stays.",
                                     ("source", "problems")),
    "share_started": EventType("notice", "An app that can share the screen was seen (or its share grade rose "
                                         "from nothing).", ("app", "kind", "state"),
                               ("name", "pids", "session_key", "trusted", "evidence")),
    "share_state_changed": EventType("notice", "An app's share grade changed (running / in_session / sharing).",
                                     ("app", "kind", "state", "previous_state"), ("session_key", "trusted")),
    "share_ended": EventType("info", "An app that could share the screen is gone.", ("app", "kind"),
                             ("duration_seconds", "session_key")),
    "first_seen": EventType("notice", "A meeting or remote-control executable ran for the first time here.",
                            ("app",)),
    "sensitive_opened": EventType("notice", "A bank/loan/payment/credit-report/investment context appeared.",
                                  ("signature_id", "category"),
                                  ("name", "evidence", "basis", "site", "shared", "titles")),
    "sensitive_closed": EventType("info", "A sensitive context is no longer visible.",
                                  ("signature_id", "category"), ("duration_seconds",)),
    "alert_raised": EventType("alert", "The blocking warning went up (or would have, in monitor mode).",
                              ("level", "mode", "apps", "sensitive", "reasons"), ("monitor_only",)),
    "alert_cleared": EventType("info", "The blocking warning went down.", ("reason",), ("duration_seconds",)),
    "level_changed": EventType("notice", "The verdict level changed (none / notice / warning / block).",
                               ("level", "previous_level", "mode"), ("apps", "sensitive")),
    "user_choice": EventType("warning", "The user chose on the warning: continue / stop_sharing / dismiss.",
                             ("action",), ("apps", "sensitive")),
    "remote_frozen": EventType("warning", "Remote-control processes were suspended.", ("pids",), ("apps",)),
    "remote_resumed": EventType("notice", "Suspended remote-control processes were resumed.", ("pids",)),
    "remote_ended": EventType("warning", "Processes were ended on the user's request.", ("pids",), ("apps",)),
    "process_frozen": EventType("warning", "One process of a remote tool (or its child) was suspended while the "
                                           "warning is up.", ("pid", "name"), ("root_pid",)),
    "process_resumed": EventType("notice", "A suspended process was resumed.", ("pid", "name"), ("root_pid",)),
    "process_ended": EventType("warning", "A process was ended on the user's request (terminated, killed or "
                                          "failed).", ("pid", "name", "how")),
    "process_freeze_failed": EventType("warning", "A remote-tool process could not be suspended.",
                                       ("pid", "reason")),
    "warning_shown": EventType("alert", "The blocking warning is put up for a new alert; its event_id fills "
                                        "%event_id% in the policy's custom_message and help_url.", ("apps",)),
    "paused": EventType("warning", "The user paused the guard from the tray (policy allow_pause).", ("seconds",)),
    "resumed": EventType("info", "The user ended a pause."),
    "quit_by_user": EventType("warning", "The user quit the guard from the tray (policy allow_quit)."),
    "notifications_unavailable": EventType("warning", "No notification service: notices go to the tray tooltip.",
                                           ("reason",)),
    "ui_helper_restarted": EventType("warning", "The UI helper process ended unexpectedly, or stopped answering "
                                                "and was killed, and was restarted.",
                                     ("exit_status", "alert"), ("reason",)),
    "log_dir_fallback": EventType("warning", "The machine log_dir could not hold a private folder for this user "
                                             "(no right to create it, a planted link, another account's folder); "
                                             "the file log and spool use the user's own log folder instead.",
                                  ("requested", "used", "reason")),
    "events_dropped": EventType("warning", "A sink lost events (queue full, write failed, not written before the "
                                           "agent stopped or was killed, spool full). The sink that lost them "
                                           "reports the count itself once it works again (see What can be lost).",
                                ("sink", "count"), ("reason",)),
}


@dataclass
class AuditContext:
    """The envelope values that do not change while the agent runs."""

    device_id: str
    hostname: str = field(default_factory=socket.gethostname)
    user: str = ""
    agent_version: str = __version__
    include_titles: bool = False

    def __post_init__(self) -> None:
        if not self.user:
            self.user = current_user()


def current_user() -> str:
    """The desktop user name (never raises)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):
        return os.environ.get("USERNAME") or os.environ.get("USER") or str(os.getuid() if hasattr(os, "getuid") else "")


def utc_now() -> str:
    """RFC 3339 UTC with milliseconds, e.g. 2024-05-01T09:30:00.123Z."""
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def make_event(type_: str, context: AuditContext, **fields: Any) -> Dict[str, Any]:
    """Build one event. Raises ValueError for an unknown type or a missing
    required field (a programming error, caught by the tests)."""
    spec = EVENT_TYPES.get(type_)
    if spec is None:
        raise ValueError(f"unknown audit event type {type_!r}")
    missing = [f for f in spec.required if f not in fields]
    if missing:
        raise ValueError(f"{type_}: missing field(s) {', '.join(missing)}")
    unknown = [f for f in fields if f not in spec.required and f not in spec.optional]
    if unknown:
        raise ValueError(f"{type_}: unknown field(s) {', '.join(unknown)}")
    if "titles" in fields and not context.include_titles:
        fields.pop("titles")
    event = {
        "schema": SCHEMA_VERSION,
        "event_id": str(uuid.uuid4()),
        "time": utc_now(),
        "type": type_,
        "severity": spec.severity,
        "device_id": context.device_id,
        "hostname": context.hostname,
        "user": context.user,
        "agent_version": context.agent_version,
    }
    event.update(fields)
    return event


def device_id(state_dir: str) -> str:
    """The persisted device id (created on first use; a fresh one if the
    state dir cannot be written, so events still carry an id)."""
    path = os.path.join(state_dir, "device_id")
    try:
        with open(path, encoding="ascii") as f:
            value = f.read().strip()
        uuid.UUID(value)
        return value
    except (OSError, ValueError):
        pass
    value = str(uuid.uuid4())
    try:
        # 0600 in a 0700 folder whatever the umask (docs/security.md).
        write_private(path, (value + "\n").encode("ascii"))
    except OSError:
        pass
    return value
