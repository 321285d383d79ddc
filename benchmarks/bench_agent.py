"""Measure agent-core and the MCP services on the embedded stack (``nexuskit up --local``).

Prints figures (no assertions):

* ``enrich-telemetry`` latency over HTTP (``POST /workflow/execute``, synchronous): p50, p99
  and the server-side run duration; target p50 <= 300 ms;
* MCP tool-call round trip on one open session through custom-mcp's Service port
  (``kv_get`` and ``weather_enrich``): p50, p99; target p50 <= 15 ms;
* event -> result: a telemetry event put on ``nexus-dev-intake`` until its insight is in
  gold (the consumer, the workflow, the writes); target p50 <= 3 s with fast buffering.

The stack is started in a temporary state dir and stopped at the end. ``--iam off`` is the
default here: with ``--iam enforce`` the stack's roles still lack the rights agent-core's
tables and aws-mcp's lake commits and dissemination need (see services/mcp/README.md).

    .venv/bin/python benchmarks/bench_agent.py [--runs 100] [--calls 300] [--events 20] [--iam off]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.controlplane.tokens import service_token
from nexuskit.engine import EmbeddedEngine, free_stack_port


def free_block(count: int) -> int:
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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, values: list[float], target: str = "") -> None:
    print(
        f"{name:<46} n={len(values):<4} p50={pct(values, 0.5):8.1f} ms  p99={pct(values, 0.99):8.1f} ms"
        f"  mean={statistics.fmean(values):8.1f} ms  {target}"
    )


#: the operator's ServiceAccount token (the services refuse anonymous callers); set in main()
TOKEN: dict[str, str] = {}


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN['operator']}"} if TOKEN else {}


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **auth()}
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=60) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


def event(n: int, tag: str) -> dict[str, Any]:
    return {
        "id": f"bench-{tag}-{n}",
        "type": "telemetry",
        "device_id": f"dev-bench-{n % 10:02d}",
        "ts": f"2026-11-26T10:{n % 60:02d}:00.000Z",
        "lat": 45.0 + (n % 7) / 10,
        "lon": -122.0 - (n % 5) / 10,
        "readings": {"temperature_c": 20.0 + n % 9, "humidity_pct": 40.0, "pressure_hpa": 1012.0},
        "battery_pct": 80.0,
    }


def bench_workflow(agent: str, runs: int, tag: str) -> None:
    client, server = [], []
    steps: dict[str, list[float]] = {}
    for n in range(runs + 3):
        started = time.perf_counter()
        run = post(agent + "/workflow/execute", {"name": "enrich-telemetry", "input": event(n, tag)})
        elapsed = (time.perf_counter() - started) * 1000
        if run["status"] != "succeeded":
            raise SystemExit(f"enrich-telemetry failed: {run['error']}")
        if n >= 3:  # the first runs open sessions and load pyarrow in aws-mcp
            client.append(elapsed)
            server.append(float(run["duration_ms"]))
            for step in run["steps"]:
                steps.setdefault(step["id"], []).append(float(step["duration_ms"] or 0))
    line("enrich-telemetry over HTTP (client)", client, "target p50 <= 300 ms")
    line("enrich-telemetry run duration (server)", server)
    for name, values in steps.items():
        line(f"  step {name}", values)


async def _mcp_calls(url: str, calls: int) -> tuple[list[float], list[float]]:
    from services.common.mcpclient import mcp_client

    kv, weather = [], []
    async with mcp_client(url, TOKEN.get("operator")) as client:
        await client.call_tool("kv_get", {"namespace": "bench", "key": "x"})
        for n in range(calls):
            started = time.perf_counter()
            await client.call_tool("kv_get", {"namespace": "bench", "key": f"k{n}"})
            kv.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await client.call_tool(
                "weather_enrich", {"lat": 45.0 + n / 1000, "lon": -122.0, "time": "2026-11-26T10:00:00Z"}
            )
            weather.append((time.perf_counter() - started) * 1000)
    return kv, weather


def bench_mcp(url: str, calls: int) -> None:
    kv, weather = asyncio.run(_mcp_calls(url, calls))
    line("MCP round trip custom.kv_get (one session)", kv, "target p50 <= 15 ms")
    line("MCP round trip custom.weather_enrich", weather)


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=auth()), timeout=10) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


def bench_events(target: Any, agent: str, events: int, tag: str) -> None:
    """Put -> the gold insight exists and its run (silver finding included) has finished."""
    kinesis, s3 = target.client("kinesis"), target.client("s3")
    latencies = []
    for n in range(events):
        item = event(1000 + n, tag)
        key = f"agent-insights/date=2026-11-26/{item['device_id']}-{item['id']}.json"
        started = time.perf_counter()
        kinesis.put_record(
            StreamName="nexus-dev-intake",
            Data=json.dumps(item).encode() + b"\n",
            PartitionKey=item["device_id"],
        )
        while s3.list_objects_v2(Bucket="nexus-dev-gold-us-west-2", Prefix=key).get("KeyCount", 0) == 0:
            if time.perf_counter() - started > 60:
                raise SystemExit(f"event {item['id']} did not reach gold within 60 s")
            time.sleep(0.02)
        body = s3.get_object(Bucket="nexus-dev-gold-us-west-2", Key=key)["Body"].read()
        run_id = json.loads(body)["provenance"]["run_id"]
        while get(f"{agent}/workflow/runs/{run_id}")["status"] == "running":
            time.sleep(0.02)
        latencies.append((time.perf_counter() - started) * 1000)
    line("event on the stream -> run done, silver + gold", latencies, "target p50 <= 3000 ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--iam", default="off", choices=["off", "log", "enforce"])
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    port = free_stack_port()
    env = dict(os.environ, NEXUSKIT_SERVICE_PORT_BASE=str(free_block(8)))
    env.pop("AWS_ENDPOINT_URL", None)
    common = ["--port", str(port), "--state-dir", str(state)]
    started = time.perf_counter()
    up = subprocess.run(
        [
            sys.executable,
            "-m",
            "nexuskit.cli",
            "up",
            "--local",
            "--json",
            "--iam",
            args.iam,
            "--firehose-buffering",
            "fast",
            *common,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if up.returncode != 0:
        raise SystemExit(f"nexuskit up failed: {up.stderr.strip()}")
    print(f"stack up in {time.perf_counter() - started:.1f} s (iam {args.iam})")
    endpoints = json.loads(up.stdout)["endpoints"]
    try:
        settings = KitSettings(port=port, state_dir=state)
        target = EmbeddedEngine(settings).target("us-west-2")
        TOKEN["operator"] = service_token(settings)
        tag = uuid.uuid4().hex[:6]
        bench_workflow(str(endpoints["agent_core"]), args.runs, tag)
        bench_mcp(str(endpoints["mcp"]["custom"]), args.calls)
        bench_events(target, str(endpoints["agent_core"]), args.events, tag)
    finally:
        subprocess.run(
            [sys.executable, "-m", "nexuskit.cli", "down", "--purge", *common],
            capture_output=True,
            env=env,
            check=False,
        )


if __name__ == "__main__":
    main()
