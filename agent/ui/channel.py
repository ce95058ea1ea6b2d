"""The authenticated line channel between the agent and its UI helper.

Anyone running as the user could write into the helper's pipes through
``/proc/<pid>/fd`` (issue: a forged ``{"type": "choice", "choice":
"continue"}`` removed a warning and resumed the frozen tool). Three layers
stop that (docs/security.md, "a remote party driving the desktop"):

1. On POSIX the channel is a socketpair, not pipes: a socket cannot be
   opened through ``/proc/<pid>/fd``, so nobody else can even reach it.
2. The agent makes a fresh random secret per helper launch and sends it as
   the first line of the channel; every later line carries a sequence
   number and an HMAC-SHA256 over the direction, the number and the JSON
   text. A line that is forged, replayed, reordered or sent back the other
   way is refused (Windows pipes can be duplicated by same-user programs,
   so this is what guards them there).
3. The JSON must be an object of bounded size; what each message may
   contain is checked by the receiver before it is used (the typed messages
   of agent/ui/protocol.py, whose fields say what they may hold).

Line format: ``<hmac hex> <seq> <json>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any, Dict

from agent.ui.protocol import ProtocolError

#: The longest line either side accepts (a view with every share and page fits easily).
MAX_LINE = 256 * 1024
SECRET_BYTES = 32
TO_HELPER = "agent->helper"
TO_AGENT = "helper->agent"


class ChannelError(ProtocolError):
    """A line that is not an authentic, well-formed message: refused, never acted on."""


def new_secret() -> bytes:
    """A fresh per-launch secret."""
    return secrets.token_bytes(SECRET_BYTES)


def hello_line(secret: bytes) -> str:
    """The first line the agent sends: the secret (the channel itself is private)."""
    return "hello " + secret.hex()


def read_hello(line: str) -> bytes:
    """The secret from the first line; ChannelError if it is not a hello."""
    word, _, value = line.strip().partition(" ")
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        secret = b""
    if word != "hello" or len(secret) != SECRET_BYTES:
        raise ChannelError("the first line is not the agent's hello")
    return secret


class Sealer:
    """Signs outgoing messages of one direction."""

    def __init__(self, secret: bytes, direction: str) -> None:
        self._secret = secret
        self._direction = direction
        self._seq = 0

    def seal(self, message: Dict[str, Any]) -> str:
        """One line (without newline) carrying ``message``."""
        self._seq += 1
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        return f"{_mac(self._secret, self._direction, self._seq, body)} {self._seq} {body}"

    @property
    def last(self) -> int:
        """The sequence number of the last message sealed."""
        return self._seq


class Opener:
    """Checks incoming lines of one direction: authentic, in order, a bounded JSON object."""

    def __init__(self, secret: bytes, direction: str) -> None:
        self._secret = secret
        self._direction = direction
        self._last = 0

    def open(self, line: str) -> Dict[str, Any]:
        """The message in ``line``; raises ChannelError (the line is then ignored)."""
        if len(line) > MAX_LINE:
            raise ChannelError(f"line of {len(line)} characters is over the limit")
        mac, _, rest = line.strip().partition(" ")
        seq_text, _, body = rest.partition(" ")
        if not seq_text.isdigit() or len(seq_text) > 18:
            raise ChannelError("no sequence number")
        seq = int(seq_text)
        if not hmac.compare_digest(mac, _mac(self._secret, self._direction, seq, body)):
            raise ChannelError("bad authentication code (forged or damaged)")
        if seq <= self._last:
            raise ChannelError(f"message {seq} replayed or out of order (last was {self._last})")
        try:
            message = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise ChannelError(f"not JSON: {exc}") from None
        if not isinstance(message, dict):
            raise ChannelError(f"not a JSON object but {type(message).__name__}")
        self._last = seq
        return message

    @property
    def last(self) -> int:
        """The sequence number of the last message accepted."""
        return self._last


def _mac(secret: bytes, direction: str, seq: int, body: str) -> str:
    data = f"{direction}\n{seq}\n{body}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, data, hashlib.sha256).hexdigest()

