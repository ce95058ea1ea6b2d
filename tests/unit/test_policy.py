"""Policy: layering, locking, machine-only keys, insecure files, file:line errors."""

import os
import textwrap

import pytest

from agent.policy import KEYS, expand, load_policy, validate_mapping
from agent.policy.validate import validate_file


def _write(path, text, mode=0o644):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    os.chmod(path, mode)
    return str(path)


@pytest.fixture
def files(tmp_path):
    # tmp_path is root-owned 0700 when the suite runs as root (CI); as a
    # normal user the machine file would not be root-owned, so the tests
    # that want a trusted machine file switch the ownership check off.
    secure = (lambda p: None) if os.geteuid() != 0 else None
    return tmp_path, secure


def test_defaults_come_from_the_key_table(tmp_path):
    policy = load_policy(str(tmp_path / "none.yaml"), str(tmp_path / "none2.yaml"))
    for key in KEYS:
        if key.scope != "meta":
            assert policy.values[key.name] == key.default
            assert policy.sources[key.name] == "default"
    assert policy.locked == frozenset()
    assert policy.engine_policy().mode == "balanced"


def test_user_overrides_machine_default_but_not_a_locked_key(files):
    tmp, secure = files
    machine = _write(tmp / "policy.yaml", """\
        mode: strict
        snooze_minutes: 5
        language: zh_CN
        user_overridable: [language]
        locked: [allow_quit]
        """)
    user = _write(tmp / "settings.yaml", """\
        mode: monitor
        language: en
        allow_quit: false
        countdown_seconds: 20
        """)
    policy = load_policy(machine, user, insecure_check=secure)
    # Set by the machine -> locked: the user file cannot unlock it.
    assert policy.values["mode"] == "strict"
    assert policy.sources["mode"] == f"machine:{machine}:1"
    assert "mode" in policy.locked
    # user_overridable: the machine value is only a default.
    assert policy.values["language"] == "en" and policy.sources["language"] == f"user:{user}:2"
    # locked without a machine value: pinned at the built-in default.
    assert policy.values["allow_quit"] is True and "allow_quit" in policy.locked
    # Not mentioned by the machine: the user decides.
    assert policy.values["countdown_seconds"] == 20
    warnings = [str(p) for p in policy.problems]
    assert any(f"{user}:1: mode: locked by the machine policy" in w for w in warnings)
    assert any(f"{user}:3: allow_quit: locked" in w for w in warnings)
    assert policy.engine_policy().mode == "strict"
    assert policy.engine_policy().snooze_minutes == 5


def test_user_cannot_set_machine_only_keys(files):
    tmp, _ = files
    user = _write(tmp / "settings.yaml", """\
        trusted_apps: [anydesk]
        sinks: []
        events_include_titles: true
        mode: strict
        """)
    policy = load_policy(str(tmp / "absent.yaml"), user)
    assert policy.values["trusted_apps"] == []
    assert policy.values["sinks"] == [{"type": "file"}]
    assert policy.values["events_include_titles"] is False
    assert policy.values["mode"] == "strict"
    messages = [str(p) for p in policy.problems]
    assert any(f"{user}:1: trusted_apps: only the machine policy may set this key" in m for m in messages)


def test_user_file_cannot_lock_or_unlock(files):
    tmp, secure = files
    machine = _write(tmp / "policy.yaml", "allow_pause: false\n")
    user = _write(tmp / "settings.yaml", "user_overridable: [allow_pause]\nallow_pause: true\n")
    policy = load_policy(machine, user, insecure_check=secure)
    assert policy.values["allow_pause"] is False and "allow_pause" in policy.locked


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="ownership checks need root to set up")
@pytest.mark.parametrize("how", ["world-writable", "not-root-owned", "writable-parent"])
def test_insecure_machine_file_is_ignored_with_an_event(tmp_path, how):
    folder = tmp_path / "etc"
    folder.mkdir()
    machine = _write(folder / "policy.yaml", "mode: monitor\ntrusted_apps: [anydesk]\n")
    if how == "world-writable":
        os.chmod(machine, 0o666)
    elif how == "not-root-owned":
        os.chown(machine, 65534, 65534)
    else:
        os.chmod(folder, 0o777)
    policy = load_policy(machine, str(tmp_path / "none.yaml"))
    assert policy.values["mode"] == "balanced"
    assert policy.values["trusted_apps"] == []
    assert policy.sources["mode"] == "default"
    [(type_, fields)] = policy.notices
    assert type_ == "policy_insecure" and fields["source"] == machine
    assert "ignored: a non-administrator could change it" in str(policy.problems[0])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root-owned temp dirs")
