"""Issue 12 bug 3: the guard starts when ``cryptography`` cannot load.

cryptography 42 and later do not load under Wine 8, and a damaged install can
lose its native library. With no signature bundle configured nothing needs it;
with one, verification fails with a clear message instead of the agent dying.
Each case runs in a child Python in which ``import cryptography`` fails.
"""

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCK = "import sys; sys.modules['cryptography'] = None\n"  # any import of it raises ImportError


def _child(code: str, channel: str = "") -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if channel:  # a private companion channel: another agent on the machine may hold the user's default one
        env["SHAREGUARD_COMPANION_CHANNEL"] = channel
    return subprocess.Popen([sys.executable, "-c", BLOCK + code], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_run_starts_without_cryptography_when_no_bundle_is_configured(tmp_path):
    proc = _child("from agent.cli import main\nsys.exit(main(['run', '--console', '--poll', '0.5']))",
                  channel=str(tmp_path / "run" / "companion.sock"))
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and len(lines) < 3:
            line = proc.stdout.readline().decode("utf-8", "replace")
            if line:
                lines.append(line)
        assert proc.poll() is None, "".join(lines)  # still running: it started and ticks
        assert "console mode" in lines[0], lines
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_verifying_a_bundle_without_cryptography_says_why():
    proc = _child(
        "from agent.signatures.bundle import BundleError, verify_bundle\n"
        "try:\n"
        "    verify_bundle('missing.sgb', 'A' * 44)\n"
        "except BundleError as exc:\n"
        "    print(exc.code, '|', exc, '|', exc.message('zh_CN'))\n")
    out = proc.communicate(timeout=60)[0].decode("utf-8")
    assert out.startswith("crypto_unavailable |"), out
    assert "cryptography" in out and "ModuleNotFoundError" in out and "签名包" in out
