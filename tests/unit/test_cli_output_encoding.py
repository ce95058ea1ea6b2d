"""Issue 12 bug 1: output is UTF-8 in every build, even redirected on an English Windows.

A redirected stdout on an English Windows is code page 1252, and a frozen
shareguard.exe ignores PYTHONIOENCODING/PYTHONUTF8, so printing a Chinese
bank name crashed with UnicodeEncodeError. Here a child Python gets a cp1252
stdout pipe (PYTHONIOENCODING=cp1252, what Windows gives it) and must still
write UTF-8. The same run under Wine is in tests/wine/test_cli_wine.py.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO = os.path.join(ROOT, "tests", "scenarios", "campus_loan_rustdesk.yaml")


def _run(*args):
    env = dict(os.environ, PYTHONIOENCODING="cp1252", PYTHONUTF8="0", LC_ALL="zh_CN.UTF-8", LANG="zh_CN.UTF-8")
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, env=env, capture_output=True,
                          timeout=60)


def test_redirected_text_output_is_utf8_on_a_cp1252_stream():
    res = _run("replay", SCENARIO)
    assert b"UnicodeEncodeError" not in res.stderr, res.stderr.decode(errors="replace")[-2000:]
    text = res.stdout.decode("utf-8")  # strict: fails on cp1252 or '?' replacement output
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text[:500]


def test_redirected_json_output_is_utf8_on_a_cp1252_stream():
    res = _run("replay", "--json", SCENARIO)
    assert b"UnicodeEncodeError" not in res.stderr, res.stderr.decode(errors="replace")[-2000:]
    text = res.stdout.decode("utf-8")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text[:500]
