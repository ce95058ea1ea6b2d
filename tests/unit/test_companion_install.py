"""`shareguard browser install|uninstall|status`: manifests, registry keys, launcher, .crx."""

import json
import os
import struct
import subprocess

import pytest

from agent.companion import CHROMIUM_ID, FIREFOX_ID, HOST_NAME, extension, install, protocol


def layout(tmp_path, platform="linux", scope="user"):
    return install.Layout(platform=platform, scope=scope, home=str(tmp_path / "home"), root=str(tmp_path / "root"),
                          environ={"LOCALAPPDATA": str(tmp_path / "local"), "ProgramData": str(tmp_path / "pd")})


def test_user_install_writes_each_browsers_manifest_and_a_working_launcher(tmp_path):
    lay = layout(tmp_path)
    install.install(lay)
    home = tmp_path / "home"
    chromium = json.loads((home / ".config/chromium/NativeMessagingHosts" / f"{HOST_NAME}.json").read_text())
    firefox = json.loads((home / ".mozilla/native-messaging-hosts" / f"{HOST_NAME}.json").read_text())
    assert chromium["allowed_origins"] == [f"chrome-extension://{CHROMIUM_ID}/"] and chromium["type"] == "stdio"
    assert firefox["allowed_extensions"] == [FIREFOX_ID]
    for sub in (".config/google-chrome/NativeMessagingHosts", ".config/microsoft-edge/NativeMessagingHosts"):
        assert (home / sub / f"{HOST_NAME}.json").exists()
    assert all(row["registered"] for row in install.status(lay))
    # The launcher really runs the host: one framed hello in, one ack out, exit 0 at end of input.
    body = json.dumps({"type": "hello", "browser": "chromium"}).encode()
    env = dict(os.environ, SHAREGUARD_COMPANION_CHANNEL=str(tmp_path / "none" / "companion.sock"))
    done = subprocess.run([chromium["path"], f"chrome-extension://{CHROMIUM_ID}/"],
                          input=struct.pack("=I", len(body)) + body,
                          capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    reply = json.loads(protocol.read_frame(__import__("io").BytesIO(done.stdout)))
    assert reply == {"type": "ack", "seq": 0, "agent": False}
    assert b"agent not reachable" in done.stderr


def test_uninstall_removes_everything_and_status_says_so(tmp_path):
    lay = layout(tmp_path)
    install.install(lay)
    install.uninstall(lay)
    assert not any(row["registered"] for row in install.status(lay))
    assert not os.path.exists(lay.launcher_path())


def test_status_names_a_broken_registration(tmp_path):
    lay = layout(tmp_path)
    install.install(lay, ["chromium"])
    os.unlink(lay.launcher_path())
    row = [r for r in install.status(lay) if r["browser"] == "chromium"][0]
    assert not row["registered"] and "launcher" in row["problem"]


def test_system_install_uses_the_machine_folders_and_loads_the_extension_on_debian(tmp_path):
    lay = layout(tmp_path, scope="system")
    install.install(lay, extension_ids=["abcdefghijklmnopabcdefghijklmnop"])
    root = tmp_path / "root"
    manifest = json.loads((root / "etc/chromium/native-messaging-hosts" / f"{HOST_NAME}.json").read_text())
    assert (root / "usr/lib/mozilla/native-messaging-hosts" / f"{HOST_NAME}.json").exists()
    assert (root / "etc/opt/chrome/native-messaging-hosts" / f"{HOST_NAME}.json").exists()
    unpacked = root / "usr/share/chromium/extensions/shareguard-companion"
    assert json.loads((unpacked / "manifest.json").read_text())["key"] == extension.manifest("chromium")["key"]
    assert set(manifest["allowed_origins"]) == {f"chrome-extension://{i}/" for i in
                                                (CHROMIUM_ID, "abcdefghijklmnopabcdefghijklmnop")}
    install.uninstall(lay)
    assert not unpacked.exists() and not (root / "etc/chromium/native-messaging-hosts" / f"{HOST_NAME}.json").exists()


def test_pack_signs_a_crx3_whose_id_follows_the_key(tmp_path, capsys):
    from agent.cli import main

    assert main(["browser", "pack", str(tmp_path / "a.crx"), "--key", str(tmp_path / "k.pem")]) == 0
    first = extension.crx_id(str(tmp_path / "a.crx"))
    assert first and first in capsys.readouterr().out
    assert oct(os.stat(tmp_path / "k.pem").st_mode & 0o777) == "0o600"
    assert extension.build_crx(str(tmp_path / "b.crx"), str(tmp_path / "k.pem")) == first  # same key, same id
    data = open(tmp_path / "a.crx", "rb").read()
    assert data[:8] == b"Cr24\x03\x00\x00\x00"
    assert extension.build_crx(str(tmp_path / "c.crx"), str(tmp_path / "other.pem")) != first


def test_macos_folders(tmp_path):
    lay = layout(tmp_path, platform="darwin")
    assert lay.manifest_dir("chrome").endswith("Library/Application Support/Google/Chrome/NativeMessagingHosts")
    assert layout(tmp_path, "darwin", "system").manifest_dir("firefox").endswith(
        "/Library/Application Support/Mozilla/NativeMessagingHosts")


class FakeWinreg:
    HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_WRITE, KEY_READ, REG_SZ = "HKCU", "HKLM", 2, 1, 1

    def __init__(self):
        self.keys = {}

    def CreateKeyEx(self, hive, path, reserved, access):
        self.keys.setdefault((hive, path), {})
        return (hive, path)

    def OpenKey(self, hive, path, reserved, access):
        if (hive, path) not in self.keys:
            raise FileNotFoundError(path)
        return (hive, path)

    def SetValueEx(self, key, name, reserved, kind, value):
        self.keys[key][name] = value

    def QueryValueEx(self, key, name):
        return self.keys[key][name], self.REG_SZ

    def DeleteKey(self, hive, path):
        if self.keys.pop((hive, path), None) is None:
            raise FileNotFoundError(path)

    def CloseKey(self, key):
        pass


@pytest.mark.parametrize("scope, hive", [("user", "HKCU"), ("system", "HKLM")])
def test_windows_registers_each_browser_in_the_registry(tmp_path, scope, hive):
    reg = FakeWinreg()
    lay = layout(tmp_path, platform="windows", scope=scope)
    install.install(lay, winreg=reg)
    assert set(reg.keys) == {(hive, key) for key in install.REGISTRY_KEYS.values()}
    chrome = reg.keys[(hive, r"Software\Google\Chrome\NativeMessagingHosts" + "\\" + HOST_NAME)][""]
    firefox = reg.keys[(hive, r"Software\Mozilla\NativeMessagingHosts" + "\\" + HOST_NAME)][""]
    assert chrome.endswith(f"{HOST_NAME}.chromium.json") and firefox.endswith(f"{HOST_NAME}.firefox.json")
    assert json.load(open(firefox))["allowed_extensions"] == [FIREFOX_ID]
    launcher = json.load(open(chrome))["path"]
    assert launcher.endswith(".bat") and "native-host %*" in open(launcher).read()
    assert all(r["registered"] for r in install.status(lay, winreg=reg))
    install.uninstall(lay, winreg=reg)
    assert reg.keys == {}


def test_repository_extension_id_matches_its_key():
    import base64

    key = base64.b64decode(extension.manifest("chromium")["key"])
    assert extension.extension_id(key) == CHROMIUM_ID


def test_built_trees_share_the_code_and_differ_in_manifest(tmp_path):
    chromium = extension.build_tree("chromium", str(tmp_path / "c"))
    firefox = extension.build_tree("firefox", str(tmp_path / "f"))
    for name in extension.CODE_FILES:
        assert open(os.path.join(chromium, name)).read() == open(os.path.join(firefox, name)).read()
    fm = json.load(open(os.path.join(firefox, "manifest.json")))
    cm = json.load(open(os.path.join(chromium, "manifest.json")))
    assert fm["browser_specific_settings"]["gecko"]["id"] == FIREFOX_ID
    assert fm["background"] == {"scripts": ["background.js"]}
    assert cm["background"] == {"service_worker": "background.js"}
    assert cm["manifest_version"] == fm["manifest_version"] == 3
    assert sorted(cm["permissions"]) == sorted(fm["permissions"]) == ["nativeMessaging", "tabs"]
