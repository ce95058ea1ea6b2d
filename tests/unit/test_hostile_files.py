"""Hostile and corrupt files (issue 11 items 1, 2, 3 and 10; docs/security.md).

Each test here failed before its fix: a 397-byte alias bomb that took 54 s
and 8 GB, a bundle whose unverified manifest crashed the agent, a corrupt
heartbeat or settings file that kept the guard down, policy files trusted
through group root or a symlink, a squatted instance lock, policy found
through variables a user can set, admin commands writing through planted
links.
"""

import base64
import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time

import pytest

from agent.audit.tamper import Heartbeat
from agent.policy import load_policy, paths
from agent.policy.validate import validate_file
from agent.signatures import bundle as sgb
from agent.signatures.reloader import SignatureSource
from agent.single_instance import InstanceLock, guard_lock_name
from agent.sourcefile import MAX_DEPTH, MAX_INT_DIGITS, brief, compose
from agent.state import StateStore
from tests.support.xsession import require

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = sys.executable

#: The policy of the report: nine levels of nine aliases, 9**9 strings when expanded.
LAUGHS = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)) + "mode: *i\n"


def cli(*args, env=None, timeout=120):
    return subprocess.run([PYTHON, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


# --------------------------------------------------------------------------- 1. bounded files


def test_alias_bomb_is_refused_by_policy_validate(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(LAUGHS, encoding="utf-8")
    assert len(LAUGHS.encode()) < 400
    r = cli("policy", "validate", str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "too many values" in r.stderr and len(r.stderr) < 1000


def test_alias_bomb_as_user_settings_gives_a_small_event(tmp_path):
    user = tmp_path / "settings.yaml"
    user.write_text(LAUGHS, encoding="utf-8")
    policy = load_policy(str(tmp_path / "none.yaml"), str(user), platform="linux")
    assert policy.values["mode"] == "balanced"
    (kind, fields), = [n for n in policy.notices if n[0] == "policy_rejected"]
    assert len(json.dumps(fields)) < 1000


def test_an_aliased_value_in_a_message_is_bounded(tmp_path):
    # Few enough aliases to load: the message about the wrong value must still stay short.
    path = tmp_path / "policy.yaml"
    path.write_text("a: &a [" + ",".join(["xxxxxxxxxx"] * 1000) + "]\nb: &b [" + ",".join(["*a"] * 100)
                    + "]\nmode: *b\ntrusted_apps: " + "y" * 100000 + "\n", encoding="utf-8")
    values, _, problems = validate_file(str(path))
    assert {p.message.split(":")[0] for p in problems if p.severity == "error"} == {"mode", "trusted_apps"}
    assert all(len(str(p)) < 400 for p in problems)


@pytest.mark.parametrize("text,needle", [
    ("x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", "nested more than"),
    ("x: " + "9" * 5000 + "\n", "digits is too long"),
    ("x: " + "9" * (MAX_INT_DIGITS + 1) + "\n", "digits is too long"),
    ("x: !!python/object/apply:os.system [echo]\n", "unsupported tag"),
    ("a: 1\n---\nb: 2\n", "more than one YAML document"),
])
def test_limits_are_problems_with_a_line(text, needle):
    node, problems = compose(text, "f.yaml")
    assert node is None and len(problems) == 1 and needle in problems[0].message and problems[0].line >= 1


def test_brief_is_bounded_for_any_value():
    shared = ["x" * 100] * 10
    for _ in range(30):
        shared = [shared] * 10          # 10**30 leaves if walked
    for value in (10 ** 5000, "y" * 10 ** 6, shared, {i: i for i in range(10 ** 5)}):
        assert len(brief(value)) < 200


# --------------------------------------------------------------------------- 2. bundles verify first


def _tar_gz(members, raw_headers=b""):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(raw_headers)
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _signed(tmp_path, files, key_path=None):
    """A bundle signed by a fresh key holding ``files`` (relative name -> bytes) as listed."""
    key_path = key_path or str(tmp_path / "k")
    if not os.path.exists(key_path):
        sgb.generate_keypair(key_path)
    private = sgb.load_private_key(key_path)
    manifest = json.dumps({"format": sgb.FORMAT, "format_version": 1, "version": "1", "created": "2026-11-27T00:00:00Z",
                           "key_id": sgb.key_id(private.public_key()),
                           "files": {rel: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                                     for rel, d in files.items()}}).encode()
    sig = base64.b64encode(private.sign(manifest))
    path = tmp_path / "b.sgb"
    path.write_bytes(_tar_gz([("manifest.json", manifest), ("manifest.sig", sig)]
                             + [("files/" + rel, d) for rel, d in files.items()]))
    return str(path), private.public_key()


def test_deeply_nested_unverified_manifest_is_rejected_cleanly(tmp_path):
    path = tmp_path / "deep.sgb"
    path.write_bytes(_tar_gz([("manifest.json", b"[" * 100000), ("manifest.sig", b"AAAA")]))
    assert len(path.read_bytes()) < 1000
    public = sgb.generate_keypair(str(tmp_path / "k"))
    with pytest.raises(sgb.BundleError) as info:
        sgb.verify_bundle(str(path), public)
    assert info.value.code == "bad_signature" and "unknown" in str(info.value)


def test_pax_header_bomb_is_refused_without_reading_it(tmp_path):
    claimed = 512 * 1024 * 1024
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, claimed
    bomb = tmp_path / "bomb.sgb"
    with open(bomb, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(header.tobuf(format=tarfile.USTAR_FORMAT))
        zeros = bytes(1 << 20)
        for _ in range(claimed >> 20):
            gz.write(zeros)
    assert bomb.stat().st_size < 4 * 1024 * 1024
    key = str(tmp_path / "k")
    sgb.generate_keypair(key)
    code = ("import sys\nfrom agent.signatures import bundle as sgb\n"
            "try:\n    sgb.verify_bundle(sys.argv[1], sys.argv[2])\nexcept sgb.BundleError as e:\n    print(e.code)\n"
            # VmHWM is this process's own peak: ru_maxrss survives execve and would carry the
            # size of the (large, late in a full run) pytest process that forked us.
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n")
    r = subprocess.run([PYTHON, "-c", code, str(bomb), key + ".pub"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    code_seen, peak_kib = r.stdout.split()
    assert code_seen == "too_large"
    assert int(peak_kib) < 200 * 1024, f"peak memory {int(peak_kib) // 1024} MiB"


def test_a_file_that_is_also_a_folder_is_rejected(tmp_path):
    path, public = _signed(tmp_path, {"a.yaml": b"x: 1\n", "a.yaml/b.yaml": b"y: 2\n"})
    with pytest.raises(sgb.BundleError) as info:
        sgb.verify_bundle(path, public)
    assert info.value.code == "unsafe_member" and "both a file and a folder" in str(info.value)
    r = cli("signatures", "verify", path, "--pubkey", sgb.public_key_base64(public))
    assert r.returncode == 2 and "REJECTED" in r.stderr and "Traceback" not in r.stderr


class Events:
    def __init__(self):
        self.items = []

    def __call__(self, kind, **fields):
        self.items.append((kind, fields))


def test_rejected_bundle_at_start_and_at_run_time_keeps_the_set(tmp_path):
    from tests.unit.test_bundle import write_tree

    builtin = write_tree(tmp_path / "builtin")
    deep = tmp_path / "policy.sgb"
    deep.write_bytes(_tar_gz([("manifest.json", b"{" * 100000), ("manifest.sig", b"AAAA")]))
    public = sgb.generate_keypair(str(tmp_path / "k"))
    events = Events()
    source = SignatureSource(str(deep), public, builtin_dir=builtin, on_event=events)   # at start: no crash
    assert [k for k, _ in events.items] == ["signatures_rejected"]
    kept = source.current()
    assert kept.apps, "the built-in set stays in force"
    deep.write_bytes(_tar_gz([("manifest.json", b"[" * 200000), ("manifest.sig", b"AAAA")]))
    os.utime(deep, ns=(1, 1))
    assert source.check() is False and source.current() is kept
    assert [k for k, _ in events.items] == ["signatures_rejected", "signatures_rejected"]


def test_any_failure_while_checking_a_bundle_is_a_rejection(tmp_path, monkeypatch):
    from agent.signatures import reloader
    from tests.unit.test_bundle import write_tree

    def explode(*_a, **_k):
        raise MemoryError("hostile archive")
    monkeypatch.setattr(reloader, "verify_bundle", explode)
    (tmp_path / "x.sgb").write_bytes(b"x")
    events = Events()
    source = SignatureSource(str(tmp_path / "x.sgb"), sgb.generate_keypair(str(tmp_path / "k")),
                             builtin_dir=write_tree(tmp_path / "b"), on_event=events)
    assert source.last_rejection.code == "corrupt" and events.items[0][0] == "signatures_rejected"


# --------------------------------------------------------------------------- 3. corrupt user files


@pytest.mark.parametrize("content", ['{"pid":"abc"}', '{"pid": 1' + "0" * 40 + "}", '{"pid": true}',
                                     "[" * 100000, '{"pid": ' + "9" * 5000 + "}", "\xff\xfe"])
def test_corrupt_heartbeat_is_an_unclean_stop_not_a_crash(tmp_path, content):
    (tmp_path / "agent.heartbeat").write_bytes(content.encode("utf-8", "surrogateescape"))
    notices = Heartbeat(str(tmp_path)).start(pid_alive=lambda pid: True)
    assert notices == [("agent_restarted_after_kill", {"previous_pid": 0, "last_heartbeat": ""})]


@pytest.mark.parametrize("content", ['{"known_executables": 5}', "[" * 100000, '{"known_executables": [1, "a"]}'])
def test_corrupt_state_file_is_empty_state(tmp_path, content):
    (tmp_path / StateStore.FILE).write_text(content, encoding="utf-8")
    assert StateStore(str(tmp_path)).load_known_executables() <= {"a"}


def _guard_env(tmp_path):
    home = tmp_path / "home"
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_STATE_HOME=str(home / ".state"),
               XDG_DATA_HOME=str(home / ".data"), XDG_CACHE_HOME=str(home / ".cache"), PYTHONUNBUFFERED="1",
               LANG="C.UTF-8", LANGUAGE="en")
    env.pop("DISPLAY", None)
    return env


def _start_guard(env, *args):
    return subprocess.Popen([PYTHON, "-m", "agent", "run", "--console", "--poll", "0.5", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_until_guarding(proc, limit=120.0):
    """Wait until the guard's loop has its SIGTERM handler (Linux: SigCgt in /proc), or it ended.

    A safety limit only; nothing is measured.
    """
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        with open(f"/proc/{proc.pid}/status", encoding="ascii") as fh:
            caught = next(int(line.split()[1], 16) for line in fh if line.startswith("SigCgt:"))
        if caught & (1 << (signal.SIGTERM - 1)):
            return True
        time.sleep(0.05)
    return False


def _read_until(proc, needle, limit=120.0):
    """Output lines until one holds ``needle`` (or the process ends); a safety limit, not a measurement."""
    lines = []
    timer = threading.Timer(limit, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if needle in line:
                break
    finally:
        timer.cancel()
    return "".join(lines)


@pytest.mark.parametrize("what", ["heartbeat_text_pid", "heartbeat_huge_pid", "settings_deep", "settings_digits"])
def test_agent_starts_with_a_corrupt_user_file(tmp_path, what):
    env = _guard_env(tmp_path)
    state = tmp_path / "home" / ".state" / "ShareGuard"
    config = tmp_path / "home" / ".config" / "ShareGuard"
    state.mkdir(parents=True)
    config.mkdir(parents=True)
    if what.startswith("heartbeat"):
        pid = '"abc"' if what == "heartbeat_text_pid" else "1" + "0" * 30
        (state / "agent.heartbeat").write_text('{"pid": %s}' % pid, encoding="utf-8")
    else:
        value = "[" * 600 + "]" * 600 if what == "settings_deep" else "9" * 5000
        (config / "settings.yaml").write_text(f"snooze_minutes: {value}\n", encoding="utf-8")
    proc = _start_guard(env, "--policy", str(tmp_path / "no-machine-policy.yaml"))
    try:
        out = _read_until(proc, "console mode")
        if what.startswith("settings"):
            assert "settings.yaml:1:" in out, out
        assert _wait_until_guarding(proc), out
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in out + rest, out + rest


# --------------------------------------------------------------------------- 10. policy trust


def test_group_writable_policy_of_group_root_is_ignored(tmp_path):
    require(os.geteuid() == 0, "chown to root needs root")
    policy = tmp_path / "policy.yaml"
    policy.write_text("mode: monitor\n", encoding="utf-8")
    os.chown(policy, 0, 0)
    os.chmod(policy, 0o664)
    assert "writable by group 0" in (paths.insecure_reason(str(policy), "linux") or "")
    os.chmod(policy, 0o644)
    assert paths.insecure_reason(str(policy), "linux") is None


def test_symlinked_policy_checks_the_target_folders(tmp_path):
    require(os.geteuid() == 0, "chown to another user needs root")
    secure = tmp_path / "etc"
    secure.mkdir(mode=0o755)
    users = tmp_path / "user-folder"
    users.mkdir(mode=0o755)
    target = users / "policy.yaml"
    target.write_text("mode: monitor\n", encoding="utf-8")
    os.chown(target, 0, 0)
    os.chown(users, 1000, 1000)   # a user owns the folder: they can delete or swap the root-owned file
    link = secure / "policy.yaml"
    link.symlink_to(target)
    reason = paths.insecure_reason(str(link), "linux")
    assert reason and str(users) in reason and "uid 1000" in reason


def test_a_custom_guard_does_not_take_the_machine_guards_lock(tmp_path):
    custom = InstanceLock(str(tmp_path), guard_lock_name("/nonexistent", None))
    assert custom.acquire()
    try:
        machine = InstanceLock(str(tmp_path), guard_lock_name(None, None))
        assert machine.acquire(), "a user's --policy guard keeps the machine guard out"
        second = InstanceLock(str(tmp_path), guard_lock_name(None, None))
        assert not second.acquire(), "still one machine guard per user"
        machine.release()
    finally:
        custom.release()
    assert guard_lock_name(None, "/tmp/sigs") != guard_lock_name(None, None)


def test_windows_policy_folder_is_not_taken_from_the_environment(monkeypatch):
    monkeypatch.setenv("ProgramData", "C:\\Users\\mallory\\fake")
    monkeypatch.setenv("PROGRAMDATA", "C:\\Users\\mallory\\fake")
    assert paths.machine_policy_file("windows") == "C:\\ProgramData\\ShareGuard\\policy.yaml"

    class Key:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    class FakeWinreg:
        HKEY_LOCAL_MACHINE = object()

        @staticmethod
        def OpenKey(root, sub):
            assert sub.endswith("ProfileList")
            return Key()

        @staticmethod
        def QueryValueEx(key, name):
            assert name == "ProgramData"
            return "%SystemDrive%\\Data", 2

    assert paths.windows_program_data(winreg=FakeWinreg) == "C:\\Data"


def test_macos_user_plist_is_the_real_users(tmp_path, monkeypatch):
    import pwd

    seen = []
    monkeypatch.setenv("USER", "someone-else")
    monkeypatch.setattr(paths, "macos_managed_plists", lambda user=None: seen.append(user) or [])
    load_policy(None, str(tmp_path / "none.yaml"), platform="darwin", insecure_check=lambda p: None)
    assert seen == [pwd.getpwuid(os.getuid()).pw_name]


def test_keygen_does_not_write_through_a_planted_link(tmp_path):
    victim = tmp_path / "victim"
    out = tmp_path / "key"
    os.symlink(victim, str(out) + ".pub")          # dangling: exists() says no
    r = cli("signatures", "keygen", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert not victim.exists()


def test_bundle_output_does_not_write_through_a_planted_link(tmp_path):
    from tests.unit.test_bundle import write_tree

    tree = write_tree(tmp_path / "sigs")
    key = str(tmp_path / "k")
    sgb.generate_keypair(key)
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    out = tmp_path / "out.sgb"
    os.symlink(victim, str(out) + ".tmp")
    os.symlink(victim, str(out))
    r = cli("signatures", "bundle", tree, "--key", key, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not out.is_symlink() and sgb.verify_bundle(str(out), key + ".pub").files
