"""Every policy key, defined once.

The loader validates with this table, ``tools/gen_policy_docs.py`` writes
docs/policy.md from it, and the replay contract's ``policy:`` mapping is
checked against it, so a key cannot exist in one place and not the others.

``scope`` says who may set a key:
- ``any``: built-in default < machine policy < user settings (unless locked).
- ``machine``: only the machine policy (or registry / MDM profile) may set
  it; a user file that tries is reported and ignored. These are the keys a
  scammer would love the victim to change (trusted tools, where events go,
  which signature key to trust).
- ``meta``: structural keys of the machine policy file itself.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from agent.model import MODES
from agent.sourcefile import brief

#: Placeholders custom_message and help_url may use (expanded by
#: :func:`agent.policy.placeholders.expand`).
PLACEHOLDERS = ("hostname", "username", "app", "event_id", "device_id")

SINK_TYPES = ("file", "syslog", "http", "eventlog")


class KeyError_(ValueError):
    """A value does not fit its key; the message says what to change.

    ``at`` is the path (list indexes, mapping keys) to the nested value at
    fault, so a file's problem can name that value's own line.
    """

    def __init__(self, message: str, at: Tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.at = at


@dataclass(frozen=True)
class Key:
    """One policy key: the single source of truth for its name, type and docs."""

    name: str
    type: str               # human-readable type, shown in docs and errors
    default: Any
    description: str
    since: str
    check: Callable[[Any], Any] = field(repr=False, default=lambda v: v)
    scope: str = "any"      # any | machine | meta
    example: Any = None


# ---------------------------------------------------------------------------
# Type checkers: each returns the normalized value or raises KeyError_ with a
# sentence a person can act on.

def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    # Registry DWORDs and plist integers arrive as 0/1.
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    raise KeyError_(f"expected true or false, got {brief(v)}")


def _number(minimum: float, maximum: float) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise KeyError_(f"expected a number, got {brief(v)}")
        if not minimum <= v <= maximum:
            raise KeyError_(f"must be between {minimum:g} and {maximum:g}, got {brief(v)}")
        return v
    return check


def _choice(*choices: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in choices:
            raise KeyError_(f"must be one of {', '.join(choices)}, got {brief(v)}")
        return v
    return check


def _string(v: Any) -> str:
    if not isinstance(v, str):
        raise KeyError_(f"expected text, got {brief(v)}")
    return v


def _placeholder_text(v: Any) -> str:
    v = _string(v)
    for name in re.findall(r"%([A-Za-z_]+)%", v):
        if name not in PLACEHOLDERS:
            raise KeyError_(
                f"unknown placeholder %{name}%; use one of "
                + ", ".join(f"%{p}%" for p in PLACEHOLDERS))
    return v


def _help_url(v: Any) -> str:
    v = _placeholder_text(v)
    if v and not re.match(r"^(https?|mailto|tel):", v):
        raise KeyError_("must start with https://, http://, mailto: or tel:")
    return v


def _string_list(v: Any) -> List[str]:
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise KeyError_(f"expected a list of non-empty texts, got {brief(v)}")
    return v


def _hotlines(v: Any) -> Dict[str, str]:
    if not isinstance(v, dict):
        raise KeyError_("expected a mapping of region to phone number, e.g. {cn: \"96110\"}")
    out = {}
    for region, number in v.items():
        if not isinstance(region, str) or not isinstance(number, (str, int)) or isinstance(number, bool):
            raise KeyError_(f"hotline {brief(region)}: expected a phone number as text", at=(region,))
        out[region] = str(number)
    return out


def _pubkey(v: Any) -> str:
    v = _string(v).strip()
    if not v:
        return v
    raw: Optional[bytes] = None
    if re.fullmatch(r"[0-9a-fA-F]{64}", v):
        raw = bytes.fromhex(v)
    else:
        try:
            raw = base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise KeyError_("expected an ed25519 public key: 32 bytes as 64 hex digits or base64")
    return v


def _headers(v: Any) -> Dict[str, str]:
    if not isinstance(v, dict):
        raise KeyError_("expected a mapping of header name to value")
    return {str(k): str(x) for k, x in v.items()}


# Per-sink option checkers: option -> (checker, required)
_SINK_OPTIONS: Dict[str, Dict[str, Tuple[Callable[[Any], Any], bool]]] = {
    "file": {
        "path": (_string, False),
        "max_bytes": (_number(4096, 1 << 40), False),
        "backups": (_number(0, 1000), False),
        "fsync": (_bool, False),
    },
    "syslog": {
        "host": (_string, False),
        "port": (_number(1, 65535), False),
        "protocol": (_choice("udp", "tcp"), False),
        "facility": (_number(0, 23), False),
        "app_name": (_string, False),
        "enterprise_number": (_number(1, 1 << 31), False),
    },
    "http": {
        "url": (_string, True),
        "format": (_choice("hec", "webhook"), False),
        "token": (_string, False),
        "headers": (_headers, False),
        "batch_size": (_number(1, 10000), False),
        "flush_seconds": (_number(0, 3600), False),
        "timeout_seconds": (_number(0.1, 600), False),
        "retry_max_seconds": (_number(0.1, 86400), False),
        "spool_dir": (_string, False),
        "max_spool_mb": (_number(1, 100000), False),
        "index": (_string, False),
        "sourcetype": (_string, False),
    },
    "eventlog": {
        "source": (_string, False),
    },
}


def _sinks(v: Any) -> List[Dict[str, Any]]:
    if not isinstance(v, list):
        raise KeyError_("expected a list of sinks, e.g. [{type: file}, {type: syslog, host: 10.0.0.9}]")
    out = []
    for i, sink in enumerate(v):
        if not isinstance(sink, dict) or sink.get("type") not in SINK_TYPES:
            raise KeyError_(f"sink #{i + 1}: needs type: one of {', '.join(SINK_TYPES)}", at=(i,))
        options = _SINK_OPTIONS[sink["type"]]
        clean = {"type": sink["type"]}
        for name, value in sink.items():
            if name == "type":
                continue
            if name not in options:
                raise KeyError_(f"sink #{i + 1} ({sink['type']}): unknown option {brief(name)}; "
                                f"known: {', '.join(sorted(options))}", at=(i, name))
            try:
                clean[name] = options[name][0](value)
            except KeyError_ as e:
                raise KeyError_(f"sink #{i + 1} ({sink['type']}) {name}: {e}", at=(i, name)) from None
        for name, (_, required) in options.items():
            if required and name not in clean:
                raise KeyError_(f"sink #{i + 1} ({sink['type']}): {name} is required", at=(i,))
        if sink["type"] == "http" and not re.match(r"^https?://", clean["url"]):
            raise KeyError_(f"sink #{i + 1} (http) url: must start with http:// or https://", at=(i, "url"))
        out.append(clean)
    return out


def _key_list(v: Any) -> List[str]:
    v = _string_list(v)
    unknown = [k for k in v if k not in KEYS_BY_NAME or KEYS_BY_NAME[k].scope == "meta"]
    if unknown:
        raise KeyError_(f"unknown policy key(s) {brief(', '.join(unknown))[1:-1]}")
    return v


# ---------------------------------------------------------------------------

KEYS: Tuple[Key, ...] = (
    Key("mode", "monitor | balanced | strict", "balanced",
        "How hard to intervene. `balanced` blocks a shared or remote-controlled screen showing a "
        "bank/loan/payment/credit-report window; `strict` also blocks weaker evidence (a remote tool "
        "merely running, a meeting in a call); `monitor` never shows a warning and only logs events.",
        "0.1", _choice(*MODES)),
    Key("snooze_minutes", "number (0-1440)", 10,
        "After the user chooses \"continue\", the same share session does not block again for this long. "
        "A new share or remote-control session blocks at once.", "0.1", _number(0, 1440)),
    Key("countdown_seconds", "integer (0-120)", 10,
        "Seconds the blocking warning counts down before \"continue\" can be pressed, so a caller "
        "cannot talk the user through it instantly.", "0.1", _number(0, 120)),
    Key("end_grace_seconds", "number (0-60)", 3,
        "When ending a sharing/remote tool: seconds between the polite terminate and the kill.",
        "0.1", _number(0, 60)),
    Key("freeze_remote_tools", "boolean", True,
        "Suspend remote-control processes while the warning is up, so the remote party can neither "
        "see nor click; they are resumed only on an explicit local choice.", "0.1", _bool),
    Key("trusted_apps", "list of signature ids", [],
        "Apps (signature ids such as `teamviewer`, or the company's own support tool) whose shares are "
        "logged but never blocked. Machine policy only.", "0.1", _string_list, scope="machine",
        example=["corp_support"]),
    Key("trusted_executables", "list of paths or file names", [],
        "Executables (full path or file name, compared case-insensitively) whose shares are logged but "
        "never blocked. Machine policy only.", "0.1", _string_list, scope="machine",
        example=["C:\\Program Files\\Corp\\Support\\corpsupport.exe"]),
    Key("first_seen_notice", "boolean", True,
        "Show a notice when a meeting or remote-control executable runs for the first time on this machine.",
        "0.1", _bool),
    Key("custom_message", "text with placeholders", "",
        "Extra text on the blocking warning (e.g. \"Call the IT desk on 1234 before you continue\"). "
        "Placeholders: %hostname%, %username%, %app%, %event_id%, %device_id%.", "0.1", _placeholder_text),
    Key("help_url", "URL with placeholders", "",
        "A \"more help\" link on the warning; placeholders are URL-encoded when expanded, e.g. "
        "`https://it.example.com/sg?host=%hostname%&event=%event_id%`.", "0.1", _help_url),
    Key("hotlines", "mapping region -> phone number", {"cn": "96110"},
        "Anti-fraud hotlines shown on the warning, by region (96110 is China's national anti-fraud "
        "warning hotline).", "0.1", _hotlines),
    Key("language", "auto | zh_CN | en", "auto",
        "Language of the tray, toasts and warning; `auto` follows the OS locale.", "0.1",
        _choice("auto", "zh_CN", "en")),
    Key("allow_pause", "boolean", True,
        "Whether the tray menu offers \"pause protection\".", "0.1", _bool),
    Key("allow_quit", "boolean", True,
        "Whether the tray menu offers \"quit\".", "0.1", _bool),
    Key("events_include_titles", "boolean", False,
        "Put raw window titles into audit events. Titles can hold names and account numbers, so "
        "events name signature ids and apps only unless this is true. Machine policy only.",
        "0.1", _bool, scope="machine"),
    Key("sinks", "list of sink configs", [{"type": "file"}],
        "Where audit events go: `file` (JSON lines, rotating, 0600), `syslog` (RFC 5424 over udp/tcp), "
        "`http` (Splunk HEC or generic webhook JSON batches, with an on-disk spool), `eventlog` "
        "(Windows Event Log). See docs/events.md for every option. Machine policy only.",
        "0.1", _sinks, scope="machine",
        example=[{"type": "file"}, {"type": "syslog", "host": "10.0.0.9", "port": 514, "protocol": "tcp"},
                 {"type": "http", "url": "https://splunk.example.com:8088/services/collector/event",
                  "format": "hec", "token": "00000000-0000-0000-0000-000000000000"}]),
    Key("signature_bundle", "path", "",
        "A signed signature bundle IT distributes (empty: the built-in signatures). Machine policy only.",
        "0.1", _string, scope="machine"),
    Key("signature_pubkey", "ed25519 public key (hex or base64)", "",
        "The public key signature bundles must be signed with (empty: no bundle is ever loaded; "
        "the built-in signatures stay in force). "
        "Machine policy only.", "0.1", _pubkey, scope="machine"),
    Key("log_dir", "path", "",
        "Directory for the JSON-lines event log and the HTTP spool (empty: the per-user log "
        "directory from platformdirs). Every user of the machine shares it, so each user's agent writes "
        "to its own 0700 subfolder named after the user (make the folder mode 1777, or create the "
        "subfolders as root); if it cannot, events go to the per-user log directory with a "
        "`log_dir_fallback` event. Machine policy only.", "0.1", _string, scope="machine"),
    Key("locked", "list of key names", [],
        "Machine policy only: keys the user may not change even though the machine policy does not "
        "set them (they stay at the built-in default). Every key the machine policy sets is locked "
        "anyway unless listed in `user_overridable`.", "0.1", _key_list, scope="meta",
        example=["countdown_seconds"]),
    Key("user_overridable", "list of key names", [],
        "Machine policy only: keys the machine policy sets as a default that users may still change "
        "in their own settings (e.g. `language`).", "0.1", _key_list, scope="meta",
        example=["language", "snooze_minutes"]),
)

KEYS_BY_NAME: Dict[str, Key] = {k.name: k for k in KEYS}


def key_default(name: str) -> Any:
    """The built-in value of one key (a fresh copy); None for a name that is not a key."""
    import copy
    key = KEYS_BY_NAME.get(name)
    return copy.deepcopy(key.default) if key is not None else None


def default_hotlines() -> List[str]:
    """The built-in anti-fraud hotline numbers, for a warning whose policy names none."""
    return [str(n) for n in KEYS_BY_NAME["hotlines"].default.values()]


def defaults() -> Dict[str, Any]:
    """The built-in value of every non-meta key (fresh copies)."""
    import copy
    return {k.name: copy.deepcopy(k.default) for k in KEYS if k.scope != "meta"}
