"""Measure `nexuskit up --local`: cold and warm up, engine RSS, status latency.

Prints figures (no assertions). Targets on the 2-core reference machine: cold up (command
start to every AWS resource provisioned) <= 2 s, engine RSS <= 200 MB (a LocalStack
container takes 15-90 s and about 1 GB). `up` then also starts the control plane and waits
until every Deployment is ready; that time is printed separately, and so is the RSS of the
whole stack (engine, runtime daemon and every pod; target <= 600 MB) and the CPU the whole
stack uses while nobody uses it (probes, consumers polling the stream, leases; percent of
one core over ``--idle-seconds``).

    .venv/bin/python benchmarks/bench_up.py [--runs 3] [--idle-seconds 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from nexuskit import lifecycle
from nexuskit.config import KitSettings
from nexuskit.engine import EmbeddedEngine, free_stack_port


def cli(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "nexuskit.cli", *args], capture_output=True, text=True, check=False
    )
    return time.perf_counter() - started, result


def one_run(workdir: Path, idle_seconds: float) -> dict[str, float]:
    port = free_stack_port()
    args = ["--port", str(port), "--state-dir", str(workdir)]
    command_start = time.time()
    cold, result = cli("up", "--local", "--json", *args)
    if result.returncode != 0:
        raise SystemExit(f"up failed: {result.stderr}")
    report = json.loads(result.stdout)
    warm, _ = cli("up", "--local", "--json", *args)
    settings = KitSettings(port=port, state_dir=workdir)
    pid = EmbeddedEngine(settings).pid()
    rss_mb = psutil.Process(pid).memory_info().rss / 2**20 if pid else float("nan")
    stack = stack_processes(settings, pid)
    stack_mb = sum(_safe(lambda p: p.memory_info().rss, p) for p in stack) / 2**20
    cpu_before = sum(_safe(_cpu_seconds, p) for p in stack)
    time.sleep(idle_seconds)
    idle_cpu_pct = 100 * (sum(_safe(_cpu_seconds, p) for p in stack) - cpu_before) / idle_seconds
    status_lib = []
    for _ in range(5):
        started = time.perf_counter()
        lifecycle.status(settings)
        status_lib.append(time.perf_counter() - started)
    status_cli, _ = cli("status", "--json", *args)
    cli("down", *args)
    restart_up, _ = cli("up", "--local", "--json", *args)
    cli("down", *args)
    return {
        # command start (incl. the CLI's own start-up) to every AWS resource provisioned
        "cold_up_s": report["timings"]["aws_ready_at"] - command_start,
        "cold_up_with_control_plane_s": cold,
        "engine_start_s": report["timings"]["engine_s"],
        "provision_s": report["timings"]["provision_s"],
        "control_plane_s": report["timings"]["control_plane_s"],
        "resources": float(len(report["resources"])),
        "warm_up_s": warm,
        "restart_up_s": restart_up,
        "engine_rss_mb": rss_mb,
        "stack_rss_mb": stack_mb,
        "stack_idle_cpu_pct": idle_cpu_pct,
        "status_lib_ms": statistics.median(status_lib) * 1000,
        "status_cli_s": status_cli,
    }


def stack_processes(settings: KitSettings, engine_pid: int | None) -> list[psutil.Process]:
    """The engine, the runtime daemon and every pod process it runs."""
    from nexuskit.controlplane.daemon import RuntimeDaemon

    found: list[psutil.Process] = []
    for pid in (p for p in (engine_pid, RuntimeDaemon(settings).pid()) if p):
        try:
            proc = psutil.Process(pid)
            found += [proc] if pid == engine_pid else [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


def _cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _safe(measure: Callable[[psutil.Process], float], proc: psutil.Process) -> float:
    """A figure of a process, 0 once it is gone."""
    try:
        return measure(proc)
    except psutil.NoSuchProcess:
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=20.0, help="how long the idle CPU is measured")
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="nexus-bench-up-") as tmp:
            runs.append(one_run(Path(tmp), args.idle_seconds))
        print(f"run {i + 1}: " + ", ".join(f"{k}={v:.3f}" for k, v in runs[-1].items()))
    print()
    print(f"{'figure':22} {'median':>10} {'min':>10} {'max':>10}")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"{key:22} {statistics.median(values):10.3f} {min(values):10.3f} {max(values):10.3f}")
    cold = statistics.median(r["cold_up_s"] for r in runs)
    rss = statistics.median(r["engine_rss_mb"] for r in runs)
    stack = statistics.median(r["stack_rss_mb"] for r in runs)
    print()
    print(
        f"cold up to all AWS resources provisioned {cold:.2f} s (target <= 2 s): "
        f"{'PASS' if cold <= 2 else 'MISS'}"
    )
    print(f"engine RSS {rss:.0f} MB (target <= 200 MB): {'PASS' if rss <= 200 else 'MISS'}")
    print(
        f"stack RSS {stack:.0f} MB (engine + runtime + pods; target <= 600 MB): "
        f"{'PASS' if stack <= 600 else 'MISS'}"
    )
    idle = statistics.median(r["stack_idle_cpu_pct"] for r in runs)
    print(f"idle stack CPU {idle:.1f} % of one core (engine + runtime + pods, nobody using them)")


if __name__ == "__main__":
    main()
