"""Measure the local control plane (the process runtime running the services' manifests).

Prints figures (no assertions):

* engine ready -> every Deployment ready, as ``nexuskit up --local`` does it (provisioning
  included), and its parts: provisioning, runtime start -> all ready;
* runtime restart on a provisioned engine -> all ready;
* scale custom-mcp 1 -> 5 (until 5 pods are ready), and back to 1;
* rolling restart of agent-core (until the new pods are all ready);
* RSS of the engine, the runtime daemon, its pods, and the whole (engine + control plane).

Targets on the 2-core reference machine: all ready <= 10 s; engine + control plane <= 1 GB.

    .venv/bin/python benchmarks/bench_runtime.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from nexuskit.config import KitSettings
from nexuskit.controlplane import cluster, lifecycle
from nexuskit.controlplane.daemon import RuntimeDaemon
from nexuskit.engine import EmbeddedEngine
from nexuskit.provision.provisioner import provision


def free_block(count: int) -> int:
    """A port with ``count - 1`` free ports after it, below the ephemeral range."""
    while True:
        base = random.randrange(20000, 32000 - count)
        ok = True
        for port in range(base, base + count):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base


def wait(check: Callable[[], bool], timeout: float = 60) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise SystemExit("timed out")
        time.sleep(0.02)
    return time.perf_counter() - started


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def one_run(workdir: Path) -> dict[str, float]:
    base = free_block(110)
    os.environ["NEXUSKIT_SERVICE_PORT_BASE"] = str(base + 100)
    settings = KitSettings(port=base, state_dir=workdir)
    spec = settings.stack()
    engine = EmbeddedEngine(settings)
    daemon = RuntimeDaemon(settings)
    figures: dict[str, float] = {}
    try:
        engine.start()
        engine_ready = time.perf_counter()
        target = engine.target(spec.region)
        provision(spec, target)
        provisioned = time.perf_counter()
        lifecycle.start(settings, spec, target)
        ready = time.perf_counter()
        figures["engine ready -> all deployments ready (s)"] = ready - engine_ready
        figures["  provisioning (s)"] = provisioned - engine_ready
        figures["  runtime start -> all ready (s)"] = ready - provisioned

        def ready_pods(deployment: str) -> int:
            return sum(1 for p in cluster.ps(settings) if p["deployment"] == deployment and p["ready"])

        time.sleep(1)
        engine_pid = engine.pid() or 0
        runtime_pids = daemon.processes()
        figures["RSS engine (MB)"] = rss_mb([engine_pid])
        figures["RSS runtime daemon (MB)"] = rss_mb(runtime_pids[:1])
        figures["RSS pods, all 7 (MB)"] = rss_mb(runtime_pids[1:])
        figures["RSS engine + control plane (MB)"] = rss_mb([engine_pid, *runtime_pids])

        started = time.perf_counter()
        cluster.scale(settings, "custom-mcp", 5)
        wait(lambda: ready_pods("custom-mcp") == 5)
        figures["scale custom-mcp 1 -> 5 ready (s)"] = time.perf_counter() - started
        figures["RSS engine + control plane, 11 pods (MB)"] = rss_mb([engine_pid, *daemon.processes()])
        started = time.perf_counter()
        cluster.scale(settings, "custom-mcp", 1)
        wait(lambda: len([p for p in cluster.ps(settings) if p["deployment"] == "custom-mcp"]) == 1)
        figures["scale custom-mcp 5 -> 1 (s)"] = time.perf_counter() - started

        old = {p["name"] for p in cluster.ps(settings) if p["deployment"] == "agent-core"}
        started = time.perf_counter()
        cluster.restart(settings, "agent-core")

        def rolled() -> bool:
            pods = [p for p in cluster.ps(settings) if p["deployment"] == "agent-core"]
            return len(pods) == 2 and all(p["ready"] and p["name"] not in old for p in pods)

        wait(rolled)
        figures["rolling restart agent-core, 2 pods (s)"] = time.perf_counter() - started

        daemon.stop()
        started = time.perf_counter()
        lifecycle.start(settings, spec, target)
        figures["runtime restart on a provisioned engine -> all ready (s)"] = time.perf_counter() - started
    finally:
        started = time.perf_counter()
        daemon.stop()
        figures["runtime stop, every pod gone (s)"] = time.perf_counter() - started
        engine.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    runs = []
    for index in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="nexus-bench-runtime-") as tmp:
            runs.append(one_run(Path(tmp)))
        print(f"run {index + 1}/{args.runs} done", flush=True)
    print(f"\ncontrol plane figures ({args.runs} run(s), median; {os.cpu_count()} CPUs)")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:58} {statistics.median(values):8.2f}   (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
