"""Issue 11 item 11: the agent's own state files are private whatever the umask,
and the tray opens the folder the events really go to."""

import contextlib
import json
import os
import stat

import pytest

from agent.audit.events import device_id
from agent.audit.tamper import Heartbeat
from agent.state import StateStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@contextlib.contextmanager
def umask(value):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("existing_dir_mode", [None, 0o777])
def test_heartbeat_device_id_and_state_are_0600_in_0700_under_umask_000(tmp_path, existing_dir_mode):
    state = tmp_path / "home" / "state" / "ShareGuard"
    if existing_dir_mode is not None:     # left wide open by an older version
        state.mkdir(parents=True)
        os.chmod(state, existing_dir_mode)
    with umask(0):
        Heartbeat(str(state)).start(pid_alive=lambda pid: False)
        ident = device_id(str(state))
        StateStore(str(state)).save_known_executables(["/usr/bin/zoom"])
    for name in ("agent.heartbeat", "device_id", "known_executables.json"):
        assert mode(state / name) == 0o600, name
    assert mode(state) == 0o700
    if existing_dir_mode is None:
        # Folders we had to create on the way are private too (nobody can swap ours).
        assert mode(state.parent) == 0o700
    assert device_id(str(state)) == ident
    assert json.loads((state / "agent.heartbeat").read_text())["pid"] == os.getpid()


def test_a_planted_symlink_is_not_written_through(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    os.chmod(victim, 0o644)
    # The temporary name the old code used, and the final name.
    os.symlink(victim, state / f"agent.heartbeat.{os.getpid()}.tmp")
    Heartbeat(str(state)).start(pid_alive=lambda pid: False)
    assert victim.read_text() == "keep me" and mode(victim) == 0o644
    assert not os.path.islink(state / "agent.heartbeat")


def test_tray_opens_the_folder_the_events_go_to(tmp_path, monkeypatch):
    from agent.audit import AuditLog
    from agent.policy import load_policy
    from agent.responders.ui_client import UiClient

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    policy = load_policy(str(tmp_path / "none.yaml"), str(tmp_path / "none2.yaml"))
    audit = AuditLog.from_policy(policy, state_dir=str(tmp_path / "state"))
    audit.emit("agent_started", pid=os.getpid(), platform="linux")
    audit.close()
    from agent.responders import build_responders

    ui = build_responders(policy, "en", audit, None)[0]
    assert isinstance(ui, UiClient)
    folder = ui.config.log_dir
    assert os.path.isfile(os.path.join(folder, "events.jsonl")), folder