def test_root_owned_machine_file_is_trusted(tmp_path):
    machine = _write(tmp_path / "policy.yaml", "mode: monitor\n")
    policy = load_policy(machine, str(tmp_path / "none.yaml"))
    assert policy.values["mode"] == "monitor" and not policy.notices


def test_bad_values_give_file_line_and_keep_the_last_good_value(files):
    tmp, secure = files
    machine = tmp / "policy.yaml"
    _write(machine, "mode: strict\nsnooze_minutes: 5\n")
    good = load_policy(str(machine), str(tmp / "none.yaml"), insecure_check=secure)
    _write(machine, "snooze_minutes: 7\nmode: strik\nhelp_url: 'https://x/?h=%hostnme%'\n")
    policy = load_policy(str(machine), str(tmp / "none.yaml"), insecure_check=secure, previous=good)
    assert policy.values["mode"] == "strict"          # last good
    assert policy.values["snooze_minutes"] == 7       # the valid new value applies
    assert "(last good)" in policy.sources["mode"]
    messages = [str(p) for p in policy.problems]
    assert f"{machine}:2: mode: must be one of monitor, balanced, strict, got 'strik'" in messages
    assert any(m.startswith(f"{machine}:3: help_url: unknown placeholder %hostnme%") for m in messages)
    [(type_, fields)] = policy.notices
    assert type_ == "policy_rejected" and fields["kept_last_good"] is True


def test_unparsable_file_keeps_the_whole_last_good_layer(files):
    tmp, secure = files
    machine = tmp / "policy.yaml"
    _write(machine, "mode: strict\n")
    good = load_policy(str(machine), str(tmp / "none.yaml"), insecure_check=secure)
    _write(machine, "mode: strict\n  bad: [indent\n")
    policy = load_policy(str(machine), str(tmp / "none.yaml"), insecure_check=secure, previous=good)
    assert policy.values["mode"] == "strict"
    assert policy.problems[0].line >= 1 and "not valid YAML" in policy.problems[0].message


def test_validate_mapping_for_replay_overrides():
    values, problems = validate_mapping({"mode": "strict", "snooze_minutes": "ten", "colour": 1},
                                        "case.yaml", {"mode": 3, "snooze_minutes": 4, "colour": 5},
                                        layer="replay")
    assert values == {"mode": "strict"}
    assert [str(p) for p in problems] == [
        "case.yaml:4: snooze_minutes: expected a number, got 'ten'",
        "case.yaml:5: unknown key 'colour' ignored",
    ]
    assert problems[1].severity == "warning"


def test_duplicate_keys_and_sink_checks(tmp_path):
    path = _write(tmp_path / "p.yaml", """\
        mode: strict
        sinks:
          - {type: syslog, host: 10.0.0.9, protocol: tls}
        mode: balanced
        """)
    values, _, problems = validate_file(path)
    messages = [str(p) for p in problems]
    assert f"{path}:4: mode: set twice (first on line 1); the later value would win, remove one" in messages
    assert any(m.startswith(f"{path}:3: sinks: sink #1 (syslog) protocol: must be one of udp, tcp") for m in messages)


def test_sinks_and_pubkey_validation():
    good, problems = validate_mapping({
        "sinks": [{"type": "http", "url": "https://hec.example/services/collector/event", "format": "hec",
                   "token": "t", "batch_size": 50}],
        "signature_pubkey": "ab" * 32,
        "hotlines": {"cn": 96110},
    }, "x")
    assert not problems and good["hotlines"] == {"cn": "96110"}
    _, problems = validate_mapping({"sinks": [{"type": "http"}], "signature_pubkey": "abc"}, "x")
    assert [p.message for p in problems] == [
        "sinks: sink #1 (http): url is required",
        "signature_pubkey: expected an ed25519 public key: 32 bytes as 64 hex digits or base64",
    ]


def test_placeholders_expand_and_url_encode():
    values = {"hostname": "pc 1", "username": "张三", "app": "zoom", "event_id": "e1"}
    assert expand("Call IT about %app% on %hostname%", values) == "Call IT about zoom on pc 1"
    assert expand("https://it/x?u=%username%&h=%hostname%", values, url=True) == \
        "https://it/x?u=%E5%BC%A0%E4%B8%89&h=pc%201"


def test_get_rejects_unknown_keys(tmp_path):
    policy = load_policy(str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"))
    assert policy.get("countdown_seconds") == 10
    with pytest.raises(KeyError):
        policy.get("no_such_key")
