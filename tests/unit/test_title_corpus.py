"""Own, mention and impersonation on the title corpus (docs/detection.md).

tests/fixtures/title_corpus.yaml (tools/gen_title_corpus.py): every case must be judged exactly.
tests/fixtures/title_corpus_heldout.yaml was written before the title parser and never used to
tune it: its precision and recall are measured and printed (docs/detection.md quotes them), and
only a floor is asserted, so a miss there stays a measured fact.
"""

import os
from collections import Counter

import pytest
import yaml

from agent.engine.sensitive import SensitiveMatcher
from agent.signatures.loader import load_signatures

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
SIGS = load_signatures()
_MATCHERS: dict = {}


def _load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return yaml.safe_load(f)["cases"]


CORPUS = _load("title_corpus.yaml")
HELDOUT = _load("title_corpus_heldout.yaml")
COUNTS = ("own", "impersonation")


def judge(case):
    platform = case.get("platform", "windows")
    if platform not in _MATCHERS:
        _MATCHERS[platform] = SensitiveMatcher(SIGS, platform)
    matcher = _MATCHERS[platform]
    if case.get("url"):
        return matcher.judge_page(case["title"], case["url"])
    return matcher.judge_title(case["title"], case.get("process"))


def category_of(judged):
    return judged.category or ("credit_report" if judged.sig.role == "authority" else judged.sig.category)


def _id(case):
    return f"{case['expect']}:{case['title'][:50]}"


@pytest.mark.parametrize("case", CORPUS, ids=_id)
def test_corpus_case(case):
    judged = judge(case)
    if case["expect"] in COUNTS:
        assert judged.basis == case["expect"], (case, judged)
        if case.get("id"):
            assert judged.sig.id == case["id"], (case, judged)
        if case.get("category"):
            assert category_of(judged) == case["category"], (case, judged)
    else:
        assert judged.basis not in COUNTS, (case, judged)
        if case["expect"] == "mention":
            assert judged.basis in ("mention", "none")


def test_corpus_covers_every_kind_category_and_language():
    assert len(CORPUS) >= 300
    kinds = Counter(c["kind"] for c in CORPUS)
    for kind in ("news", "search", "social", "reviews", "maps", "video", "docs", "image", "mail", "chat", "ide",
                 "elearning", "impersonation", "impersonation-url", "throwaway", "lure", "own-page", "own-url"):
        assert kinds[kind] >= 2, kind
    categories = Counter(c["category"] for c in CORPUS if c["expect"] in COUNTS)
    assert set(categories) == {"bank", "loan", "payment", "credit_report", "investment"}
    langs = Counter((c["lang"], c["expect"]) for c in CORPUS)
    for lang in ("zh-CN", "zh-TW", "en"):
        for expect in ("own", "mention", "impersonation"):
            assert langs[(lang, expect)] >= 1, (lang, expect)


def measure(cases):
    tp = fp = fn = tn = 0
    for case in cases:
        got = judge(case).basis in COUNTS
        want = case["expect"] in COUNTS
        tp += got and want
        fp += got and not want
        fn += want and not got
        tn += not got and not want
    return tp, fp, fn, tn


def test_heldout_precision_and_recall(capsys):
    tp, fp, fn, tn = measure(HELDOUT)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    with capsys.disabled():
        print(f"\nheld-out title cases: {len(HELDOUT)} (sensitive {tp + fn}, not {fp + tn}): "
              f"precision {precision:.3f} recall {recall:.3f} (tp {tp} fp {fp} fn {fn} tn {tn})")
    assert len(HELDOUT) >= 80
    assert precision >= 0.95 and recall >= 0.9
