"""`make bench`: one run, one table; every figure beside its reference from the same run.

    .venv/bin/python benchmarks/run.py [--quick] [--tries 100] [--idle 60]
    .venv/bin/python benchmarks/run.py --replay-only   # the replay rows alone, seconds

Measures, on this machine:

- snapshot CPU of the Linux collector at ~100, ~300 and 5,000 processes
  against the naive ``psutil.process_iter([...])`` scan of the same table,
  and the idle agent (``shareguard run --console``) CPU over ``--idle``
  seconds at 300 and 5,000 processes, with its RSS (benchmarks/processes.py,
  run as pid 1 of a new pid namespace when root, so the counts are exact);
- warning latency: bank window mapped -> warning mapped under Xvfb + openbox,
  ``--tries`` times (benchmarks/warning_latency.py), and the UI helper's RSS;
- replay throughput on a busy-desktop scenario (293 processes, 33 windows,
  200 sockets per step): the replay path over the read file, and end to end
  from the file beside the stdlib ``json.loads`` of it alone (:func:`bench_replay`);
- the machine's load (``uptime``) before and after.

The table goes to stdout and the figures to benchmarks/results/latest.json.
Targets (docs: benchmarks/README.md) are printed beside the figures and never
asserted: machines are shared and noisy. ``benchmarks/sinks.py`` measures the
audit sinks separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from agent.engine import Engine  # noqa: E402
from agent.model import Connection, ProcessInfo, Snapshot, WindowInfo  # noqa: E402
from agent.signatures.loader import load_signatures  # noqa: E402


def uptime() -> str:
    """The `uptime` line (load averages over 1, 5 and 15 minutes)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def busy_snapshot(alarming: bool, t: float = 0.0) -> Snapshot:
    """A Windows desktop with many ordinary processes, windows and sockets."""
    procs = [ProcessInfo(1000 + i, f"svc{i % 97}.exe", exe=rf"C:\Program Files\Vendor{i % 13}\svc{i % 97}.exe",
                         create_time=1.7e9 + i) for i in range(290)]
    procs += [ProcessInfo(5000, "chrome.exe", exe=r"C:\Program Files\Google\Chrome\Application\chrome.exe",
                          create_time=1.7e9),
              ProcessInfo(5100, "EXCEL.EXE", create_time=1.7e9), ProcessInfo(5200, "WeChat.exe", create_time=1.7e9)]
    wins = [WindowInfo(f"Document {i} - Notepad", pid=1000 + i) for i in range(30)]
    wins += [WindowInfo("Bank reconciliation.xlsx - Excel", pid=5100),
             WindowInfo("World Bank Open Data - Google Chrome", pid=5000),
             WindowInfo("微信", pid=5200)]
    conns = [Connection(1000 + i, "tcp", "ESTABLISHED", f"10.0.0.5:{50000 + i}", f"93.184.216.{i % 250}:443")
             for i in range(200)]
    if alarming:
        procs += [ProcessInfo(6000, "ToDesk.exe", exe=r"C:\Program Files\ToDesk\ToDesk.exe", create_time=1.7e9),
                  ProcessInfo(6001, "rustdesk.exe", cmdline=("rustdesk.exe", "--cm"), create_time=1.7e9 + 5)]
        wins += [WindowInfo("中国工商银行 - 个人网上银行 - Google Chrome", pid=5000)]
    return Snapshot(platform="windows", time=t, processes=tuple(procs), windows=tuple(wins),
                    connections=tuple(conns))


