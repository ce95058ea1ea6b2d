"""The phrase tables' quick-to-compile regex finds exactly what the plain one does.

agent/engine/matching.PhraseTable compiles its phrases with shared, case-sensitive
word guards (about 8 times faster to build than one case-insensitive guard pair
per phrase) and falls back to the original guards for text holding one of the
four characters the two differ on. Reference: every phrase's own
``phrase_pattern`` joined in the same order, compiled case-insensitively.
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

from agent.engine.matching import _FOLDED_ALNUM, PhraseTable, phrase_pattern
from agent.signatures.loader import load_signatures

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
SIGS = load_signatures()
RULES = SIGS.title_rules


def _titles():
    out = []
    for name in ("title_corpus.yaml", "title_corpus_heldout.yaml"):
        with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
            out += [c["title"] for c in yaml.safe_load(f)["cases"]]
    with open(os.path.join(FIXTURES, "title_cases.yaml"), encoding="utf-8") as f:
        cases = yaml.safe_load(f)
    return out + [c["title"] for c in cases["positive"] + cases["negative"]]


TITLES = _titles()
TABLES = {
    "institutions": [p for s in SIGS.sensitive for p in list(s.strong) + list(s.weak)],
    "vocabulary": list(RULES.context_words + RULES.page_words + RULES.offer_words + RULES.service_desk_words),
    "mention words": list(RULES.antifraud_words + RULES.mention_words),
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_table_finds_what_each_phrase_pattern_finds(name):
    table = PhraseTable((p, p) for p in TABLES[name])
    rx = re.compile("|".join(phrase_pattern(p) for p in table._phrases), re.IGNORECASE)
    # Every phrase alone, glued to a letter, a digit, a space, CJK, and each of the four folding characters.
    texts = list(TITLES)
    for phrase in table._phrases[::3]:
        for edge in ["", " ", "a", "Z", "7", "中", *sorted(_FOLDED_ALNUM)]:
            texts += [edge + phrase + edge, phrase + edge, edge + phrase, phrase.upper() + edge]
    differ = []
    for text in texts:
        want = [(m.span(), p) for m in rx.finditer(text)
                for p in table._payloads.get(" ".join(m.group(0).split()).casefold(), ())]
        if table.find(text) != want:
            differ.append(text)
    assert not differ, differ[:5]
    assert len(texts) > 1000


def test_the_folding_characters_are_the_guard_differences():
    # Under re.IGNORECASE, [A-Za-z0-9] matches exactly these besides ASCII letters and digits.
    folded = re.compile("[A-Za-z0-9]", re.IGNORECASE)
    plain = re.compile("[A-Za-z0-9]")
    extra = {chr(c) for c in range(0x110000) if folded.match(chr(c)) and not plain.match(chr(c))}
    assert extra == set(_FOLDED_ALNUM)


def test_a_folding_character_keeps_a_guarded_phrase_out():
    table = PhraseTable([("Chase", "chase")])
    assert [p for _, p in table.find("Chase - Sign in")] == ["chase"]
    # The Kelvin sign counts as a letter for the original (case-insensitive) guard: no word boundary.
    assert table.find("\u212aChase") == [] and table.find("Chase\u017f") == []
    assert table.find("ıChase") == []
