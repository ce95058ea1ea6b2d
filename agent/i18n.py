"""Every string a person sees, in zh_CN and en.

Modules keep their own message tables (``{key: {"en": ..., "zh_CN": ...}}``)
next to the code that shows them; this module picks the language and
formats. ``tests/unit/test_i18n.py`` checks that every table has both
languages and the same placeholders in each.
"""

from __future__ import annotations

import locale
import os
from typing import Dict, Mapping, Optional

LANGUAGES = ("zh_CN", "en")

Messages = Mapping[str, Mapping[str, str]]

#: Every message table registered with :func:`register`, for the i18n test.
REGISTRY: Dict[str, Messages] = {}


def register(name: str, messages: Messages) -> Messages:
    """Record a module's message table so tests can check it; returns it."""
    REGISTRY[name] = messages
    return messages


def normalize(tag: Optional[str]) -> Optional[str]:
    """Map a locale tag (``zh_CN.UTF-8``, ``zh-Hans``, ``en_US``) to a LANGUAGES value."""
    if not tag:
        return None
    t = tag.replace("-", "_").split(".")[0].lower()
    if t.startswith("zh"):
        return "zh_CN"
    if t in ("c", "posix"):
        return "en"
    if t.startswith("en") or t[:2].isalpha():
        return "en"
    return None


def detect_language(override: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> str:
    """The language to show: a policy override, else the OS locale, else en.

    On Linux/macOS the POSIX variables decide (LC_ALL > LC_MESSAGES > LANG >
    LANGUAGE); on Windows ``locale.getlocale()`` reflects the user's UI
    language once the runtime has called ``setlocale``.
    """
    forced = normalize(override) if override and override != "auto" else None
    if forced:
        return forced
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var)
        if value:
            return normalize(value.split(":")[0]) or "en"
    if environ is None:
        try:
            found = normalize(locale.getlocale()[0])
        except ValueError:
            found = None
        if found:
            return found
    return "en"


def tr(messages: Messages, key: str, lang: str, **values: object) -> str:
    """Look up ``key`` in ``messages`` for ``lang`` (falling back to en) and format it."""
    entry = messages[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text
