"""``make package-windows`` in CI: PyInstaller + 64-bit NSIS, silent install/uninstall under Wine.

tools/package_windows.py does the work and its own checks (installed files, the
HKLM Run value, the uninstall entry, ``shareguard.exe --version`` and ``scan --json``
from the install folder, a clean silent uninstall). While installed, this test also
runs the frozen exe where the source tree cannot stand in for it:

- issue 12 bug 1: a frozen shareguard.exe ignores PYTHONIOENCODING/PYTHONUTF8, so on an
  English Windows (code page 1252) with the Chinese language set by policy its
  redirected output crashed; it must be UTF-8;
- the scan of the frozen exe sees a real bank window.
"""

from tests.support import wine
from tools import package_windows

POLICY_KEY = r"HKLM\SOFTWARE\Policies\ShareGuard"


def test_package_windows_builds_installs_runs_and_uninstalls(windesk):
    env, _session, environ = windesk
    checked = {}

    def frozen_checks(env):
        with wine.win_apps(env, environ, ("chrome.exe", "招商银行 - 个人网银 - Google Chrome", "Chrome_WidgetWin_1")):
            env.wine("reg", "add", POLICY_KEY, "/v", "language", "/t", "REG_SZ", "/d", "zh_CN", "/f")
            try:
                english = dict(environ, LC_ALL="C.UTF-8", PYTHONIOENCODING="cp1252", PYTHONUTF8="0")
                res = package_windows.run_installed(env, "scan", environ=english)
            finally:
                env.wine("reg", "delete", POLICY_KEY, "/f", check=False)
        checked["scan"] = res
        assert res.returncode == 0, wine.decode(res.stderr)[-3000:]
        text = res.stdout.decode("utf-8")  # strict: cp1252 or '?' output fails here
        assert "招商银行" in text and "敏感窗口和应用" in text, text

    payload = package_windows.build_exe(env)
    installer = package_windows.build_installer(payload)
    seen = package_windows.install_check_uninstall(env, installer, while_installed=frozen_checks)
    assert seen["version"] == f"shareguard {package_windows.__version__}"
    assert seen["scan"]["alert"] is False and "unavailable" in seen["scan"]
    assert "scan" in checked
