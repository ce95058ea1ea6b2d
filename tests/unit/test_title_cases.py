"""Precision and recall of sensitive-window matching on the shipped signatures.

The cases live in tests/fixtures/title_cases.yaml: real-looking titles that
must match a given service, and look-alikes ("Bank reconciliation.xlsx",
"World Bank Open Data", a "Chase" that is not the bank) that must not.
"""

import os
from collections import Counter
from typing import Dict

import pytest
import yaml

from agent.engine.sensitive import SensitiveMatcher
from agent.signatures.loader import load_signatures

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = yaml.safe_load(open(os.path.join(HERE, "..", "fixtures", "title_cases.yaml"), encoding="utf-8"))
SIGS = load_signatures()
_MATCHERS: Dict[str, SensitiveMatcher] = {}


def matcher(platform):
    if platform not in _MATCHERS:
        _MATCHERS[platform] = SensitiveMatcher(SIGS, platform)
    return _MATCHERS[platform]


def _id(case):
    return case["title"][:60]


@pytest.mark.parametrize("case", CASES["positive"], ids=_id)
def test_positive_title(case):
    platform = case.get("platform", "windows")
    judged = matcher(platform).judge_title(case["title"], case.get("process"))
    assert judged.basis in ("own", "impersonation"), f"{case['title']!r} should be {case['id']}, is {judged}"
    category = judged.category or ("credit_report" if judged.sig.role == "authority" else judged.sig.category)
    assert (judged.sig.id, category) == (case["id"], case["category"])


@pytest.mark.parametrize("case", CASES["negative"], ids=_id)
def test_negative_title(case):
    platform = case.get("platform", "windows")
    sig = matcher(platform).match_title(case["title"], case.get("process"))
    assert sig is None, f"{case['title']!r} matched {sig and sig.id}: {case.get('why', '')}"


def test_cases_cover_every_category_and_both_languages():
    positives = CASES["positive"]
    assert len(positives) >= 30 and len(CASES["negative"]) >= 30
    assert set(Counter(c["category"] for c in positives)) == {"bank", "loan", "payment", "credit_report",
                                                                "investment"}

    def has_cjk(text):
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)
    for group in ("positive", "negative"):
        langs = Counter(has_cjk(c["title"]) for c in CASES[group])
        assert langs[True] >= 10 and langs[False] >= 10, (group, langs)
