"""Event -> bytes. Serializers know formats, writers know transports.

- :func:`json_line`: one JSON object per line (file sink, spool, webhook).
- :class:`Rfc5424`: RFC 5424 syslog message with a structured-data element
  ``[shareguard@PEN ...]`` and the full JSON event as MSG; :func:`octet_frame`
  adds RFC 6587 octet counting for TCP.
- :func:`hec_batch` / :func:`webhook_batch`: HTTP bodies for Splunk HTTP
  Event Collector and a generic JSON webhook.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from typing import Any, Dict, Iterable, List, Optional

#: IANA Private Enterprise Number used in the SD-ID. 32473 is the number
#: RFC 5612 reserves for documentation and examples; a company with its own
#: PEN sets ``enterprise_number`` on the syslog sink.
DEFAULT_PEN = 32473

#: RFC 5424 severity codes for our severities.
SYSLOG_SEVERITY = {"alert": 1, "warning": 4, "notice": 5, "info": 6}
#: Facility local0 (16) unless configured: the conventional home of app audit logs.
DEFAULT_FACILITY = 16

#: Envelope/scalar fields copied into structured data (the rest is in MSG).
_SD_FIELDS = ("event_id", "schema", "type", "severity", "device_id", "user", "agent_version",
              "app", "kind", "state", "signature_id", "category", "level", "action", "mode")


def json_line(event: Dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON plus a newline."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8") + b"\n"


def _printable_ascii(text: str, limit: int) -> str:
    """RFC 5424 header fields are PRINTUSASCII (33-126); '-' means empty."""
    out = "".join(c if 33 <= ord(c) <= 126 else "_" for c in (text or ""))[:limit]
    return out or "-"


def _sd_escape(value: Any) -> str:
    # PARAM-VALUE must escape '"', '\' and ']' (RFC 5424 section 6.3.3).
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


class Rfc5424:
    """Formats one event as an RFC 5424 message (bytes, no framing)."""

    def __init__(self, facility: int = DEFAULT_FACILITY, app_name: str = "shareguard",
                 enterprise_number: int = DEFAULT_PEN, hostname: Optional[str] = None) -> None:
        self.facility = int(facility)
        self.app_name = _printable_ascii(app_name, 48)
        self.sd_id = f"shareguard@{int(enterprise_number)}"
        self.hostname = hostname
        self.procid = str(os.getpid())

    def __call__(self, event: Dict[str, Any]) -> bytes:
        pri = self.facility * 8 + SYSLOG_SEVERITY.get(event.get("severity", "info"), 6)
        host = _printable_ascii(self.hostname or event.get("hostname", ""), 255)
        msgid = _printable_ascii(event.get("type", ""), 32)
        params = " ".join(f'{name}="{_sd_escape(event[name])}"' for name in _SD_FIELDS if name in event)
        header = (f"<{pri}>1 {event.get('time', '-')} {host} {self.app_name} {self.procid} {msgid} "
                  f"[{self.sd_id} {params}]")
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        # The BOM marks MSG as UTF-8 (RFC 5424 section 6.4): user names and app names may not be ASCII.
        return header.encode("utf-8") + b" \xef\xbb\xbf" + body.encode("utf-8")


def octet_frame(message: bytes) -> bytes:
    """RFC 6587 octet-counting framing: ``LEN SP MSG``."""
    return str(len(message)).encode("ascii") + b" " + message


def epoch_of(rfc3339: str) -> float:
    """Seconds since the epoch of an event's ``time``."""
    try:
        return _dt.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=_dt.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return 0.0


def hec_batch(events: Iterable[Dict[str, Any]], index: str = "", sourcetype: str = "shareguard:event") -> bytes:
    """Splunk HEC /services/collector/event body: concatenated event objects."""
    parts: List[bytes] = []
    for event in events:
        entry: Dict[str, Any] = {"time": round(epoch_of(event.get("time", "")), 3),
                                 "host": event.get("hostname", ""), "source": "shareguard",
                                 "sourcetype": sourcetype, "event": event}
        if index:
            entry["index"] = index
        parts.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return b"\n".join(parts)


def webhook_batch(events: Iterable[Dict[str, Any]]) -> bytes:
    """Generic webhook body: ``{"schema": 1, "events": [...]}``."""
    events = list(events)
    schema = events[0].get("schema", 1) if events else 1
    return json.dumps({"schema": schema, "events": events}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")
