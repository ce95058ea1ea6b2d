"""Windows Event Log writer (ReportEventW through ctypes).

Each event type has a fixed event ID so IT can filter and alert on it in
Event Viewer or a SIEM's Windows collector; the JSON event is the single
insertion string. The installer registers the source under
``HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\ShareGuard``
with a message file whose every ID is ``%1`` (e.g. the .NET
``EventLogMessages.dll``) so the text shows without a "description cannot
be found" preamble. ``advapi32`` is injected so tests run everywhere.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any, Dict, Optional

from agent.sinks.base import Writer

EVENTLOG_ERROR_TYPE = 0x0001
EVENTLOG_WARNING_TYPE = 0x0002
EVENTLOG_INFORMATION_TYPE = 0x0004

#: Severity -> Event Log entry type.
ENTRY_TYPE = {"alert": EVENTLOG_ERROR_TYPE, "warning": EVENTLOG_WARNING_TYPE,
              "notice": EVENTLOG_INFORMATION_TYPE, "info": EVENTLOG_INFORMATION_TYPE}

#: Stable event IDs. Never renumber: IT builds filters on them. Append only.
EVENT_IDS = {
    "agent_started": 1000, "agent_stopped": 1001, "agent_restarted_after_kill": 1002,
    "policy_loaded": 1100, "policy_rejected": 1101, "policy_insecure": 1102, "policy_file_changed": 1103,
    "signatures_loaded": 1200, "signatures_rejected": 1201,
    "share_started": 1300, "share_state_changed": 1301, "share_ended": 1302, "first_seen": 1303,
    "sensitive_opened": 1400, "sensitive_closed": 1401,
    "alert_raised": 1500, "alert_cleared": 1501, "level_changed": 1502, "user_choice": 1503,
    "remote_frozen": 1600, "remote_resumed": 1601, "remote_ended": 1602,
    "process_frozen": 1610, "process_resumed": 1611, "process_ended": 1612, "process_freeze_failed": 1613,
    "warning_shown": 1700, "paused": 1701, "resumed": 1702, "quit_by_user": 1703,
    "notifications_unavailable": 1704, "ui_helper_restarted": 1705,
    "events_dropped": 1900,
    "log_dir_fallback": 1901,
}
#: Event Log insertion strings are limited to 31,839 characters.
MAX_STRING = 31839


class EventLogWriter(Writer):
    name = "eventlog"

    def __init__(self, source: str = "ShareGuard", advapi32: Any = None) -> None:
        if advapi32 is None:
            advapi32 = _load_advapi32()
        self.api = advapi32
        self.source = source
        self._handle: Optional[int] = None

    def _open(self):
        if not self._handle:
            handle = self.api.RegisterEventSourceW(None, self.source)
            if not handle:
                raise OSError(f"RegisterEventSourceW({self.source!r}) failed")
            self._handle = handle
        return self._handle

    def write(self, data: bytes, event: Dict[str, Any]) -> bool:
        text = data.decode("utf-8", "replace").rstrip("\n")[:MAX_STRING]
        strings = (ctypes.c_wchar_p * 1)(text)
        ok = self.api.ReportEventW(self._open(), ENTRY_TYPE.get(event.get("severity", ""), EVENTLOG_INFORMATION_TYPE),
                                   0, EVENT_IDS.get(event.get("type", ""), 1999), None, 1, 0, strings, None)
        return bool(ok)

    def close(self) -> None:
        if self._handle:
            self.api.DeregisterEventSource(self._handle)
            self._handle = None


def _load_advapi32():
    if sys.platform != "win32":  # the factory never gets here off Windows; also tells mypy so
        raise RuntimeError("the Windows Event Log exists only on Windows")
    from ctypes import wintypes
    api = ctypes.WinDLL("advapi32", use_last_error=True)
    api.RegisterEventSourceW.argtypes = [wintypes.LPCWSTR, wintypes.LPCWSTR]
    api.RegisterEventSourceW.restype = wintypes.HANDLE
    api.ReportEventW.argtypes = [wintypes.HANDLE, wintypes.WORD, wintypes.WORD, wintypes.DWORD,
                                 ctypes.c_void_p, wintypes.WORD, wintypes.DWORD,
                                 ctypes.POINTER(wintypes.LPCWSTR), ctypes.c_void_p]
    api.ReportEventW.restype = wintypes.BOOL
    api.DeregisterEventSource.argtypes = [wintypes.HANDLE]
    api.DeregisterEventSource.restype = wintypes.BOOL
    return api
