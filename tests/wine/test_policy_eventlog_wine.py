"""Machine policy (registry and file ACL) and the Event Log sink, in a Windows Python under Wine.

- ``HKLM\\SOFTWARE\\Policies\\ShareGuard`` written with Wine's ``reg.exe`` is read
  by ``shareguard policy show`` with its sources (the Group Policy path).
- ``%ProgramData%\\ShareGuard\\policy.yaml`` created by a normal user is refused by
  the real owner/DACL check (GetNamedSecurityInfoW), and its value is not applied.
- The Event Log sink's ReportEventW call reaches Wine's advapi32 with the JSON
  event intact. Wine limit: Wine has no Event Log to read back (its eventlog
  service only traces), so Event Viewer/wevtutil proof needs a real Windows.
"""

import os

import pytest

from tests.support import wine

KEY = r"HKLM\SOFTWARE\Policies\ShareGuard"


@pytest.fixture
def clean_policy(winenv):
    """No registry policy and no machine policy file before and after the test."""
    folder = os.path.join(winenv.prefix, "drive_c", "ProgramData", "ShareGuard")

    def clean():
        winenv.wine("reg", "delete", KEY, "/f", check=False)
        if os.path.exists(os.path.join(folder, "policy.yaml")):
            os.remove(os.path.join(folder, "policy.yaml"))
    clean()
    yield folder
    clean()


def _policy_show(env):
    res = env.run(wine.HARNESS, "cli", "policy", "show", timeout=120)
    assert res.returncode == 0, wine.decode(res.stderr)[-3000:]
    return res.stdout.decode("utf-8")


def _row(text, key):
    return next(line for line in text.splitlines() if line.startswith(key + " "))


def test_registry_policy_is_read_with_its_sources(winenv, clean_policy):
    winenv.wine("reg", "add", KEY, "/v", "mode", "/t", "REG_SZ", "/d", "monitor", "/f")
    winenv.wine("reg", "add", KEY, "/v", "countdown_seconds", "/t", "REG_DWORD", "/d", "7", "/f")
    text = _policy_show(winenv)
    assert _row(text, "mode").split()[1:3] == ['"monitor"', "<-"]
    assert "registry:HKLM\\SOFTWARE\\Policies\\ShareGuard\\mode" in _row(text, "mode")
    assert _row(text, "countdown_seconds").split()[1] == "7"
    assert "registry:HKLM\\SOFTWARE\\Policies\\ShareGuard\\countdown_seconds" in _row(text, "countdown_seconds")
    assert _row(text, "snooze_minutes").endswith("<- default")


def test_user_owned_machine_policy_file_is_refused_by_the_acl_check(winenv, clean_policy):
    os.makedirs(clean_policy, exist_ok=True)
    with open(os.path.join(clean_policy, "policy.yaml"), "w", encoding="utf-8") as f:
        f.write("mode: strict\n")
    text = _policy_show(winenv)
    assert _row(text, "mode").split()[1] == '"balanced"', text  # not applied
    res = winenv.run("-c", "from agent.policy import _windows_acl as acl\n"
                           "print(acl.insecure_reason(r'C:\\ProgramData\\ShareGuard\\policy.yaml'))")
    reason = res.stdout.decode("utf-8").strip()
    # Wine's files belong to the Unix user's SID (S-1-5-21-...-1000), like a normal user's.
    assert reason.startswith("owned by S-1-5-21-") and "not by Administrators/SYSTEM" in reason, reason


def test_event_log_sink_reaches_report_event(winenv):
    env = dict(winenv.default_env, WINEDEBUG="-all,+eventlog")  # Wine traces what ReportEventW was given
    code = ("from agent.sinks.eventlog import EventLogWriter\n"
            "w = EventLogWriter()\n"
            "print(w.write('{\"type\":\"alert_raised\",\"bank\":\"招商银行\"}'.encode(),"
            " {'type': 'alert_raised', 'severity': 'alert'}))\n"
            "w.close()\n")
    res = winenv.run("-c", code, env=env)
    assert res.returncode == 0 and res.stdout.decode().strip() == "True", wine.decode(res.stderr)[-2000:]
    trace = wine.decode(res.stderr)
    # The insertion string arrives whole, CJK included (Wine prints it as \\uXXXX escapes).
    assert 'ReportEventW L"{\\"type\\":\\"alert_raised\\",\\"bank\\":\\"\\62db\\5546\\94f6\\884c\\"}"' in trace, trace
