"""Measure the data plane: put -> bronze latency, delivery throughput, our overhead.

Prints figures (no assertions):
* put -> bronze latency p50/p99 in fast buffering mode (target p50 <= 1.5 s);
* delivery throughput (records/s from first put to last record in bronze) with limits off,
  with the engine's CPU and RSS while it runs;
* PutRecords throughput of the same client loop against plain moto (``python -m
  moto.server``) and against our engine, and the ratio (target: our extensions cost
  <= 25 % of plain moto's throughput).

    .venv/bin/python benchmarks/bench_dataplane.py [--records 20000] [--latency-samples 40]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nexuskit.aws import AwsTarget
from tests.helpers import EngineProcess, free_port

BRONZE = "nexus-dev-bronze-us-west-2"
STREAM = "nexus-dev-intake"
FIREHOSE = "nexus-dev-to-lake"


def setup_pipeline(target: AwsTarget, firehose: bool = True) -> None:
    """The primary pipeline only: 2-shard stream, bronze bucket, GZIP Firehose."""
    kinesis, s3 = target.client("kinesis"), target.client("s3")
    kinesis.create_stream(StreamName=STREAM, ShardCount=2)
    if not firehose:
        return
    s3.create_bucket(Bucket=BRONZE, CreateBucketConfiguration={"LocationConstraint": target.region})
    iam = target.client("iam")
    role = iam.create_role(RoleName="bench-firehose", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    stream_arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
    target.client("firehose").create_delivery_stream(
        DeliveryStreamName=FIREHOSE,
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role},
        ExtendedS3DestinationConfiguration={
            "RoleARN": role,
            "BucketARN": f"arn:aws:s3:::{BRONZE}",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 60},
        },
    )


def bronze_ids(s3: Any, seen_keys: set[str], found: dict[str, float]) -> None:
    """Read new bronze objects and note when each record id was first seen."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=BRONZE):
        for obj in page.get("Contents", []):
            if obj["Key"] in seen_keys:
                continue
            seen_keys.add(obj["Key"])
            body = gzip.decompress(s3.get_object(Bucket=BRONZE, Key=obj["Key"])["Body"].read())
            now = time.perf_counter()
            for line in body.splitlines():
                if line:
                    found.setdefault(json.loads(line)["id"], now)


def latency(target: AwsTarget, samples: int) -> list[float]:
    kinesis, s3 = target.client("kinesis"), target.client("s3")
    sent: dict[str, float] = {}
    found: dict[str, float] = {}
    seen: set[str] = set()
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            bronze_ids(s3, seen, found)
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    for _ in range(samples):
        rid = uuid.uuid4().hex
        sent[rid] = time.perf_counter()
        data = (json.dumps({"id": rid}) + "\n").encode()
        kinesis.put_record(StreamName=STREAM, Data=data, PartitionKey=rid)
        time.sleep(0.25)
    deadline = time.monotonic() + 15
    while len(found) < samples and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    poller.join()
    return sorted(found[r] - sent[r] for r in sent if r in found)


def put_throughput(target: AwsTarget, records: int, threads: int = 2) -> float:
    """PutRecords of 500 x ~130 B from ``threads`` clients; records/s."""
    payload = b'{"id": "%s", "type": "telemetry", "device_id": "dev-0001", "lat": 47.6, "lon": -122.3}\n'
    per_thread = records // threads

    def run(offset: int) -> None:
        kinesis = target.client("kinesis")
        for start in range(0, per_thread, 500):
            batch = [
                {"Data": payload % f"{offset}-{start + i}".encode(), "PartitionKey": f"k{start + i}"}
                for i in range(500)
            ]
            kinesis.put_records(StreamName=STREAM, Records=batch)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return (per_thread * threads) / (time.perf_counter() - started)


def plain_moto_throughput(records: int) -> float:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port), "-H", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        target = AwsTarget("us-west-2", "test", "test", endpoint_url=endpoint)
        setup_pipeline(target, firehose=False)
        return put_throughput(target, records)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--latency-samples", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nexus-bench-dp-") as tmp:
        engine = EngineProcess(Path(tmp) / "fast").start()
        try:
            target = engine.target()
            setup_pipeline(target)
            lat = latency(target, args.latency_samples)
        finally:
            engine.stop()
        print(f"put -> bronze latency (fast mode, {len(lat)}/{args.latency_samples} delivered):")
        if lat:
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print(f"  p50 {statistics.median(lat):.3f} s   p99 {p99:.3f} s   (target p50 <= 1.5 s)")

        engine = EngineProcess(Path(tmp) / "off", "--kinesis-limits", "off").start()
        try:
            target = engine.target()
            setup_pipeline(target)
            assert engine.proc is not None
            proc = psutil.Process(engine.proc.pid)
            proc.cpu_percent(None)
            samples: list[tuple[float, float]] = []
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    samples.append((proc.cpu_percent(None), proc.memory_info().rss / 2**20))
                    time.sleep(0.5)

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.perf_counter()
            ours = put_throughput(target, args.records)
            found: dict[str, float] = {}
            seen: set[str] = set()
            s3 = target.client("s3")
            deadline = time.monotonic() + 60
            while len(found) < args.records and time.monotonic() < deadline:
                bronze_ids(s3, seen, found)
                time.sleep(0.2)
            delivered_at = max(found.values()) if found else time.perf_counter()
            stop.set()
            sampler.join()
        finally:
            engine.stop()
        delivery = len(found) / (delivered_at - started)
        cpu = [c for c, _ in samples]
        rss = [r for _, r in samples]
        print(
            f"delivery throughput (limits off, {len(found)}/{args.records} in bronze): "
            f"{delivery:,.0f} records/s"
        )
        print(
            f"  engine CPU mean {statistics.mean(cpu):.0f} % (max {max(cpu):.0f} %), "
            f"RSS max {max(rss):.0f} MB"
        )

    plain = plain_moto_throughput(args.records)
    print("PutRecords throughput, same client loop (2 threads, 500 x ~130 B):")
    print(f"  plain moto {plain:,.0f} records/s   nexuskit engine {ours:,.0f} records/s")
    ratio = ours / plain
    overhead = max(0.0, 1 - ratio)
    print(f"  ratio nexuskit/moto {ratio:.2f}  (our overhead {overhead:.0%}; target <= 25 %)")


if __name__ == "__main__":
    main()
