"""``make package-windows``: build, install, check and uninstall the Windows release under Wine.

1. PyInstaller (installer/windows/shareguard.spec) in the Windows Python with Tk
   (tools/wine_env.py) makes ``shareguard.exe`` + ``shareguardw.exe``;
2. makensis builds the 64-bit installer a person downloads
   (``-XTarget amd64-unicode``: Debian's 64-bit Wine cannot run 32-bit NSIS output)
   into ``dist/ShareGuard-<version>-setup.exe``;
3. with ``--check`` (what CI runs) the installer is run silently (``/S``) in the Wine
   prefix; the installed files, the HKLM Run value and the uninstall entry are
   checked, ``shareguard.exe --version`` and ``scan --json`` run from the install
   folder, and the silent uninstaller must remove all of it again.

Each step prints one line; a failed check exits non-zero with what was expected.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from agent import __version__  # noqa: E402
from tools import wine_env  # noqa: E402
from tools.wine_env import WineEnv, to_windows  # noqa: E402

SPEC = os.path.join(ROOT, "installer", "windows", "shareguard.spec")
NSI = os.path.join(ROOT, "installer", "windows", "shareguard.nsi")
DIST = os.path.join(ROOT, "dist")
INSTALL_DIR = r"C:\Program Files\ShareGuard"
RUN_KEY = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run"
UNINSTALL_KEY = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\ShareGuard"
#: What the installer must put in INSTALL_DIR (installer/windows/shareguard.nsi).
INSTALLED = ["shareguard.exe", "shareguardw.exe", "uninstall.exe", "policy.example.yaml", "_internal",
             r"policy-templates\ShareGuard.admx", r"policy-templates\en-US\ShareGuard.adml",
             r"policy-templates\zh-CN\ShareGuard.adml"]


class CheckFailed(RuntimeError):
    """An installed file, registry value or command was not what the installer promises."""


def _log(message: str) -> None:
    print(f"package-windows: {message}", flush=True)


def build_exe(env: WineEnv) -> str:
    """PyInstaller in the Windows Python under Wine; returns the onedir folder."""
    work, dist = os.path.join(env.base, "pyinstaller"), os.path.join(env.base, "dist")
    shutil.rmtree(dist, ignore_errors=True)
    started = time.monotonic()
    res = env.run("-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", to_windows(dist),
                  "--workpath", to_windows(work), to_windows(SPEC), flavour="tk", timeout=1200)
    if res.returncode:
        raise CheckFailed("PyInstaller failed:\n" + res.stderr.decode("utf-8", "replace")[-4000:])
    folder = os.path.join(dist, "shareguard")
    _log(f"PyInstaller built {folder} in {time.monotonic() - started:.0f} s")
    return folder


def build_installer(payload: str) -> str:
    """makensis, 64-bit Unicode target; returns the installer's path under dist/."""
    os.makedirs(DIST, exist_ok=True)
    out = os.path.join(DIST, f"ShareGuard-{__version__}-setup.exe")
    cmd = ["makensis", "-V2", "-XTarget amd64-unicode", f"-DVERSION={__version__}", f"-DPAYLOAD={payload}",
           f"-DOUTFILE={out}", NSI]
    res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if res.returncode:
        raise CheckFailed("makensis failed:\n" + res.stdout[-3000:] + res.stderr[-3000:])
    with open(out, "rb") as f:
        head = f.read(4096)
    pe = int.from_bytes(head[0x3C:0x40], "little")
    if head[pe + 4:pe + 6] != b"\x64\x86":  # IMAGE_FILE_MACHINE_AMD64
        raise CheckFailed(f"{out} is not a 64-bit (x64) executable")
    _log(f"makensis built {out} ({os.path.getsize(out) // 1024} KiB, x64)")
    return out


def installed_path(env: WineEnv, windows_path: str) -> str:
    """A ``C:\\...`` path inside the Wine prefix, as a Linux path."""
    drive, rest = windows_path.split(":", 1)
    assert drive.upper() == "C"
    return os.path.join(env.prefix, "drive_c", *[p for p in rest.split("\\") if p])


def reg_values(env: WineEnv, key: str) -> Optional[Dict[str, str]]:
    """The values of a registry key as ``{name: data}`` (``reg query``), or None when it is missing."""
    res = env.wine("reg", "query", key, check=False)
    if res.returncode:
        return None
    values = {}
    for line in res.stdout.decode("utf-8", "replace").splitlines():
        parts = line.strip().split(None, 2)
        if len(parts) >= 2 and parts[1].startswith("REG_"):
            values[parts[0]] = parts[2] if len(parts) == 3 else ""
    return values


