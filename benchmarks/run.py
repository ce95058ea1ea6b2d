"""`make bench`: how fast and how small the guard is.

Measures, on this machine:
- loading and compiling the shipped signatures;
- Engine.evaluate on synthetic snapshots of a busy desktop (300 processes,
  40 windows, 200 sockets), quiet and alarming;
- a live Linux snapshot (first, then steady state: only new processes read);
- memory: RSS of this process after loading, and tracemalloc's peak for
  the engine's own allocations.

Figures are printed as a Markdown table and written to
benchmarks/results/latest.json. They are never asserted in tests: the
machines are shared and noisy. benchmarks/README.md records a run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import psutil  # noqa: E402

from agent.engine import Engine  # noqa: E402
from agent.model import Connection, ProcessInfo, Snapshot, WindowInfo  # noqa: E402
from agent.signatures.loader import load_signatures  # noqa: E402


def timed(fn, repeat: int):
    """Run ``fn`` ``repeat`` times; return per-call seconds."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary(samples):
    samples = sorted(samples)
    return {
        "median_ms": round(statistics.median(samples) * 1000, 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1] * 1000, 3),
        "max_ms": round(samples[-1] * 1000, 3),
        "n": len(samples),
    }


def busy_snapshot(alarming: bool, t: float = 0.0) -> Snapshot:
    """A Windows desktop with many ordinary processes and windows."""
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


def bench_engine(signatures):
    results = {}
    for name, alarming in (("evaluate_quiet", False), ("evaluate_alarming", True)):
        engine = Engine(signatures)
        snap = busy_snapshot(alarming)
        engine.evaluate(snap)  # compile indexes, learn first-seen apps
        results[name] = summary(timed(lambda: engine.evaluate(snap), 2000))
    t0 = time.perf_counter()
    Engine(signatures).compiled("windows")
    results["compile_indexes_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    tracemalloc.start()
    engine = Engine(signatures)
    for i in range(200):
        engine.evaluate(busy_snapshot(i % 2 == 0, t=float(i)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results["engine_tracemalloc_peak_kib"] = round(peak / 1024)
    return results


def bench_collector():
    try:
        from agent.collectors import get_collector
        collector = get_collector()
    except Exception as exc:  # report, don't fail the bench
        return {"error": f"{type(exc).__name__}: {exc}"}
    t0 = time.perf_counter()
    first = collector.snapshot()
    first_ms = (time.perf_counter() - t0) * 1000
    steady = summary(timed(collector.snapshot, 50))
    collector.close()
    return {"backend": collector.name, "processes": len(first.processes), "windows": len(first.windows),
            "first_snapshot_ms": round(first_ms, 2), "steady_snapshot": steady,
            "unavailable": [list(u) for u in first.unavailable]}


def main() -> int:
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    t0 = time.perf_counter()
    signatures = load_signatures()
    load_ms = (time.perf_counter() - t0) * 1000
    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "signatures": {"apps": len(signatures.apps), "sensitive": len(signatures.sensitive),
                       "load_ms": round(load_ms, 1)},
        "engine": bench_engine(signatures),
        "collector": bench_collector(),
        "rss_mib_after_load": round(proc.memory_info().rss / 2**20, 1),
        "rss_mib_before_load": round(rss0 / 2**20, 1),
    }
    os.makedirs(os.path.join(ROOT, "benchmarks", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "benchmarks", "results", "latest.json"), "w") as f:
        json.dump(results, f, indent=1)
    e, c = results["engine"], results["collector"]
    print("| measure | value |\n|---|---|")
    print(f"| signatures: apps / sensitive contexts | {results['signatures']['apps']} / "
          f"{results['signatures']['sensitive']} |")
    print(f"| load signatures (YAML + validation) | {results['signatures']['load_ms']} ms |")
    print(f"| compile engine indexes (one platform) | {e['compile_indexes_ms']} ms |")
    for name in ("evaluate_quiet", "evaluate_alarming"):
        s = e[name]
        print(f"| Engine.evaluate, {name.split('_')[1]} busy desktop (median / p95 / max, n={s['n']}) | "
              f"{s['median_ms']} / {s['p95_ms']} / {s['max_ms']} ms |")
    print(f"| engine allocations, tracemalloc peak over 200 snapshots | {e['engine_tracemalloc_peak_kib']} KiB |")
    if "error" in c:
        print(f"| live collector | unavailable: {c['error']} |")
    else:
        print(f"| live {c['backend']} snapshot: first ({c['processes']} processes, {c['windows']} windows) | "
              f"{c['first_snapshot_ms']} ms |")
        s = c["steady_snapshot"]
        print(f"| live snapshot, steady state (median / p95, n={s['n']}) | {s['median_ms']} / {s['p95_ms']} ms |")
    print(f"| RSS before / after loading signatures | {results['rss_mib_before_load']} / "
          f"{results['rss_mib_after_load']} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
