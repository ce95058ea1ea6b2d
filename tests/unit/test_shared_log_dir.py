"""Issue 11 item 7: a machine ``log_dir`` is shared by every user of the machine.

Each user's agent writes into its own 0700 subfolder, created without
following links; a second user's file and HTTP sinks work; a planted symlink
is never written through; when no private folder can be made the events go
to the user's own log folder with a ``log_dir_fallback`` event. The second
user is a real uid (``nobody``), so these tests run as root (CI does).
"""

import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.xsession import require

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOBODY = 65534

# One agent's audit log, as `shareguard run` builds it, in its own process and uid.
AGENT = textwrap.dedent('''\
    import json, os, sys
    from agent.audit import AuditLog
    from agent.policy import load_policy
    machine, home = sys.argv[1], sys.argv[2]
    policy = load_policy(machine, os.path.join(home, "settings.yaml"))
    audit = AuditLog.from_policy(policy, state_dir=os.path.join(home, "state"))
    audit.report_policy(policy)
    audit.emit("agent_started", pid=os.getpid(), platform="linux")
    audit.flush(20)
    for sink in audit.sinks:
        if hasattr(sink.writer, "drain"):
            sink.writer.drain(20)
    audit.close()
    print(json.dumps({"log_dir": audit.log_dir, "sinks": [s.name for s in audit.sinks],
                      "problems": audit.problems}))
    ''')


class Collector:
    """A loopback HTTP collector that records the events it is posted."""

    def __init__(self):
        self.events = []
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                events.extend(json.loads(body)["events"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"

    def users(self):
        return {e["user"] for e in self.events}


@pytest.fixture
def machine():
    """A root-owned folder others can traverse (tmp_path is 0700 root), torn down after."""
    require(os.name == "posix" and os.geteuid() == 0, "a second uid needs root")
    base = tempfile.mkdtemp(prefix="sg-shared-")
    os.chmod(base, 0o755)
    collector = Collector()
    yield base, collector
    collector.server.shutdown()
    subprocess.run(["rm", "-rf", base], check=True)


def _home(base, name, uid):
    home = os.path.join(base, "home-" + name)
    os.mkdir(home, 0o700)
    os.chown(home, uid, uid)
    return home


def _policy(base, log_dir, url, extra_sinks=()):
    sinks = [{"type": "file"}, {"type": "http", "url": url, "format": "webhook", "flush_seconds": 0.1,
                                "retry_max_seconds": 0.2}] + list(extra_sinks)
    path = os.path.join(base, "policy.yaml")
    with open(path, "w") as f:
        json.dump({"log_dir": log_dir, "sinks": sinks}, f)    # JSON is YAML
    os.chmod(path, 0o644)
    return path


def _python():
    """An interpreter another uid can run, with this venv's packages on its path.

    The venv's python may live under /root (pyenv), which ``nobody`` cannot
    enter; the system python of the same version can load the same packages.
    """
    import site
    exe = os.path.realpath(sys.executable)
    system = "/usr/bin/python3"
    if not exe.startswith("/usr/") and os.path.exists(system):
        probe = subprocess.run([system, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.stdout.strip() == "%d.%d" % sys.version_info[:2]:
            exe = system
    return exe, os.pathsep.join([ROOT] + site.getsitepackages())


def _run_agent(policy, home, uid):
    exe, path = _python()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "PYTHONPATH": path,
           "XDG_STATE_HOME": os.path.join(home, ".local", "state"), "USER": "root" if uid == 0 else "nobody",
           "LOGNAME": "root" if uid == 0 else "nobody"}
    kwargs = {} if uid == 0 else {"user": uid, "group": uid, "extra_groups": []}
    res = subprocess.run([exe, "-c", AGENT, policy, home], env=env, cwd=home, capture_output=True,
                         text=True, timeout=60, **kwargs)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.splitlines()[-1])


def _events(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def _owner_mode(path):
    st = os.lstat(path)
    return st.st_uid, stat.S_IMODE(st.st_mode)


def test_a_second_users_file_and_http_sinks_work_in_a_shared_log_dir(machine):
    base, collector = machine
    shared = os.path.join(base, "log")
    os.mkdir(shared)
    os.chmod(shared, 0o1777)     # every user may create their own folder, nobody may replace another's
    policy = _policy(base, shared, collector.url)
    first = _run_agent(policy, _home(base, "root", 0), 0)
    second = _run_agent(policy, _home(base, "nobody", NOBODY), NOBODY)

    assert first["log_dir"] == os.path.join(shared, "root")
    assert second["log_dir"] == os.path.join(shared, "nobody")
    assert _owner_mode(second["log_dir"]) == (NOBODY, 0o700)
    for result, user in ((first, "root"), (second, "nobody")):
        assert result["sinks"] == ["file#1", "http#2"] and not result["problems"], result
        lines = _events(os.path.join(result["log_dir"], "events.jsonl"))
        assert {e["user"] for e in lines} == {user}
        assert "agent_started" in [e["type"] for e in lines]
    assert collector.users() == {"root", "nobody"}


def test_no_right_to_create_a_folder_falls_back_to_the_users_own_with_an_event(machine):
    base, collector = machine
    shared = os.path.join(base, "log")
    os.mkdir(shared, 0o755)      # only root may create folders here
    home = _home(base, "nobody", NOBODY)
    result = _run_agent(_policy(base, shared, collector.url), home, NOBODY)

    own = os.path.join(home, ".local", "state", "ShareGuard", "log")
    assert result["log_dir"] == own and not result["problems"], result
    lines = _events(os.path.join(own, "events.jsonl"))
    [fallback] = [e for e in lines if e["type"] == "log_dir_fallback"]
    assert fallback["requested"] == shared and fallback["used"] == own
    assert "log_dir_fallback" in [e["type"] for e in collector.events]
    assert os.listdir(shared) == []


def test_planted_symlinks_in_the_shared_folder_are_never_written_through(machine):
    base, collector = machine
    shared = os.path.join(base, "log")
    os.mkdir(shared)
    os.chmod(shared, 0o1777)
    # What another user can plant in a shared folder: links to places of their choosing.
    attacker = os.path.join(base, "attacker")
    os.mkdir(attacker, 0o777)
    victim = os.path.join(base, "victim.txt")
    with open(victim, "w") as f:
        f.write("precious\n")
    os.chmod(victim, 0o644)
    for name, target in (("root", attacker), ("events.jsonl", victim), ("custom.jsonl", victim)):
        os.symlink(target, os.path.join(shared, name))
        os.lchown(os.path.join(shared, name), NOBODY, NOBODY)
    policy = _policy(base, shared, collector.url, [{"type": "file", "path": os.path.join(shared, "custom.jsonl")}])
    home = _home(base, "root", 0)
    result = _run_agent(policy, home, 0)

    with open(victim) as f:
        assert f.read() == "precious\n"
    assert _owner_mode(victim) == (0, 0o644)          # not chmodded either
    assert os.listdir(attacker) == []
    own = os.path.join(home, ".local", "state", "ShareGuard", "log")
    assert result["log_dir"] == own
    assert result["sinks"] == ["file#1", "http#2", "file#3"]
    assert any("custom.jsonl" in p and own in p for p in result["problems"]), result["problems"]
    types = [e["type"] for e in _events(os.path.join(own, "events.jsonl"))]
    assert "log_dir_fallback" in types and "agent_started" in types
