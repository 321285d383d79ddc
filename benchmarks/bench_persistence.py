"""What persistence costs requests: snapshot duration and PutObject latency during snapshots.

A fixture writes a state of ``--objects`` S3 objects (1 KiB) and ``--records`` Kinesis
records (130 B) straight into a state dir (through moto's models and the engine's own
``StateStore``, so it takes seconds, not the hours the API would), then a real engine
(``python -m emulation``, IAM and limits off, default snapshot interval) is started on it
and driven for ``--seconds``: one client puts 1 KiB objects in a loop while another puts
a Kinesis batch every 0.2 s (so every snapshot writes S3 and Kinesis). Printed per run:
snapshots taken and their duration (the engine's ``last_snapshot_ms``, sampled), PutObject
per second, and p50 / p99 / max PutObject latency.

``--tree LABEL=PATH`` runs the engine (and the fixture) from another source tree, e.g. a
copy of the repository before a change; runs of several trees are interleaved over
``--rounds`` and the ratios against the first tree are printed.

    .venv/bin/python benchmarks/bench_persistence.py [--objects 20000] [--records 200000]
        [--seconds 20] [--rounds 2] [--tree before=/tmp/before --tree after=.]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "bench-persistence"
STREAM = "bench-persistence"

FIXTURE = f"""
import base64, os, sys
from pathlib import Path
from moto.s3.models import s3_backends
from moto.kinesis.models import Record, kinesis_backends
from emulation.core.persistence import StateStore

objects, records, state_dir = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
s3 = s3_backends["{ACCOUNT}"]["aws"]
s3.create_bucket("{BUCKET}", "{REGION}")
for i in range(objects):
    s3.put_object("{BUCKET}", f"fixture/{{i}}", os.urandom(16) + b"x" * 1008)
kinesis = kinesis_backends["{ACCOUNT}"]["{REGION}"]
kinesis.create_stream("{STREAM}", shard_count=4, stream_mode=None)
shards = list(kinesis.describe_stream(stream_arn=None, stream_name="{STREAM}").shards.values())
data = base64.b64encode(b"y" * 130).decode()
for i in range(records):
    shards[i % 4].records[i // 4 + 1] = Record(str(i), data, i // 4 + 1, "0")
store = StateStore(state_dir)
store.write(store.serialize(None, {{}}), store.generation + 1)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), str(ROOT)])
    env.pop("AWS_ENDPOINT_URL", None)
    return env


def build_state(tree: Path, state_dir: Path, objects: int, records: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", FIXTURE, str(objects), str(records), str(state_dir)],
        cwd=tree,
        env=tree_env(tree),
        check=True,
    )
    return time.perf_counter() - started


def health(endpoint: str, token: str) -> dict[str, Any] | None:
    request = urllib.request.Request(
        f"{endpoint}/_nexus/health", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            doc: dict[str, Any] = json.load(answer)
            return doc
    except OSError:
        return None


def run(label: str, tree: Path, args: argparse.Namespace) -> dict[str, float]:
    import boto3
    from botocore.config import Config

    with tempfile.TemporaryDirectory(prefix="bench-persistence-") as tmp:
        state_dir = Path(tmp)
        fixture_s = build_state(tree, state_dir, args.objects, args.records)
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        log_file = open(state_dir / "engine.log", "wb")  # noqa: SIM115 - closed below
        cmd = [sys.executable, "-m", "emulation", "--port", str(port), "--state-dir", str(state_dir)]
        cmd += ["--iam", "off", "--kinesis-limits", "off"]
        proc = subprocess.Popen(cmd, cwd=tree, env=tree_env(tree), stdout=log_file, stderr=subprocess.STDOUT)
        try:
            started = time.perf_counter()
            token_file = state_dir / "engine-token"
            while not token_file.exists() or health(endpoint, token_file.read_text().strip()) is None:
                if proc.poll() is not None:
                    raise RuntimeError(f"engine exited; see {state_dir / 'engine.log'}")
                time.sleep(0.05)
            token = token_file.read_text().strip()
            up_s = time.perf_counter() - started
            config = Config(retries={"max_attempts": 0}, read_timeout=120, connect_timeout=10)
            session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench")
            s3 = session.client("s3", endpoint_url=endpoint, region_name=REGION, config=config)
            kinesis = session.client("kinesis", endpoint_url=endpoint, region_name=REGION, config=config)
            stop = threading.Event()
            durations: list[float] = []

            def feed_kinesis() -> None:
                batch = [{"Data": b"z" * 130, "PartitionKey": str(i)} for i in range(100)]
                while not stop.wait(0.2):
                    kinesis.put_records(StreamName=STREAM, Records=batch)

            def sample() -> None:
                while not stop.wait(0.25):
                    doc = health(endpoint, token)
                    if doc and doc.get("persistence") and doc["persistence"]["snapshots"]:
                        durations.append(float(doc["persistence"]["last_snapshot_ms"]))

            helpers = [threading.Thread(target=feed_kinesis), threading.Thread(target=sample)]
            for thread in helpers:
                thread.start()
            body = b"p" * 1024
            latencies: list[float] = []
            begin = time.perf_counter()
            i = 0
            while time.perf_counter() - begin < args.seconds:
                t0 = time.perf_counter()
                s3.put_object(Bucket=BUCKET, Key=f"load/{i}", Body=body)
                latencies.append(time.perf_counter() - t0)
                i += 1
            elapsed = time.perf_counter() - begin
            stop.set()
            for thread in helpers:
                thread.join()
            doc = health(endpoint, token) or {}
            snapshots = float((doc.get("persistence") or {}).get("snapshots", 0))
        finally:
            proc.terminate()
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log_file.close()
    latencies.sort()
    return {
        "fixture_s": fixture_s,
        "up_s": up_s,
        "snapshots": snapshots,
        "snapshot_ms_median": statistics.median(durations) if durations else 0.0,
        "snapshot_ms_max": max(durations) if durations else 0.0,
        "put_per_s": len(latencies) / elapsed,
        "put_p50_ms": latencies[len(latencies) // 2] * 1000,
        "put_p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "put_max_ms": latencies[-1] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--tree", action="append", default=[], help="LABEL=PATH (default: this repo)")
    args = parser.parse_args()
    trees = [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.tree] or [("here", ROOT)]
    results: dict[str, list[dict[str, float]]] = {label: [] for label, _ in trees}
    for round_no in range(args.rounds):
        for label, tree in trees:
            figures = run(label, tree, args)
            results[label].append(figures)
            shown = "  ".join(f"{k}={v:.1f}" for k, v in figures.items())
            print(f"round {round_no + 1} {label:>8}: {shown}", flush=True)
    print(f"\nmedians ({args.objects} objects, {args.records} records, {args.seconds:.0f} s of load):")
    first = trees[0][0]
    medians = {
        label: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for label, runs in results.items()
    }
    keys = list(medians[first])
    print(f"{'':>10} " + " ".join(f"{k:>18}" for k in keys))
    for label, figures in medians.items():
        print(f"{label:>10} " + " ".join(f"{figures[k]:>18.1f}" for k in keys))
        if label != first:
            ratios = [figures[k] / medians[first][k] if medians[first][k] else 0.0 for k in keys]
            print(f"{label + '/' + first:>10} " + " ".join(f"{r:>18.2f}" for r in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