def _busy_steps(steps: int, changing: bool) -> list:
    """The busy desktop, ``steps`` times (``at`` = the step). Quiet throughout, or with a remote session
    and a bank page in steps 10-19, 30-39... (``changing``: four changes in 40 steps)."""
    return [busy_snapshot(alarming=changing and (i // 10) % 2 == 1, t=float(i)) for i in range(steps)]


def _write_scenario(snaps) -> str:
    from agent.snapshot_io import snapshot_to_dict

    data: dict = {"platform": "windows", "steps": []}
    for snap in snaps:
        step = snapshot_to_dict(snap)
        step.pop("platform")
        data["steps"].append(step)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
        return f.name


def _forget_compiled() -> None:
    """Drop what a fresh process would not have yet: compiled regexes, the engines' shared indexes,
    the reader's vetted float texts. So a "cold" figure includes building them once."""
    import re

    from agent import engine, sourcefile
    from agent.engine import matching

    re.purge()
    matching._compile_phrases.cache_clear()
    engine._shared.clear()
    sourcefile._yaml_float.cache_clear()


def _cpu(fn, repeat: int = 5) -> float:
    """Median CPU seconds (process_time) of ``fn()`` over ``repeat`` runs: the machine is shared."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def bench_replay(signatures, steps: int = 40) -> dict:
    """Replay throughput on the busy desktop, each figure with what it includes (CPU time, median of 5).

    - ``replay_per_s``: ``replay_scenario`` over an already read scenario (a new engine per run, its
      signature indexes already compiled in this process, state carried across steps): the replay
      path without the file parse. ``replay_changing_per_s``: the same with four changes in 40 steps.
    - ``end_to_end_per_s``: ``load_scenario(file)`` + ``replay_scenario``, as ``shareguard replay FILE``
      after loading signatures, in a cold process (``cold_engine_ms``: building the indexes and
      judging the first step, included); ``end_to_end_warm_per_s``: indexes already compiled.
    - ``json_loads_per_s``: the stdlib ``json.loads`` of the same file alone, the ceiling of any
      reader built on it; ``read_per_s``: ``load_scenario`` alone.
    - ``evaluate_warm_per_s``: ``Engine.evaluate`` over the read steps by an engine that judged them
      before; ``evaluate_fresh_objects_per_s``: over steps built separately (equal records that are
      other objects in every step: no pointer shortcuts).
    """
    from agent.commands.replay import replay_scenario
    from agent.snapshot_io import load_scenario

    snaps = _busy_steps(steps, changing=False)
    path, changing_path = _write_scenario(snaps), _write_scenario(_busy_steps(steps, changing=True))
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        json_s = _cpu(lambda: json.loads(text))
        read_s = _cpu(lambda: load_scenario(path))

        def end_to_end(cold: bool) -> int:
            if cold:
                _forget_compiled()
            return sum(1 for _ in replay_scenario(load_scenario(path), signatures))

        cold_s = _cpu(lambda: end_to_end(True))
        warm_s = _cpu(lambda: end_to_end(False))
        scenario, changing = load_scenario(path), load_scenario(changing_path)
        verdicts = sum(1 for _ in replay_scenario(scenario, signatures))
        replay_s = _cpu(lambda: sum(1 for _ in replay_scenario(scenario, signatures)))
        changing_s = _cpu(lambda: sum(1 for _ in replay_scenario(changing, signatures)))

        def first_step() -> None:
            _forget_compiled()
            Engine(signatures).evaluate(scenario.steps[0])

        cold_engine_s = _cpu(first_step)
    finally:
        os.unlink(path)
        os.unlink(changing_path)
    engine = Engine(signatures)
    for snap in scenario.steps:
        engine.evaluate(snap)
    evaluate_s = _cpu(lambda: [engine.evaluate(snap) for snap in scenario.steps])
    fresh_engine = Engine(signatures)
    for snap in snaps:
        fresh_engine.evaluate(snap)
    fresh_s = _cpu(lambda: [fresh_engine.evaluate(snap) for snap in snaps])
    return {"steps": verdicts, "replay_per_s": round(steps / replay_s),
            "replay_changing_per_s": round(steps / changing_s),
            "end_to_end_per_s": round(steps / cold_s), "end_to_end_warm_per_s": round(steps / warm_s),
            "cold_engine_ms": round(cold_engine_s * 1000, 1),
            "json_loads_per_s": round(steps / json_s), "read_per_s": round(steps / read_s),
            "evaluate_warm_per_s": round(steps / evaluate_s), "evaluate_fresh_objects_per_s": round(steps / fresh_s)}


def bench_processes(counts, idle: float, idle_counts) -> dict:
    """benchmarks/processes.py, in a new pid namespace when this is root and unshare exists."""
    cmd = [sys.executable, os.path.join(ROOT, "benchmarks", "processes.py"), "--counts", *map(str, counts),
           "--idle", str(idle), "--idle-counts", *map(str, idle_counts)]
    if os.geteuid() == 0 and shutil.which("unshare"):
        cmd = ["unshare", "--pid", "--fork", "--mount-proc"] + cmd
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-800:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_latency(tries: int) -> dict:
    """benchmarks/warning_latency.py in a child (its own Xvfb + openbox)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    try:
        done = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "warning_latency.py"),
                               "--tries", str(tries), "--json", out], cwd=ROOT, capture_output=True, text=True,
                              timeout=3600)
        if done.returncode != 0:
            return {"error": done.stderr.strip()[-800:]}
        with open(out, encoding="utf-8") as f:
            return json.load(f)
    finally:
        os.unlink(out)


