"""Measure token issuance through the HTTP API: cold (first call after deploy) and warm.

Starts an engine daemon, provisions the stack, deploys the edge, then times ``POST /auth``
over HTTP exactly as a producer calls it: the first call (a cold start of the auth
Lambda's sandbox) and ``--calls`` warm calls (p50/p90/p99). Also prints the deploy time,
the JWKS latency and the warm sandbox's memory. Prints figures, asserts nothing.

Targets on the 2-core reference machine: warm p50 <= 60 ms, cold <= 1.5 s (SAM CLI:
about 1 s per request; LocalStack's Lambda 0.7-7.5 s cold).

    .venv/bin/python benchmarks/bench_auth.py [--calls 200] [--iam enforce] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from nexuskit.config import KitSettings
from nexuskit.edge.auth import auth_url, deploy_edge, jwks_url
from nexuskit.engine import EmbeddedEngine, free_stack_port
from nexuskit.provision.provisioner import provision


def post(url: str, doc: dict[str, Any]) -> float:
    request = urllib.request.Request(
        url, data=json.dumps(doc).encode(), method="POST", headers={"content-type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        if response.status != 200:
            raise SystemExit(f"POST /auth answered {response.status}")
    return (time.perf_counter() - started) * 1000


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def sandbox_rss_mb(engine_pid: int) -> float:
    """RSS of the engine's Lambda worker processes (children running bootstrap.py)."""
    total = 0.0
    for child in psutil.Process(engine_pid).children(recursive=True):
        try:
            if any("bootstrap.py" in part for part in child.cmdline()):
                total += child.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return total


def run(calls: int, iam: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as workdir:
        settings = KitSettings(port=free_stack_port(), state_dir=Path(workdir), iam=iam)  # type: ignore[arg-type]
        engine = EmbeddedEngine(settings)
        started = time.perf_counter()
        engine.start()
        try:
            spec = settings.stack()
            target = engine.target(spec.region)
            provision(spec, target)
            provisioned = time.perf_counter()
            deploy_edge(spec, target)
            deployed = time.perf_counter()
            url = auth_url(spec, target)
            if url is None:
                raise SystemExit("the HTTP API was not deployed")
            cold = post(url, {"user": "bench-cold", "ttl_minutes": 30})
            warm = [post(url, {"user": f"bench-{i}", "ttl_minutes": 30}) for i in range(calls)]
            jwks = [get(jwks_url(url)) for _ in range(20)]
            pid = engine.pid()
            rss = sandbox_rss_mb(pid) if pid else float("nan")
        finally:
            engine.stop()
    return {
        "iam": iam,
        "engine_and_provision_s": round(provisioned - started, 3),
        "deploy_edge_s": round(deployed - provisioned, 3),
        "cold_ms": round(cold, 1),
        "warm_calls": calls,
        "warm_p50_ms": round(percentile(warm, 0.50), 2),
        "warm_p90_ms": round(percentile(warm, 0.90), 2),
        "warm_p99_ms": round(percentile(warm, 0.99), 2),
        "warm_mean_ms": round(statistics.fmean(warm), 2),
        "jwks_p50_ms": round(percentile(jwks, 0.50), 2),
        "sandbox_rss_mb": round(rss, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--iam", choices=["off", "log", "enforce"], default="off")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    figures = run(args.calls, args.iam)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"token issuance through the HTTP API (IAM {figures['iam']})")
    print(f"  engine + provision   {figures['engine_and_provision_s']:.2f} s")
    print(f"  deploy edge          {figures['deploy_edge_s']:.2f} s")
    print(f"  cold (first call)    {figures['cold_ms']:.0f} ms      target <= 1500 ms")
    print(
        f"  warm ({figures['warm_calls']} calls)     p50 {figures['warm_p50_ms']:.1f} ms  "
        f"p90 {figures['warm_p90_ms']:.1f} ms  p99 {figures['warm_p99_ms']:.1f} ms  "
        f"mean {figures['warm_mean_ms']:.1f} ms      target p50 <= 60 ms"
    )
    print(f"  JWKS                 p50 {figures['jwks_p50_ms']:.1f} ms")
    print(f"  warm sandbox RSS     {figures['sandbox_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
