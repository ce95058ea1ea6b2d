"""The Linux package end to end: `make package`, dpkg -i, run from PATH, purge.

Root only (it installs into /opt, /usr, /etc). Locally it skips without root or the
tools; in CI (CI=true) a missing prerequisite fails the test instead.
"""

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.xsession import in_ci, require, require_programs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = [pytest.mark.slow]

#: Files the package puts on the system, and what postinst makes.
INSTALLED = [
    "/usr/bin/shareguard",
    "/usr/lib/shareguard/session-start",
    "/etc/xdg/autostart/shareguard.desktop",
    "/usr/lib/systemd/user/shareguard.service",
    "/etc/shareguard/policy.yaml",
    "/opt/shareguard/venv/bin/shareguard",
    "/etc/systemd/user/graphical-session.target.wants/shareguard.service",
]

#: Native-messaging host manifests postinst registers (`shareguard browser install --system`).
COMPANION_MANIFESTS = [
    "/etc/chromium/native-messaging-hosts/org.shareguard.companion.json",
    "/etc/opt/chrome/native-messaging-hosts/org.shareguard.companion.json",
    "/etc/opt/edge/native-messaging-hosts/org.shareguard.companion.json",
    "/usr/lib/mozilla/native-messaging-hosts/org.shareguard.companion.json",
]


def run(*cmd, check=True, env=None, timeout=240, cwd="/"):
    # cwd "/": `python -c` must import the installed agent, not this checkout's.
    result = subprocess.run(list(cmd), capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def package_installed() -> bool:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "shareguard"], capture_output=True, text=True)
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


@pytest.fixture
def deb(tmp_path):
    require(hasattr(os, "geteuid") and os.geteuid() == 0, "installing a .deb needs root")
    require_programs("dpkg-deb", "dpkg", "make", "systemd-analyze", "desktop-file-validate")
    require(not package_installed() or in_ci(), "a shareguard package is already installed here")
    env = dict(os.environ, DIST=str(tmp_path))
    run("make", "-s", "-C", ROOT, "package", env=env, timeout=280)
    debs = glob.glob(str(tmp_path / "shareguard_*.deb"))
    assert len(debs) == 1, debs
    yield debs[0]
    if package_installed():
        subprocess.run(["dpkg", "--purge", "shareguard"], capture_output=True)


def test_deb_installs_runs_from_path_and_purges(deb, tmp_path):
    info = run("dpkg-deb", "--field", deb, "Depends", "Architecture").stdout
    assert "python3 (>= 3.10)" in info and "python3-venv" in info and "python3-tk" in info
    assert "/etc/shareguard/policy.yaml" in run("dpkg-deb", "--info", deb, "conffiles").stdout

    run("dpkg", "-i", deb)
    for path in INSTALLED:
        assert os.path.lexists(path), f"{path} missing after dpkg -i"
    # The venv was made for this machine's python3, so its interpreter link resolves.
    assert os.path.realpath("/opt/shareguard/venv/bin/python").startswith("/usr/bin/python3")

    # `shareguard` from PATH, in a plain non-graphical environment: prints JSON.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    assert shutil.which("shareguard", path=env["PATH"]) == "/usr/bin/shareguard"
    scan = run("shareguard", "scan", "--json", env=env, timeout=120)
    json.loads(scan.stdout)

    # The bundled signatures travel in the wheel and can be signed into a bundle by the installed tool.
    key = str(tmp_path / "k")
    run("shareguard", "signatures", "keygen", key, env=env)
    builtin = run("/opt/shareguard/venv/bin/python", "-c",
                  "from agent.signatures.loader import builtin_signature_dir as d; print(d())", env=env).stdout.strip()
    assert "/opt/shareguard/venv/" in builtin and "_bundled_signatures" in builtin
    run("shareguard", "signatures", "bundle", builtin, "--key", key, "-o", str(tmp_path / "s.sgb"), env=env)
    run("shareguard", "signatures", "verify", str(tmp_path / "s.sgb"), "--pubkey", key + ".pub", env=env)

    # The installed user unit verifies (ExecStart now exists); so does the autostart entry.
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700)
    verify = run("systemd-analyze", "--user", "verify", "/usr/lib/systemd/user/shareguard.service",
                 env=dict(os.environ, XDG_RUNTIME_DIR=str(runtime)))
    assert verify.stderr.strip() == "", verify.stderr
    run("desktop-file-validate", "/etc/xdg/autostart/shareguard.desktop")

    # The browser companion host is registered machine-wide and its launcher runs the installed host.
    for manifest in COMPANION_MANIFESTS:
        assert json.load(open(manifest))["name"] == "org.shareguard.companion", manifest
    launcher = json.load(open(COMPANION_MANIFESTS[0]))["path"]
    hello = json.dumps({"type": "hello", "browser": "chromium"}).encode()
    host = subprocess.run([launcher, "chrome-extension://x/"], input=len(hello).to_bytes(4, sys.byteorder) + hello,
                          capture_output=True, env=env, timeout=120)
    assert host.returncode == 0 and b'"type":"ack"' in host.stdout, host.stderr
    assert os.path.isfile("/usr/share/chromium/extensions/shareguard-companion/manifest.json")

    run("dpkg", "--purge", "shareguard")
    assert not package_installed()
    for path in INSTALLED + COMPANION_MANIFESTS + ["/opt/shareguard", "/etc/shareguard", "/usr/lib/shareguard",
                                                   "/var/lib/shareguard/browser"]:
        assert not os.path.lexists(path), f"{path} left behind by dpkg --purge"
    assert not os.path.lexists("/usr/share/chromium/extensions/shareguard-companion"), "extension left by purge"
