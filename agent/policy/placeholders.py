"""Expand %hostname%, %username%, %app%, %event_id%, %device_id% in policy texts.

custom_message and help_url may name these (like Santa's event-detail URL);
in a URL every value is percent-encoded so a window or user name cannot
change where the link goes.
"""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import quote

from agent.policy.keys import PLACEHOLDERS


def expand(text: str, values: Mapping[str, object], url: bool = False) -> str:
    """Replace each known ``%name%`` with ``values[name]`` (empty if missing)."""
    def sub(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            return match.group(0)
        value = "" if values.get(name) is None else str(values.get(name))
        return quote(value, safe="") if url else value
    return re.sub(r"%([A-Za-z_]+)%", sub, text or "")
