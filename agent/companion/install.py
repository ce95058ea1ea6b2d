"""Registering the native-messaging host with the browsers, and loading the extension.

``shareguard browser install|uninstall|status`` for Chrome, Chromium, Edge
and Firefox, per user (``--user``, the default) or for every user of the
machine (``--system``, as root/administrator):

* Linux and macOS: a host manifest ``org.shareguard.companion.json`` in each
  browser's NativeMessagingHosts folder (:data:`MANIFEST_DIRS`);
* Windows: the manifest in ShareGuard's own folder and a registry key per
  browser whose default value is its path (:data:`REGISTRY_KEYS`);
* the host itself is a small launcher that runs ``shareguard native-host``
  with this installation's Python (a browser passes its own arguments).

Where the browser allows it without a store, ``--system`` also loads the
extension: Debian's Chromium loads the unpacked folders in
``/usr/share/chromium/extensions/``. Everything else (Chrome, Edge and
Firefox fleets) is policy: docs/it-deployment.md.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from agent.companion import CHROMIUM_ID, FIREFOX_ID, HOST_NAME

BROWSERS = ("chrome", "chromium", "edge", "firefox")
SCOPES = ("user", "system")

#: (platform, scope, browser) -> folder of host manifests ("~" = the user's home).
MANIFEST_DIRS: Dict[tuple, str] = {
    ("linux", "user", "chrome"): "~/.config/google-chrome/NativeMessagingHosts",
    ("linux", "user", "chromium"): "~/.config/chromium/NativeMessagingHosts",
    ("linux", "user", "edge"): "~/.config/microsoft-edge/NativeMessagingHosts",
    ("linux", "user", "firefox"): "~/.mozilla/native-messaging-hosts",
    ("linux", "system", "chrome"): "/etc/opt/chrome/native-messaging-hosts",
    ("linux", "system", "chromium"): "/etc/chromium/native-messaging-hosts",
    ("linux", "system", "edge"): "/etc/opt/edge/native-messaging-hosts",
    ("linux", "system", "firefox"): "/usr/lib/mozilla/native-messaging-hosts",
    ("darwin", "user", "chrome"): "~/Library/Application Support/Google/Chrome/NativeMessagingHosts",
    ("darwin", "user", "chromium"): "~/Library/Application Support/Chromium/NativeMessagingHosts",
    ("darwin", "user", "edge"): "~/Library/Application Support/Microsoft Edge/NativeMessagingHosts",
    ("darwin", "user", "firefox"): "~/Library/Application Support/Mozilla/NativeMessagingHosts",
    ("darwin", "system", "chrome"): "/Library/Google/Chrome/NativeMessagingHosts",
    ("darwin", "system", "chromium"): "/Library/Application Support/Chromium/NativeMessagingHosts",
    ("darwin", "system", "edge"): "/Library/Microsoft/Edge/NativeMessagingHosts",
    ("darwin", "system", "firefox"): "/Library/Application Support/Mozilla/NativeMessagingHosts",
}

#: Windows: browser -> key under HKCU (user) or HKLM (system); the default value is the manifest path.
REGISTRY_KEYS = {
    "chrome": r"Software\Google\Chrome\NativeMessagingHosts" + "\\" + HOST_NAME,
    "chromium": r"Software\Chromium\NativeMessagingHosts" + "\\" + HOST_NAME,
    "edge": r"Software\Microsoft\Edge\NativeMessagingHosts" + "\\" + HOST_NAME,
    "firefox": r"Software\Mozilla\NativeMessagingHosts" + "\\" + HOST_NAME,
}

#: Debian's Chromium loads every folder in here as an unpacked extension, at each start (seen
#: live: it reports "Failed to load extension from: .../x.json. Manifest file is missing" for a
#: file, so entries are extension folders, not external-extension .json files).
DEBIAN_EXTENSIONS_DIR = "/usr/share/chromium/extensions"
DEBIAN_FOLDER = "shareguard-companion"


@dataclass
class Layout:
    """Where one installation's files go; tests point ``home``/``root`` at a temp folder."""

    platform: str
    scope: str
    home: str
    root: str = ""                      # prefix for system paths (tests)
    environ: Optional[Mapping[str, str]] = None

    def path(self, template: str) -> str:
        if template.startswith("~"):
            return os.path.join(self.home, template[2:])
        return self.root + template if self.root else template

    def manifest_dir(self, browser: str) -> str:
        if self.platform == "windows":
            return os.path.join(self.data_dir(), "native-messaging")
        return self.path(MANIFEST_DIRS[(self.platform, self.scope, browser)])

    def manifest_path(self, browser: str) -> str:
        if self.platform == "windows":
            kind = "firefox" if browser == "firefox" else "chromium"
            return os.path.join(self.manifest_dir(browser), f"{HOST_NAME}.{kind}.json")
        return os.path.join(self.manifest_dir(browser), HOST_NAME + ".json")

    def data_dir(self) -> str:
        """ShareGuard's own folder for the launcher (and, on Windows, the manifests)."""
        env = os.environ if self.environ is None else self.environ
        if self.platform == "windows":
            base = env.get("LOCALAPPDATA", "") if self.scope == "user" else env.get("ProgramData", r"C:\ProgramData")
            return os.path.join(base or self.home, "ShareGuard", "browser")
        if self.scope == "user":
            if self.platform == "darwin":
                return os.path.join(self.home, "Library", "Application Support", "ShareGuard", "browser")
            return os.path.join(env.get("XDG_DATA_HOME") or os.path.join(self.home, ".local", "share"),
                                "shareguard", "browser")
        if self.platform == "darwin":
            return self.path("/Library/Application Support/ShareGuard/browser")
        return self.path("/var/lib/shareguard/browser")

    def launcher_path(self) -> str:
        name = "shareguard-native-host.bat" if self.platform == "windows" else "shareguard-native-host"
        return os.path.join(self.data_dir(), name)


