"""Measure the runtime's Kubernetes API with the real kubectl and the official client.

A real stack (embedded engine, provisioning, the services' manifests) in a temporary state
dir; prints figures (no assertions):

* ``kubectl get pods -A``: wall time of the whole command, p50/p99 over ``--runs`` (the
  discovery cache warm, as after a user's first command); the same for
  ``kubectl get deploy -A -o json`` and the official client's ``list_pod_for_all_namespaces``;
* watch event latency: a watch (official client) on the pods; the time from a change
  request (``scale`` custom-mcp 1 -> 2 -> 1, through the API, each once the pods are
  ready) to the pod's watch event (ADDED on the way up, MODIFIED with a
  deletionTimestamp on the way down), p50/max;
* RSS of the runtime daemon on the same manifests and engine: without the Kubernetes API
  (``--no-kube-api``; k8s-mcp then never gets ready, so this is 10 s after start), with it
  idle, and with it after the load above.

Targets on the 2-core reference machine: ``kubectl get pods -A`` p50 <= 100 ms; watch
event <= 200 ms; the API adds <= 30 MB to the runtime.

    .venv/bin/python benchmarks/bench_k8s.py [--runs 30]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from nexuskit.config import KitSettings
from nexuskit.controlplane import cluster, kube, kubeconfig, lifecycle, render
from nexuskit.controlplane.daemon import RuntimeDaemon
from nexuskit.engine import EmbeddedEngine
from nexuskit.provision.provisioner import provision


def free_block(count: int) -> int:
    """A port with ``count - 1`` free ports after it, below the ephemeral range."""
    while True:
        base = random.randrange(20000, 32000 - count)
        with contextlib.ExitStack() as stack:
            try:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base


def wait(check: Callable[[], bool], timeout: float = 60) -> None:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise SystemExit("timed out")
        time.sleep(0.005)


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += psutil.Process(pid).memory_info().rss
    return total / 2**20


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed_command(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warms the discovery cache
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        out.append((time.perf_counter() - started) * 1000)
    return out


def ready_custom_mcp(settings: KitSettings) -> int:
    """Ready custom-mcp pods, when no other is left (scaled exactly)."""
    pods = [p for p in cluster.ps(settings, "nexus-mcp") if p["deployment"] == "custom-mcp"]
    return sum(1 for p in pods if p["ready"]) if all(p["ready"] for p in pods) else -1


def watch_latencies(settings: KitSettings, rounds: int) -> list[float]:
    """Per change: request sent -> the watch event of the pod it made (ms)."""
    from kubernetes import watch

    core = kube.core(settings)
    apps = kube.apps(settings)
    selector = "app.kubernetes.io/name=custom-mcp"
    arrivals: list[tuple[float, str, bool]] = []
    stream = watch.Watch()
    version = core.list_namespaced_pod("nexus-mcp", label_selector=selector).metadata.resource_version

    def follow() -> None:
        with contextlib.suppress(Exception):  # the stack stops under a watch that ends with it
            for event in stream.stream(core.list_namespaced_pod, "nexus-mcp", label_selector=selector,
                                       resource_version=version, timeout_seconds=600):  # fmt: skip
                deleting = event["object"].metadata.deletion_timestamp is not None
                arrivals.append((time.perf_counter(), event["type"], deleting))

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    time.sleep(0.5)
    out = []
    for _ in range(rounds):
        for replicas in (2, 1):
            seen = len(arrivals)
            sent = time.perf_counter()
            body = {"spec": {"replicas": replicas}}
            apps.patch_namespaced_deployment_scale("custom-mcp", "nexus-mcp", body)

            def change(start: int = seen, up: bool = replicas == 2) -> float | None:
                """When the pod's event arrived: ADDED going up; terminating or DELETED going down."""
                for at, kind, deleting in arrivals[start:]:
                    if (up and kind == "ADDED") or (not up and (deleting or kind == "DELETED")):
                        return at
                return None

            wait(lambda: change() is not None, 30)
            out.append(((change() or sent) - sent) * 1000)
            wait(lambda count=replicas: ready_custom_mcp(settings) == count, 60)
    stream.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--watch-rounds", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="state dir to use and keep (debugging)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-k8s-") as tmp:
        workdir = args.keep or Path(tmp)
        base = free_block(110)
        os.environ["NEXUSKIT_SERVICE_PORT_BASE"] = str(base + 100)
        settings = KitSettings(port=base, state_dir=workdir)
        spec = settings.stack()
        engine = EmbeddedEngine(settings)
        daemon = RuntimeDaemon(settings)
        figures: dict[str, float] = {}
        try:
            engine.start()
            target = engine.target(spec.region)
            provision(spec, target)
            values = render.manifest_values(spec, account_id=target.account_id)
            render.render_manifests(spec, daemon.manifests_dir, values=values)
            # without the API k8s-mcp (and agent-core after it) never gets ready: measure once settled
            daemon.start(spec, settings.endpoint, wait_ready=False, extra_args=("--no-kube-api",))
            time.sleep(10)
            figures["RSS runtime daemon, no Kubernetes API (MB)"] = rss_mb([daemon.pid() or 0])
            daemon.stop()
            lifecycle.start(settings, spec, target)
            time.sleep(3)
            runtime_pid = daemon.pid() or 0
            figures["RSS runtime daemon, API idle (MB)"] = rss_mb([runtime_pid])
            env = {**os.environ, "KUBECONFIG": str(kubeconfig.kubeconfig_path(settings)),
                   "KUBECACHEDIR": str(workdir / "kube-cache")}  # fmt: skip
            pods = timed_command(["kubectl", "get", "pods", "-A"], env, args.runs)
            figures["kubectl get pods -A p50 (ms)"] = statistics.median(pods)
            figures["kubectl get pods -A p99 (ms)"] = percentile(pods, 0.99)
            deploys = timed_command(["kubectl", "get", "deploy", "-A", "-o", "json"], env, args.runs)
            figures["kubectl get deploy -A -o json p50 (ms)"] = statistics.median(deploys)
            core = kube.core(settings)
            listed = []
            for _ in range(args.runs):
                started = time.perf_counter()
                core.list_pod_for_all_namespaces()
                listed.append((time.perf_counter() - started) * 1000)
            figures["official client list pods (all namespaces) p50 (ms)"] = statistics.median(listed)
            latencies = watch_latencies(settings, args.watch_rounds)
            figures["watch event after a pod change p50 (ms)"] = statistics.median(latencies)
            figures["watch event after a pod change max (ms)"] = max(latencies)
            time.sleep(1)
            figures["RSS runtime daemon, API after the load (MB)"] = rss_mb([runtime_pid])
            figures["runtime daemon CPU time so far (s)"] = sum(psutil.Process(runtime_pid).cpu_times()[:2])
        finally:
            daemon.stop()
            engine.stop()
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:8.1f}")


if __name__ == "__main__":
    main()
