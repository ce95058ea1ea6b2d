"""How the Wayland tier runs the agent: ``shareguard scan --json`` and ``shareguard run --console``.

The agent runs as root with the session's XDG_RUNTIME_DIR / WAYLAND_DISPLAY /
SWAYSOCK (tests/support/wayland.py, WaylandSession.agent_env), its own
state/config dirs in a temp dir, and English output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
if not os.path.exists(PYTHON):  # running from an installed tree
    PYTHON = sys.executable


def agent_env(session) -> Dict[str, str]:
    """The session's environment for the agent, with private state dirs (removed with the session)."""
    home = os.path.join(session.runtime, "agent-home")  # root-owned, inside the user's runtime dir
    env = session.agent_env()
    env.update(HOME=home, XDG_STATE_HOME=os.path.join(home, "state"), XDG_CONFIG_HOME=os.path.join(home, "config"),
               XDG_DATA_HOME=os.path.join(home, "data"), LANG="en_US.UTF-8", SHAREGUARD_COLLECTOR="linux")
    return env


def scan(session, tries: int = 3) -> Dict[str, Any]:
    """``shareguard scan --json`` of the session, with PipeWire read.

    ``pw-dump`` has 2 s to answer (agent/collectors/_linux_wayland.py); on a
    loaded CI machine it can miss that, and the verdict then says so under
    ``unavailable``. Such a scan proves nothing either way, so it is taken
    again (up to ``tries`` times) and the last reason is shown if all miss.
    """
    for _ in range(tries):
        done = subprocess.run([PYTHON, "-m", "agent", "scan", "--json"], cwd=ROOT, env=agent_env(session),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        verdict = json.loads(done.stdout)
        missing = [u["reason"] for u in verdict["unavailable"] if u["source"] == "capture"]
        if not missing:
            return verdict
    raise AssertionError(f"the agent could not read PipeWire in {tries} scans: {missing}")


def os_share(verdict: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The OS-level screen-capture share of a verdict, if any."""
    found = [s for s in verdict["shares"] if s["app"] == "os"]
    return found[0] if found else None


def start_console(session, log_path: str) -> subprocess.Popen:
    """``shareguard run --console`` on the session, printing to ``log_path``."""
    out = open(log_path, "ab")
    proc = subprocess.Popen([PYTHON, "-m", "agent", "run", "--console"], cwd=ROOT, env=agent_env(session),
                            stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return proc