def default_layout(scope: str = "user", platform: Optional[str] = None) -> Layout:
    from agent.policy.paths import current_platform

    return Layout(platform=platform or current_platform(), scope=scope, home=os.path.expanduser("~"))


def launcher_text(platform: str, executable: Optional[str] = None, frozen: Optional[bool] = None) -> str:
    """The host launcher: runs ``shareguard native-host`` with this installation."""
    executable = executable or sys.executable
    frozen = getattr(sys, "frozen", False) if frozen is None else frozen
    command = "native-host" if frozen else "-m agent native-host"
    if platform == "windows":
        return f'@echo off\r\n"{executable}" {command} %*\r\n'
    quoted = "'" + executable.replace("'", "'\\''") + "'"
    return ("#!/bin/sh\n# ShareGuard browser companion host (written by `shareguard browser install`)\n"
            f'exec {quoted} {command} "$@"\n')


def host_manifest(browser: str, launcher: str, extension_ids: Sequence[str] = ()) -> Dict[str, Any]:
    """The native-messaging host manifest for one browser family."""
    out: Dict[str, Any] = {"name": HOST_NAME,
                           "description": "ShareGuard browser companion: relays tab facts to the local agent",
                           "path": launcher, "type": "stdio"}
    if browser == "firefox":
        out["allowed_extensions"] = [FIREFOX_ID]
    else:
        ids = list(dict.fromkeys([CHROMIUM_ID] + [i for i in extension_ids if i]))
        out["allowed_origins"] = [f"chrome-extension://{i}/" for i in ids]
    return out


