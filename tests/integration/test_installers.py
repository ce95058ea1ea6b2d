"""Installer sources: the NSIS script compiles, the systemd unit verifies, templates and
profiles parse and carry every policy key, generated files are up to date.

Runs without root. Missing tools skip locally and fail in CI (tests.support.xsession.require).
"""

import os
import plistlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from agent.policy.keys import KEYS
from tests.support.xsession import require_programs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSTALLER = os.path.join(ROOT, "installer")
ADMX_NS = "{http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions}"


def run(*cmd, env=None, cwd=None):
    return subprocess.run(list(cmd), capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


# --------------------------------------------------------------------------- Windows


def test_nsis_script_compiles_against_placeholder_payload(tmp_path):
    require_programs("makensis")
    out = tmp_path / "ShareGuard-setup.exe"
    # -WX: a warning (unknown constant, missing file) is an error, as it would be a broken installer.
    r = run("makensis", "-V2", "-WX", "-DPAYLOAD=placeholder-payload", f"-DOUTFILE={out}", "shareguard.nsi",
            cwd=os.path.join(INSTALLER, "windows"))
    assert r.returncode == 0, r.stdout + r.stderr
    data = out.read_bytes()
    assert data[:2] == b"MZ" and len(data) > 10_000


def test_nsis_script_is_per_machine_and_silent_capable():
    with open(os.path.join(INSTALLER, "windows", "shareguard.nsi"), encoding="utf-8") as fh:
        nsi = fh.read()
    assert "RequestExecutionLevel admin" in nsi
    assert '"$PROGRAMFILES64\\${APP}"' in nsi
    assert 'WriteRegStr HKLM "${RUN_KEY}"' in nsi            # every user at logon
    assert "QuietUninstallString" in nsi and "/S" in nsi
    assert 'DeleteRegValue HKLM "${RUN_KEY}"' in nsi         # uninstall undoes autostart


def admx_policies():
    tree = ET.parse(os.path.join(INSTALLER, "windows", "admx", "ShareGuard.admx"))
    return {p.get("name"): p for p in tree.iter(ADMX_NS + "policy")}


def test_admx_has_every_policy_key_under_the_registry_key():
    policies = admx_policies()
    assert set(policies) == {k.name for k in KEYS}
    for name, policy in policies.items():
        assert policy.get("key") == r"SOFTWARE\Policies\ShareGuard"
        assert policy.get("class") == "Machine"
        value_names = {policy.get("valueName")} | {e.get("valueName") for e in policy.iter() if e.get("valueName")}
        assert name in value_names, f"{name}: registry value must be named like the policy key"


@pytest.mark.parametrize("lang", ["en-US", "zh-CN"])
def test_adml_defines_every_string_and_presentation(lang):
    admx_text = open(os.path.join(INSTALLER, "windows", "admx", "ShareGuard.admx"), encoding="utf-8").read()
    tree = ET.parse(os.path.join(INSTALLER, "windows", "admx", lang, "ShareGuard.adml"))
    strings = {s.get("id"): s.text or "" for s in tree.iter(ADMX_NS + "string")}
    presentations = {p.get("id") for p in tree.iter(ADMX_NS + "presentation")}
    for ref in re.findall(r"\$\(string\.([^)]+)\)", admx_text):
        assert strings.get(ref), f"{lang}: string {ref} missing or empty"
    for ref in re.findall(r"\$\(presentation\.([^)]+)\)", admx_text):
        assert ref in presentations, f"{lang}: presentation {ref} missing"
    if lang == "zh-CN":
        assert re.search(r"[\u4e00-\u9fff]", strings["mode"]), "zh-CN names must be Chinese"


def test_generated_files_are_up_to_date():
    for tool in ("gen_admx.py",):
        r = run(sys.executable, os.path.join(ROOT, "tools", tool), "--check")
        assert r.returncode == 0, r.stderr
    from tools.gen_policy_example import render
    with open(os.path.join(INSTALLER, "linux", "policy.yaml"), encoding="utf-8") as fh:
        assert fh.read() == render(), "installer/linux/policy.yaml is stale: run python tools/gen_policy_example.py"


def test_admx_generator_refuses_key_without_chinese_text():
    from tools import gen_admx

    class Key:
        name, type, default, description = "brand_new_key", "boolean", True, "New."

    with pytest.raises(gen_admx.GenError, match="brand_new_key"):
        gen_admx.outputs(list(KEYS) + [Key()])


def test_pyinstaller_spec_and_entry_point_are_valid_python():
    for name in ("shareguard.spec", "shareguard_entry.py"):
        with open(os.path.join(INSTALLER, "windows", name), encoding="utf-8") as fh:
            compile(fh.read(), name, "exec")


# --------------------------------------------------------------------------- Linux


def test_example_policy_is_inert_and_every_line_is_valid(tmp_path):
    import yaml

    from agent.policy.validate import validate_file, validate_mapping

    path = os.path.join(INSTALLER, "linux", "policy.yaml")
    mapping, _lines, problems = validate_file(path)
    assert not problems and not mapping, "the shipped example must change nothing"
    with open(path, encoding="utf-8") as fh:
        body = fh.read().split("\n\n", 1)[1]          # after the header
    uncommented = "\n".join(line[2:] if line.startswith("# ") else "" for line in body.split("\n")
                            if not line.startswith("##"))
    values = yaml.safe_load(uncommented)
    assert set(values) == {k.name for k in KEYS}
    _values, problems = validate_mapping(values, "example")
    assert not problems, problems


def test_systemd_user_unit_verifies(tmp_path):
    require_programs("systemd-analyze")
    with open(os.path.join(INSTALLER, "linux", "shareguard.service"), encoding="utf-8") as fh:
        unit = fh.read()
    assert re.search(r"^Restart=always$", unit, re.M)
    assert re.search(r"^WantedBy=graphical-session.target$", unit, re.M)
    # ExecStart names /usr/bin/shareguard, which exists only once the package is installed
    # (test_deb_package verifies the installed unit); here it points at a stand-in executable.
    stand_in = tmp_path / "shareguard"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    copy = tmp_path / "shareguard.service"
    copy.write_text(unit.replace("/usr/bin/shareguard", str(stand_in)))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    r = run("systemd-analyze", "--user", "verify", str(copy), env=dict(os.environ, XDG_RUNTIME_DIR=str(runtime)))
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


def test_systemd_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a bad directive makes systemd-analyze complain."""
    require_programs("systemd-analyze")
    copy = tmp_path / "broken.service"
    copy.write_text("[Service]\nExecStart=/bin/true\nRestart=sometimes\n")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    r = run("systemd-analyze", "--user", "verify", str(copy), env=dict(os.environ, XDG_RUNTIME_DIR=str(runtime)))
    assert "restart" in r.stderr.lower()


def test_autostart_desktop_entry_validates():
    require_programs("desktop-file-validate")
    path = os.path.join(INSTALLER, "linux", "shareguard.desktop")
    r = run("desktop-file-validate", path)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr
    text = open(path, encoding="utf-8").read()
    assert "Exec=/usr/lib/shareguard/session-start" in text and "Name[zh_CN]=" in text


def test_shell_scripts_parse():
    scripts = [os.path.join(INSTALLER, "linux", n) for n in
               ("build-deb.sh", "shareguard-wrapper.sh", "session-start.sh", "debian/postinst", "debian/prerm",
                "debian/postrm")]
    scripts += [os.path.join(INSTALLER, "macos", n)
                for n in ("build-pkg.sh", "scripts/preinstall", "scripts/postinstall")]
    for script in scripts:
        shell = "bash" if script.endswith(".sh") and "build" in script else "sh"
        r = run(shell, "-n", script)
        assert r.returncode == 0, f"{script}: {r.stderr}"


# --------------------------------------------------------------------------- macOS


def test_launch_agent_plist():
    with open(os.path.join(INSTALLER, "macos", "com.shareguard.agent.plist"), "rb") as fh:
        plist = plistlib.load(fh)
    assert plist["Label"] == "com.shareguard.agent"
    assert plist["KeepAlive"] is True and plist["RunAtLoad"] is True
    assert plist["ProgramArguments"][0].startswith("/Applications/ShareGuard.app/")
    assert plist.get("LimitLoadToSessionType") == "Aqua"


def test_mobileconfig_carries_valid_policy_keys():
    from agent.policy.validate import validate_mapping

    with open(os.path.join(INSTALLER, "macos", "ShareGuard.mobileconfig"), "rb") as fh:
        profile = plistlib.load(fh)
    assert profile["PayloadType"] == "Configuration" and profile["PayloadScope"] == "System"
    payloads = [p for p in profile["PayloadContent"] if p["PayloadType"] == "com.shareguard.agent"]
    assert len(payloads) == 1
    settings = {k: v for k, v in payloads[0].items() if not k.startswith("Payload")}
    known = {k.name for k in KEYS}
    assert settings and set(settings) <= known, set(settings) - known
    _values, problems = validate_mapping(settings, "mobileconfig")
    assert not problems, problems
    uuids = [profile["PayloadUUID"]] + [p["PayloadUUID"] for p in profile["PayloadContent"]]
    assert len(set(uuids)) == len(uuids) and all(re.fullmatch(r"[0-9A-F-]{36}", u) for u in uuids)


def test_plutil_lint_when_available():
    if shutil.which("plutil") is None:
        pytest.skip("plutil exists only on macOS; plistlib parsed the files above")
    for name in ("com.shareguard.agent.plist", "ShareGuard.mobileconfig"):
        r = run("plutil", "-lint", os.path.join(INSTALLER, "macos", name))
        assert r.returncode == 0, r.stdout