def bare_python_rss() -> float:
    """RSS of a Python that only imported psutil: the floor any Python agent starts from."""
    code = ("import psutil\nwith open('/proc/self/status') as f:\n"
            "    print([int(l.split()[1]) for l in f if l.startswith('VmRSS:')][0])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return round(int(done.stdout.strip()) / 1024, 1)


def _x(value, unit="", digits=2):
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def table(r: dict) -> str:
    """The Markdown table printed by `make bench` and kept in benchmarks/README.md."""
    rows = ["| measure | this run | reference (same run) | target |", "|---|---|---|---|"]
    procs = r["processes"]
    if "error" in procs:
        rows.append(f"| process figures | failed: {procs['error']} | | |")
    else:
        for count, f in sorted(procs["counts"].items(), key=lambda kv: int(kv[0])):
            ratio = f["naive"]["median"] / f["snapshot"]["median"] if f["snapshot"]["median"] else None
            target = {"300": "<= 0.5 ms, >= 10x", "5000": "<= 10 ms, >= 10x"}.get(count, ">= 10x")
            rows.append(f"| snapshot CPU, {f['processes']} processes (median / p95, n={f['snapshot']['n']}) | "
                        f"{_x(f['snapshot']['median'], ' ms', 3)} / {_x(f['snapshot']['p95'], ' ms', 3)} | "
                        f"naive process_iter: {_x(f['naive']['median'], ' ms', 1)} "
                        f"(**{_x(ratio, 'x', 0)}** cheaper) | {target} |")
        for count, f in sorted(procs["counts"].items(), key=lambda kv: int(kv[0])):
            idle = f.get("idle")
            if not idle:
                continue
            if "error" in idle:
                rows.append(f"| idle agent CPU, {count} processes | failed: {idle['error']} | | |")
                continue
            naive_pct = f["naive"]["median"] / 2000 * 100  # the naive scan once per 2 s poll
            target = "<= 0.1 %" if count == "300" else "<= 1 %"
            rows.append(f"| idle agent CPU over {idle['seconds']:.0f} s, {count} processes (agent + children) | "
                        f"{_x(idle['cpu_percent'], ' %', 3)} of a core | naive scan every 2 s: "
                        f"{_x(naive_pct, ' %', 2)} | {target} |")
        rss = [(c, f["idle"]["rss_mib"]) for c, f in sorted(procs["counts"].items(), key=lambda kv: int(kv[0]))
               if f.get("idle") and "rss_mib" in f["idle"]]
        for count, value in rss:
            rows.append(f"| RSS of the agent (`run --console`), {count} processes | {_x(value, ' MiB', 1)} | "
                        f"Python + psutil alone: {_x(r['bare_python_rss_mib'], ' MiB', 1)} | <= 40 MiB |")
    lat = r["latency"]
    if "error" in lat:
        rows.append(f"| warning latency | failed: {lat['error']} | | |")
    else:
        rows.append(f"| warning latency, bank window mapped -> warning mapped, {lat['tries']} tries "
                    f"(median / p95 / max) | {lat['median_ms']} / {lat['p95_ms']} / {lat['worst_ms']} ms | "
                    f"best try: {lat['best_ms']} ms | p95 <= 50 ms |")
        rows.append(f"| RSS of the UI helper (warm, after the tries) | {_x(lat.get('helper_rss_mib'), ' MiB', 1)} | "
                    f"Python + psutil alone: {_x(r['bare_python_rss_mib'], ' MiB', 1)} | measured |")
    rep = r["replay"]
    rows.append(f"| replay throughput, busy desktop ({rep['steps']} steps of 293 processes, 33 windows, 200 sockets; "
                f"file already read) | {rep['replay_per_s']:,} snapshots/s ({rep['replay_changing_per_s']:,} /s "
                f"with a remote session and a bank page coming and going 4 times) | "
                f"from the file, end to end: {rep['end_to_end_per_s']:,} /s in a cold process "
                f"(incl. {rep['cold_engine_ms']} ms building the indexes once), {rep['end_to_end_warm_per_s']:,} /s "
                f"warm; stdlib `json.loads` of the file alone: {rep['json_loads_per_s']:,} /s (ceiling); "
                f"`Engine.evaluate` warm: {rep['evaluate_warm_per_s']:,} /s | >= 5,000 /s |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer tries, 10 s idle, no 5,000")
    parser.add_argument("--tries", type=int, default=100)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--replay-only", action="store_true",
                        help="only the replay throughput and Engine.evaluate figures (seconds, for profiling work)")
    args = parser.parse_args()
    if args.replay_only:
        before = uptime()
        replay = bench_replay(load_signatures())
        print(f"before: {before}\nafter:  {uptime()}\n")
        print(json.dumps(replay))
        return 0
    counts, idle_counts, tries, idle = [100, 300, 5000], [300, 5000], args.tries, args.idle
    if args.quick:
        counts, idle_counts, tries, idle = [100, 300], [300], 10, 10.0
    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "platform": platform.platform()},
               "uptime_before": uptime()}
    signatures = load_signatures()
    results["replay"] = bench_replay(signatures)
    results["bare_python_rss_mib"] = bare_python_rss()
    results["processes"] = bench_processes(counts, idle, idle_counts)
    results["latency"] = bench_latency(tries)
    results["uptime_after"] = uptime()
    os.makedirs(os.path.join(ROOT, "benchmarks", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "benchmarks", "results", "latest.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"before: {results['uptime_before']}")
    print(f"after:  {results['uptime_after']}\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
