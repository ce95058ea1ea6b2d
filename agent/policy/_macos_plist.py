"""Machine policy from a macOS managed-preferences plist (MDM profile).

An MDM configuration profile for the ``com.shareguard.agent`` domain is
written by the system to ``/Library/Managed Preferences/`` (per user in a
sub-folder). Only root can write there, so no ownership check is needed
beyond the usual one. Keys are the policy keys; plist types already match
(bool, integer, real, string, array, dict).
"""

from __future__ import annotations

import plistlib
from typing import Any, Dict, List, Optional, Tuple

from agent.policy.validate import Problem
from agent.sourcefile import brief

#: Keys the profile machinery itself adds; not policy.
PROFILE_KEYS = ("PayloadUUID", "PayloadIdentifier", "PayloadType", "PayloadVersion",
                "PayloadDisplayName", "PayloadOrganization")


def read_plist(path: str) -> Tuple[Optional[Dict[str, Any]], List[Problem]]:
    """Read one managed plist. Returns ``(mapping or None if absent, problems)``."""
    try:
        with open(path, "rb") as f:
            data = plistlib.load(f)
    except FileNotFoundError:
        return None, []
    except (OSError, plistlib.InvalidFileException, ValueError, RecursionError, OverflowError) as e:
        return None, [Problem(path, 0, f"not a readable property list: {brief(str(e) or type(e).__name__)[1:-1]}")]
    if not isinstance(data, dict):
        return None, [Problem(path, 0, "the property list must be a dictionary")]
    return {k: v for k, v in data.items() if k not in PROFILE_KEYS}, []