def _write(path: str, text: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def install(layout: Layout, browsers: Sequence[str] = BROWSERS, extension_ids: Sequence[str] = (),
            winreg: Any = None, load_extension: bool = True) -> List[str]:
    """Register the host for ``browsers``; returns one line per thing done."""
    done: List[str] = []
    launcher = layout.launcher_path()
    _write(launcher, launcher_text(layout.platform), 0o755)
    done.append(f"host launcher: {launcher}")
    ids = list(extension_ids)
    if load_extension and layout.platform == "linux" and layout.scope == "system" and "chromium" in browsers:
        done.append(f"chromium: extension {CHROMIUM_ID} in {_debian_external(layout)} (Debian's Chromium loads it)")
    for browser in browsers:
        path = layout.manifest_path(browser)
        _write(path, json.dumps(host_manifest(browser, launcher, ids), indent=2) + "\n")
        done.append(f"{browser}: host manifest {path}")
        if layout.platform == "windows":
            hive = _hive(winreg, layout.scope)
            key = winreg.CreateKeyEx(hive, REGISTRY_KEYS[browser], 0, winreg.KEY_WRITE)
            try:
                winreg.SetValueEx(key, "", 0, winreg.REG_SZ, path)
            finally:
                winreg.CloseKey(key)
            done.append(f"{browser}: registry {'HKCU' if layout.scope == 'user' else 'HKLM'}\\{REGISTRY_KEYS[browser]}")
    return done


def _debian_external(layout: Layout) -> str:
    """Put the unpacked extension where Debian's Chromium loads it at start (one folder per extension)."""
    from agent.companion import extension

    folder = os.path.join(layout.path(DEBIAN_EXTENSIONS_DIR), DEBIAN_FOLDER)
    extension.build_tree("chromium", folder)
    return folder


def _hive(winreg: Any, scope: str):
    return winreg.HKEY_CURRENT_USER if scope == "user" else winreg.HKEY_LOCAL_MACHINE


def uninstall(layout: Layout, browsers: Sequence[str] = BROWSERS, winreg: Any = None) -> List[str]:
    """Remove what :func:`install` wrote."""
    done: List[str] = []
    for browser in browsers:
        path = layout.manifest_path(browser)
        if os.path.exists(path):
            os.unlink(path)
            done.append(f"{browser}: removed {path}")
            try:
                os.rmdir(os.path.dirname(path))  # only when nothing else is registered there
            except OSError:
                pass
        if layout.platform == "windows":
            try:
                winreg.DeleteKey(_hive(winreg, layout.scope), REGISTRY_KEYS[browser])
                done.append(f"{browser}: removed registry key")
            except OSError:
                pass
    folder = os.path.join(layout.path(DEBIAN_EXTENSIONS_DIR), DEBIAN_FOLDER)
    if layout.platform == "linux" and layout.scope == "system" and "chromium" in browsers and os.path.isdir(folder):
        shutil.rmtree(folder)
        done.append(f"chromium: removed {folder}")
    launcher = layout.launcher_path()
    if not any(os.path.exists(layout.manifest_path(b)) for b in BROWSERS) and os.path.exists(launcher):
        os.unlink(launcher)
        done.append(f"removed {launcher}")
    return done


def status(layout: Layout, winreg: Any = None) -> List[Dict[str, Any]]:
    """Per browser: is the host registered here, and does its launcher exist?"""
    out = []
    for browser in BROWSERS:
        path = layout.manifest_path(browser)
        row: Dict[str, Any] = {"browser": browser, "scope": layout.scope, "manifest": path,
                               "registered": False, "problem": ""}
        if layout.platform == "windows":
            try:
                key = winreg.OpenKey(_hive(winreg, layout.scope), REGISTRY_KEYS[browser], 0, winreg.KEY_READ)
                try:
                    path = winreg.QueryValueEx(key, "")[0]
                finally:
                    winreg.CloseKey(key)
                row["manifest"] = path
            except OSError:
                out.append(row)
                continue
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            out.append(row)
            continue
        except (OSError, ValueError) as exc:
            row["problem"] = f"unreadable manifest: {exc}"
            out.append(row)
            continue
        launcher = data.get("path", "")
        if data.get("name") != HOST_NAME:
            row["problem"] = f"manifest names host {data.get('name')!r}"
        elif not os.path.isfile(launcher):
            row["problem"] = f"host launcher {launcher} is missing"
        elif layout.platform != "windows" and not os.stat(launcher).st_mode & stat.S_IXUSR:
            row["problem"] = f"host launcher {launcher} is not executable"
        else:
            row["registered"] = True
        row["allowed"] = data.get("allowed_origins") or data.get("allowed_extensions") or []
        out.append(row)
    return out
