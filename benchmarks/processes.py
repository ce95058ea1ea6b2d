"""Process-table figures at a chosen number of processes (part of `make bench`).

    unshare --pid --fork --mount-proc python benchmarks/processes.py --counts 100 300 5000 --idle 60

Run as pid 1 of a new pid namespace (benchmarks/run.py does that when it
can), the machine's other processes are out of sight, so "300 processes"
means exactly that. For each count it starts idle processes (``sleep``
copies under a few dozen names) until the namespace holds that many, then
measures, in the same run:

- snapshot CPU: ``LinuxCollector.snapshot()`` with the shipped signatures'
  interest (what ``shareguard run`` does each tick), steady state, against
  the naive scan ``psutil.process_iter([...])`` of the same table;
- idle agent CPU: ``shareguard run --console`` (no display) over ``--idle``
  seconds after a warm-up, its own CPU plus its children's (``pw-dump``),
  from /proc/<pid>/stat, and its RSS at the end.

Prints one JSON object; figures are never asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import psutil  # noqa: E402

from agent.collectors.processes import YOUNG_SECONDS  # noqa: E402

NAIVE_ATTRS = ["name", "exe", "cmdline", "create_time", "ppid", "username"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ms(fn, repeat: int):
    """Per-call CPU milliseconds of ``fn`` (process time), each call measured alone."""
    samples = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        samples.append((time.process_time() - t0) * 1000)
    samples.sort()
    return {"median": round(statistics.median(samples), 3),
            "p95": round(samples[max(0, int(len(samples) * 0.95) - 1)], 3), "n": repeat}


class Crowd:
    """Idle processes with desktop-like variety of names (copies of ``sleep``)."""

    def __init__(self, directory: str) -> None:
        self.dir = directory
        self.procs = []
        sleep = shutil.which("sleep") or "/bin/sleep"
        self.paths = []
        for i in range(40):
            path = os.path.join(directory, f"svc-{i:02d}")
            shutil.copy2(sleep, path)
            self.paths.append(path)

    def grow_to(self, count: int) -> int:
        """Start processes until ``count`` are visible in /proc; returns the count reached."""
        while True:
            now = sum(1 for e in os.scandir("/proc") if e.name.isdigit())
            if now >= count:
                return now
            for _ in range(count - now):
                path = self.paths[len(self.procs) % len(self.paths)]
                self.procs.append(subprocess.Popen([path, "100000"], stdin=subprocess.DEVNULL,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


def snapshot_figures(repeat: int) -> dict:
    from agent.collectors._linux import LinuxCollector
    from agent.engine.interest import ProcessInterest
    from agent.signatures.loader import load_signatures

    collector = LinuxCollector(lang="en")
    collector.set_interest(ProcessInterest(load_signatures(), "linux"))
    t0 = time.process_time()
    first = collector.snapshot()
    first_ms = (time.process_time() - t0) * 1000
    ours = cpu_ms(collector.snapshot, repeat)
    collector.close()
    list(psutil.process_iter(NAIVE_ATTRS))  # psutil keeps Process objects between calls: warm it
    naive = cpu_ms(lambda: list(psutil.process_iter(NAIVE_ATTRS)), max(5, repeat // 10))
    return {"processes": len(first.processes), "first_ms": round(first_ms, 1), "snapshot": ours, "naive": naive}


def _cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by ``pid`` (every thread, ns-exact from schedstat) and its waited children."""
    total_ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total_ns += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # cutime and cstime (fields 16 and 17, 1-based) count children such as pw-dump once reaped.
    children = (int(fields[13]) + int(fields[14])) / CLK_TCK
    return total_ns / 1e9 + children


def rss_mib(pid: int) -> float:
    """Resident memory of one process, MiB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def idle_agent(seconds: float, warmup: float) -> dict:
    """CPU % of one core used by ``shareguard run --console`` while nothing happens."""
    home = tempfile.mkdtemp(prefix="sg-bench-home-")
    env = dict(os.environ, HOME=home, XDG_STATE_HOME=f"{home}/state", XDG_CONFIG_HOME=f"{home}/config",
               XDG_CACHE_HOME=f"{home}/cache", LANG="en_US.UTF-8")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    agent = subprocess.Popen([sys.executable, "-m", "agent", "run", "--console"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(warmup)
        if agent.poll() is not None:
            return {"error": f"agent exited with {agent.returncode}"}
        t0, c0 = time.monotonic(), _cpu_seconds(agent.pid)
        time.sleep(seconds)
        t1, c1 = time.monotonic(), _cpu_seconds(agent.pid)
        return {"cpu_percent": round((c1 - c0) / (t1 - t0) * 100, 3), "seconds": round(t1 - t0, 1),
                "rss_mib": rss_mib(agent.pid)}
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(20)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 300, 5000])
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle agent measured per count")
    parser.add_argument("--idle-counts", type=int, nargs="*", default=[300, 5000])
    parser.add_argument("--warmup", type=float, default=8.0)
    args = parser.parse_args()
    out = {"namespace": os.getpid() == 1, "counts": {}}
    with tempfile.TemporaryDirectory(prefix="sg-bench-crowd-") as directory:
        crowd = Crowd(directory)
        try:
            for count in sorted(args.counts):
                reached = crowd.grow_to(count)
                # Steady state: the crowd is no longer young (young processes are re-checked each tick).
                time.sleep(YOUNG_SECONDS + 1)
                figures = {"target": count, "reached": reached}
                figures.update(snapshot_figures(repeat=200 if count <= 1000 else 40))
                if count in args.idle_counts and args.idle > 0:
                    figures["idle"] = idle_agent(args.idle, args.warmup)
                out["counts"][str(count)] = figures
                print(f"# {count} processes done", file=sys.stderr, flush=True)
        finally:
            crowd.stop()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
