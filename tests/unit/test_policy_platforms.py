"""Windows registry (Group Policy) and macOS MDM plist sources, the Windows
ACL decision, and the `policy show` / `policy validate` commands."""

import json
import plistlib

import pytest

from agent.cli import main
from agent.policy import _windows_acl, load_policy
from agent.policy import _windows_registry as reg


class FakeWinreg:
    """The part of the winreg module the reader uses, over a dict of values."""

    HKEY_LOCAL_MACHINE = "HKLM"
    KEY_READ = 0x20019

    def __init__(self, values):
        self.values = values          # {subkey: [(name, data, type)]} or None
        self.closed = 0

    def OpenKey(self, root, subkey, reserved, access):
        assert root == "HKLM" and access == self.KEY_READ
        if subkey not in self.values:
            raise FileNotFoundError(subkey)
        return subkey

    def EnumValue(self, handle, i):
        items = self.values[handle]
        if i >= len(items):
            raise OSError(259, "No more data is available")
        return items[i]

    def CloseKey(self, handle):
        self.closed += 1


def test_registry_policy_layers_over_the_file_and_locks(tmp_path):
    fake = FakeWinreg({r"SOFTWARE\Policies\ShareGuard": [
        ("mode", "strict", reg.REG_SZ),
        ("freeze_remote_tools", 0, reg.REG_DWORD),
        ("trusted_apps", ["corp_support", ""], reg.REG_MULTI_SZ),
        ("hotlines", '{"cn": "96110", "hk": "18222"}', reg.REG_SZ),
        ("sinks", '[{"type": "eventlog"}]', reg.REG_SZ),
        ("countdown_seconds", 15, reg.REG_DWORD),
        ("user_overridable", ["countdown_seconds"], reg.REG_MULTI_SZ),
        ("snooze_minutes", b"\x00", 3),                       # REG_BINARY: not supported
    ]})
    user = tmp_path / "settings.yaml"
    user.write_text("mode: balanced\ncountdown_seconds: 30\n")
    policy = load_policy(str(tmp_path / "absent.yaml"), str(user), platform="windows", winreg=fake)
    assert policy.values["mode"] == "strict"
    assert policy.sources["mode"] == r"registry:HKLM\SOFTWARE\Policies\ShareGuard\mode"
    assert policy.values["freeze_remote_tools"] is False
    assert policy.values["trusted_apps"] == ["corp_support"]
    assert policy.values["hotlines"] == {"cn": "96110", "hk": "18222"}
    assert policy.values["sinks"] == [{"type": "eventlog"}]
    assert policy.values["countdown_seconds"] == 30       # user_overridable
    assert "mode" in policy.locked and "countdown_seconds" not in policy.locked
    assert any("snooze_minutes: unsupported registry type 3" in str(p) for p in policy.problems)
    assert fake.closed == 1


def test_registry_bad_json_is_a_problem_not_a_crash(tmp_path):
    fake = FakeWinreg({r"SOFTWARE\Policies\ShareGuard": [("sinks", "[{type: file", reg.REG_SZ)]})
    policy = load_policy(str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), platform="windows", winreg=fake)
    assert policy.values["sinks"] == [{"type": "file"}]
    assert any(r"ShareGuard\sinks: sinks: expected JSON text" in str(p) for p in policy.problems)


def test_no_registry_key_means_no_layer(tmp_path):
    policy = load_policy(str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), platform="windows",
                         winreg=FakeWinreg({}))
    assert not policy.problems and set(policy.sources.values()) == {"default"}


def test_mdm_plist_most_specific_wins(tmp_path):
    general = tmp_path / "com.shareguard.agent.plist"
    per_user = tmp_path / "alice.plist"
    general.write_bytes(plistlib.dumps({"mode": "strict", "allow_quit": False, "PayloadUUID": "x",
                                        "custom_message": "Call IT"}))
    per_user.write_bytes(plistlib.dumps({"custom_message": "Call Alice's IT on %hostname%"}))
    policy = load_policy(str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), platform="darwin",
                         plist_paths=[str(per_user), str(general)])
    assert policy.values["mode"] == "strict" and policy.values["allow_quit"] is False
    assert policy.values["custom_message"] == "Call Alice's IT on %hostname%"
    assert policy.sources["custom_message"] == f"mdm:{per_user}"
    assert {"mode", "allow_quit", "custom_message"} <= policy.locked


def test_broken_plist_is_reported(tmp_path):
    bad = tmp_path / "bad.plist"
    bad.write_bytes(b"not a plist")
    policy = load_policy(str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), platform="darwin",
                         plist_paths=[str(bad)])
    assert any("not a readable property list" in str(p) for p in policy.problems)
    assert policy.notices[0][0] == "policy_rejected"


@pytest.mark.parametrize("owner,aces,insecure", [
    ("S-1-5-32-544", [(0, 0, 0x1F01FF, "S-1-5-18"), (0, 0, 0x1200A9, "S-1-5-32-545")], False),
    ("S-1-5-32-544", [(0, 0, 0x0002, "S-1-5-32-545")], True),        # Users: FILE_WRITE_DATA
    ("S-1-5-32-544", [(0, 0x08, 0x1F01FF, "S-1-3-0")], False),       # inherit-only CREATOR OWNER
    ("S-1-5-32-544", [(1, 0, 0x1F01FF, "S-1-1-0")], False),          # a deny ACE
    ("S-1-5-21-1-2-3-1001", [], True),                               # owned by a user
    ("S-1-5-18", None, True),                                        # NULL DACL
])
def test_windows_acl_decision(owner, aces, insecure):
    assert bool(_windows_acl.decide(owner, aces)) is insecure


def test_policy_validate_command(tmp_path, capsys):
    bad = tmp_path / "p.yaml"
    bad.write_text("mode: strict\ncountdown_seconds: -1\n")
    assert main(["policy", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: countdown_seconds: must be between 0 and 120, got -1" in err
    good = tmp_path / "g.yaml"
    good.write_text("mode: strict\n")
    assert main(["policy", "validate", str(good)]) == 0
    user = tmp_path / "u.yaml"
    user.write_text("trusted_apps: [x]\n")
    assert main(["policy", "validate", "--user", str(user)]) == 2


def test_policy_show_json_names_sources(tmp_path, capsys):
    user = tmp_path / "u.yaml"
    user.write_text("language: en\n")
    assert main(["policy", "show", "--json", "--machine", str(tmp_path / "none.yaml"), "--user", str(user)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["values"]["language"] == "en"
    assert shown["sources"]["language"] == f"user:{user}:1"
    assert shown["sources"]["mode"] == "default"
    assert main(["policy", "show", "--machine", str(tmp_path / "none.yaml"), "--user", str(user)]) == 0
    assert f"<- user:{user}:1" in capsys.readouterr().out