def run_installed(env: WineEnv, *args: str, environ: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run the installed ``shareguard.exe`` with ``args``; output captured as bytes."""
    exe = installed_path(env, INSTALL_DIR + r"\shareguard.exe")
    # Pipes, not files, for the standard streams: Wine 8 kills a program whose stream is a plain file.
    return subprocess.run([wine_env.WINE, exe, *args], env=environ or env.default_env or env.env(),
                          stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=180)


def _wait_gone(path: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(path):
            return True
        time.sleep(0.5)
    return not os.path.exists(path)


def install_check_uninstall(env: WineEnv, installer: str,
                            while_installed: Optional[Callable[[WineEnv], None]] = None) -> Dict[str, object]:
    """Silent install, checks, silent uninstall; returns what was seen.

    ``while_installed`` runs more checks (tests/wine) before the uninstall.
    """
    seen: Dict[str, object] = {}
    res = env.wine(installer, "/S", check=False, timeout=300)
    if res.returncode:
        raise CheckFailed(f"silent install exited {res.returncode}")
    missing = [p for p in INSTALLED if not os.path.exists(installed_path(env, INSTALL_DIR + "\\" + p))]
    if missing:
        raise CheckFailed(f"not installed in {INSTALL_DIR}: {', '.join(missing)}")
    run = reg_values(env, RUN_KEY) or {}
    expected_run = f'"{INSTALL_DIR}\\shareguardw.exe" run'
    if run.get("ShareGuard") != expected_run:
        raise CheckFailed(f"{RUN_KEY}\\ShareGuard is {run.get('ShareGuard')!r}, expected {expected_run!r}")
    uninstall = reg_values(env, UNINSTALL_KEY) or {}
    for name, want in (("DisplayName", "ShareGuard"), ("DisplayVersion", __version__),
                       ("InstallLocation", INSTALL_DIR),
                       ("QuietUninstallString", f'"{INSTALL_DIR}\\uninstall.exe" /S')):
        if uninstall.get(name) != want:
            raise CheckFailed(f"{UNINSTALL_KEY}\\{name} is {uninstall.get(name)!r}, expected {want!r}")
    _log(f"installed: files, Run value and uninstall entry as expected in {INSTALL_DIR}")

    version = run_installed(env, "--version")
    seen["version"] = version.stdout.decode("utf-8", "replace").strip()
    if version.returncode or seen["version"] != f"shareguard {__version__}":
        raise CheckFailed(f"shareguard.exe --version: exit {version.returncode}, {seen['version']!r} "
                          + version.stderr.decode("utf-8", "replace")[-2000:])
    scan = run_installed(env, "scan", "--json")
    if scan.returncode:
        raise CheckFailed(f"shareguard.exe scan --json exited {scan.returncode}: "
                          + scan.stderr.decode("utf-8", "replace")[-3000:])
    verdict = json.loads(scan.stdout.decode("utf-8"))  # UTF-8 even on an English Windows (bug 1)
    seen["scan"] = verdict
    _log(f"installed shareguard.exe: {seen['version']}; scan --json alert={verdict['alert']}")
    if while_installed is not None:
        while_installed(env)

    uninstaller = installed_path(env, INSTALL_DIR + r"\uninstall.exe")
    env.wine(uninstaller, "/S", check=False, timeout=300)
    # NSIS's uninstaller copies itself to %TEMP% and returns at once: wait for its work.
    folder = installed_path(env, INSTALL_DIR)
    if not _wait_gone(folder, 120):
        left = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        raise CheckFailed(f"uninstall left {folder}: {left}")
    if "ShareGuard" in (reg_values(env, RUN_KEY) or {}):
        raise CheckFailed(f"uninstall left {RUN_KEY}\\ShareGuard")
    if reg_values(env, UNINSTALL_KEY) is not None:
        raise CheckFailed(f"uninstall left {UNINSTALL_KEY}")
    _log("uninstalled: folder, Run value and uninstall entry removed")
    return seen


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="also install silently under Wine, check, and uninstall (CI)")
    args = parser.parse_args(argv)
    try:
        env = wine_env.provision()
        server = env.keep_server()
        try:
            installer = build_installer(build_exe(env))
            if args.check:
                install_check_uninstall(env, installer)
        finally:
            env.stop()
            server.wait(timeout=60)
    except (wine_env.WineUnavailable, CheckFailed) as exc:
        print(f"package-windows: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
