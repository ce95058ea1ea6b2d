"""A changed policy file reaches the engine, the signature source and the UI while the guard runs."""

import os

from agent.app import PolicyWatch
from agent.engine import Engine
from agent.signatures.model import SignatureSet


class Audit:
    def __init__(self):
        self.events = []

    def emit(self, kind, **fields):
        self.events.append((kind, fields))

    def report_policy(self, policy):
        self.events.append(("policy_loaded", {"mode": policy.get("mode")}))


class Source:
    def __init__(self):
        self.calls = []

    def reconfigure(self, path, key):
        self.calls.append((path, key))
        return False


def test_policy_file_change_reloads_engine_ui_and_signature_source(tmp_path, monkeypatch):
    if os.geteuid() != 0:  # the machine policy must be root-owned to be trusted
        import pytest
        pytest.skip("machine policy files are only trusted when root-owned")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    machine = tmp_path / "policy.yaml"
    machine.write_text("mode: balanced\n", encoding="utf-8")
    os.chmod(tmp_path, 0o755)
    from agent.policy import load_policy

    policy = load_policy(machine_path=str(machine))
    engine, audit, source = Engine(SignatureSet(), policy.engine_policy()), Audit(), Source()
    watch = PolicyWatch(policy, str(machine), engine, audit, source)
    heard = []
    watch.listeners.append(lambda p, lang: heard.append((p.get("countdown_seconds"), lang)))

    watch(1000.0)
    assert engine.policy.mode == "balanced" and heard == []  # nothing changed yet

    machine.write_text("mode: strict\nlanguage: zh_CN\ncountdown_seconds: 20\nsnooze_minutes: 3\n", encoding="utf-8")
    watch(1000.0 + PolicyWatch.INTERVAL)
    assert engine.policy.mode == "strict" and engine.policy.snooze_minutes == 3
    assert heard == [(20, "zh_CN")]
    assert [k for k, _ in audit.events] == ["policy_file_changed", "policy_loaded"]
    assert source.calls == [(None, None)]

    # A broken edit keeps the last good values and is reported, never raised.
    machine.write_text("mode: [\n", encoding="utf-8")
    watch(1000.0 + 2 * PolicyWatch.INTERVAL)
    assert engine.policy.mode == "strict"
    assert watch.policy.problems and "policy.yaml" in str(watch.policy.problems[0])
