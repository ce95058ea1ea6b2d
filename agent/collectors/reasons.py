"""Reasons for ``Snapshot.unavailable`` that can be shown in zh_CN or en.

Helpers that read one source (X11, ``pw-dump``, sockets) do not know the
user's language; they return a :class:`Reason` made from their message
table, and the collector template translates it (agent/collectors/base.py).
"""

from __future__ import annotations

from typing import Iterable, Mapping, Tuple

from agent import i18n


class Reason(str):
    """An ``unavailable`` reason that can be shown in the user's language.

    It *is* its English text (so helpers without a language, logs and tests
    read it as a plain string); :meth:`in_language` gives the zh_CN/en text
    from the message table it was made from.
    """

    table: i18n.Messages
    key: str
    values: Mapping[str, object]

    def in_language(self, lang: str) -> str:
        """The reason in ``lang`` (a plain ``str``)."""
        return i18n.tr(self.table, self.key, lang, **self.values)


def reason(table: i18n.Messages, key: str, **values: object) -> Reason:
    """A :class:`Reason` from a registered message table."""
    made = Reason(i18n.tr(table, key, "en", **values))
    made.table, made.key, made.values = table, key, dict(values)
    return made


def translate(pairs: Iterable[Tuple[str, str]], lang: str) -> Tuple[Tuple[str, str], ...]:
    """``(source, reason)`` pairs with every :class:`Reason` in ``lang`` (plain strings out)."""
    return tuple((source, text.in_language(lang) if isinstance(text, Reason) else str(text))
                 for source, text in pairs)
