"""What durability costs: latency during snapshots, restart time, RSS per record, throughput.

Prints four tables (figures, no assertions), each against its target from issue 23:

1. **Latency during snapshots** at ``--small-objects`` (1k) and at ``--objects`` (100k)
   objects + ``--records`` (1M) retained records: a real engine (``python -m emulation``,
   IAM enforced, AWS shard limits, persistence on, snapshots every second) is started on
   a state written by ``python -m emulation.seed``; for ``--seconds`` one client puts 1 KiB
   objects in a loop, one puts a 100-record Kinesis batch every 0.2 s and one reads
   seeded objects, so every snapshot has S3 and Kinesis changes to write. p50/p99/max of
   each call and the snapshots taken meanwhile (target: max <= 100 ms).
2. **Restart** on the large state: a clean stop then a start, and a ``kill -9`` in the
   middle of writes then a start; seconds to the first answer and to the first read of a
   seeded object and a seeded record (target: <= 3 s).
3. **RSS per retained record**: the engine's RSS growth while ``--live-records`` records are
   put through the API, and the RSS of an engine restored with ``--records`` records
   against one restored empty (target: <= 200 B per record).
4. **Write throughput, persistence on vs ``--no-persist``**: PutObject/s (1 KiB) and
   PutRecords records/s (500 x 130 B batches, limits off), interleaved over ``--rounds``.

    .venv/bin/python benchmarks/bench_durability.py [--objects 100000] [--records 1000000]
        [--small-objects 1000] [--seconds 10] [--live-records 1000000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import EngineProcess

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "seeded"
STREAM = "seeded"
TARGET_MAX_MS = 100.0
TARGET_RESTART_S = 3.0
TARGET_BYTES_PER_RECORD = 200.0


def seed(state_dir: Path, objects: int, records: int) -> float:
    counts = ["--objects", str(objects), "--records", str(records)]
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "emulation.seed", "--state-dir", str(state_dir), *counts],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def rss_mb(engine: EngineProcess) -> float:
    assert engine.proc is not None
    return psutil.Process(engine.proc.pid).memory_info().rss / 2**20


def quantiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max of latencies in seconds, as milliseconds."""
    if not samples:
        return (0.0, 0.0, 0.0)
    ordered = sorted(samples)
    return (
        ordered[len(ordered) // 2] * 1000,
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        ordered[-1] * 1000,
    )


def snapshots(engine: EngineProcess) -> int:
    doc = engine.health() or {}
    return int((doc.get("persistence") or {}).get("snapshots", 0))


def timed_loop(
    call: Callable[[int], Any], stop: threading.Event, out: list[float], pause: float = 0.0
) -> None:
    i = 0
    while not stop.is_set():
        started = time.perf_counter()
        call(i)
        out.append(time.perf_counter() - started)
        i += 1
        if pause:
            stop.wait(pause)


# -- 1. latency during snapshots --------------------------------------------------------------
def latency_under_snapshots(state_dir: Path, seconds: float, seeded_objects: int) -> dict[str, Any]:
    engine = EngineProcess(state_dir).start(timeout=120)
    try:
        target = engine.target()
        s3 = target.client("s3", max_attempts=0)
        kinesis = target.client("kinesis", max_attempts=0)
        batch = [{"Data": b"z" * 130, "PartitionKey": str(i)} for i in range(100)]
        body = b"p" * 1024
        put_s3: list[float] = []
        put_kinesis: list[float] = []
        get_s3: list[float] = []
        stop = threading.Event()
        before = snapshots(engine)
        workers = [
            threading.Thread(
                target=timed_loop,
                args=(lambda i: s3.put_object(Bucket=BUCKET, Key=f"load/{i}", Body=body), stop, put_s3),
            ),
            threading.Thread(
                target=timed_loop,
                args=(
                    lambda _i: kinesis.put_records(StreamName=STREAM, Records=batch),
                    stop,
                    put_kinesis,
                    0.2,
                ),
            ),
            threading.Thread(
                target=timed_loop,
                args=(
                    lambda i: s3.get_object(Bucket=BUCKET, Key=f"fixture/{(i * 7919) % seeded_objects}")[
                        "Body"
                    ].read(),
                    stop,
                    get_s3,
                ),
            ),
        ]
        for worker in workers:
            worker.start()
        time.sleep(seconds)
        stop.set()
        for worker in workers:
            worker.join()
        taken = snapshots(engine) - before
        doc = engine.health() or {}
        last_ms = float((doc.get("persistence") or {}).get("last_snapshot_ms", 0.0))
    finally:
        engine.stop()
    return {
        "snapshots": taken,
        "last_snapshot_ms": last_ms,
        "PutObject": (len(put_s3), *quantiles(put_s3)),
        "PutRecords": (len(put_kinesis), *quantiles(put_kinesis)),
        "GetObject": (len(get_s3), *quantiles(get_s3)),
    }


# -- 2. restart --------------------------------------------------------------------------------
def first_reads(engine: EngineProcess) -> None:
    """Read one seeded object and one seeded record (retrying while the engine restores)."""
    target = engine.target()
    s3 = target.client("s3", max_attempts=0)
    kinesis = target.client("kinesis", max_attempts=0)
    s3.get_object(Bucket=BUCKET, Key="fixture/0")["Body"].read()
    iterator = kinesis.get_shard_iterator(
        StreamName=STREAM, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert kinesis.get_records(ShardIterator=iterator, Limit=10)["Records"], "no seeded record"


def restart(state_dir: Path, kill: bool) -> tuple[float, float]:
    """Seconds from the engine's start to its first answer and to the first seeded reads."""
    engine = EngineProcess(state_dir).start(timeout=120)
    if kill:
        s3 = engine.target().client("s3", max_attempts=0)
        for i in range(200):
            s3.put_object(Bucket=BUCKET, Key=f"before-kill/{i}", Body=b"k" * 1024)
        engine.kill9()
    else:
        engine.stop()
    started = time.perf_counter()
    engine.start(timeout=120)
    answered = time.perf_counter() - started
    first_reads(engine)
    read = time.perf_counter() - started
    engine.stop()
    return answered, read


# -- 3. RSS per record -------------------------------------------------------------------------
def rss_per_live_record(tmp: Path, records: int) -> tuple[float, float, float]:
    engine = EngineProcess(tmp / "live-rss", "--kinesis-limits", "off").start()
    try:
        kinesis = engine.target().client("kinesis", max_attempts=0)
        kinesis.create_stream(StreamName="rss", ShardCount=4)
        kinesis.get_waiter("stream_exists").wait(StreamName="rss", WaiterConfig={"Delay": 0.1})
        batch = [{"Data": b"r" * 130, "PartitionKey": str(i)} for i in range(500)]
        kinesis.put_records(StreamName="rss", Records=batch)  # warm the path first
        before = rss_mb(engine)
        for _ in range(records // 500):
            kinesis.put_records(StreamName="rss", Records=batch)
        after = rss_mb(engine)
    finally:
        engine.stop()
    return before, after, (after - before) * 2**20 / records


def rss_restored(state_dir: Path, *, read: bool) -> float:
    engine = EngineProcess(state_dir).start(timeout=120)
    try:
        if read:
            first_reads(engine)
        time.sleep(1.0)  # the background warm-up settles
        return rss_mb(engine)
    finally:
        engine.stop()


# -- 4. throughput ------------------------------------------------------------------------------
def throughput(tmp: Path, label: str, persist: bool, seconds: float) -> tuple[float, float]:
    args = ["--kinesis-limits", "off"] + ([] if persist else ["--no-persist"])
    engine = EngineProcess(tmp / f"tp-{label}-{time.monotonic_ns()}", *args).start()
    try:
        target = engine.target()
        s3 = target.client("s3", max_attempts=0)
        kinesis = target.client("kinesis", max_attempts=0)
        s3.create_bucket(
            Bucket="bench-throughput", CreateBucketConfiguration={"LocationConstraint": target.region}
        )
        kinesis.create_stream(StreamName="bench-throughput", ShardCount=4)
        kinesis.get_waiter("stream_exists").wait(StreamName="bench-throughput", WaiterConfig={"Delay": 0.1})
        body = b"t" * 1024
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            s3.put_object(Bucket="bench-throughput", Key=f"k{count}", Body=body)
            count += 1
        objects_per_s = count / (time.perf_counter() - started)
        batch = [{"Data": b"t" * 130, "PartitionKey": str(i)} for i in range(500)]
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            kinesis.put_records(StreamName="bench-throughput", Records=batch)
            count += 500
        records_per_s = count / (time.perf_counter() - started)
    finally:
        engine.stop()
    return objects_per_s, records_per_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small-objects", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--live-records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-durability-") as name:
        tmp = Path(name)
        small, large = tmp / "small", tmp / "large"
        took = seed(small, args.small_objects, 10_000)
        print(f"seeding {args.small_objects} objects + 10000 records: {took:.1f} s", flush=True)
        print(
            f"seeding {args.objects} objects + {args.records} records: "
            f"{seed(large, args.objects, args.records):.1f} s",
            flush=True,
        )

        print("\n1. request latency during snapshots (target: max <= 100 ms)")
        print(
            f"{'state':>34} {'snapshots':>9} {'call':>10} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        )
        worst = 0.0
        for label, state_dir, seeded in (
            (f"{args.small_objects} objects", small, args.small_objects),
            (f"{args.objects} objects + {args.records} records", large, args.objects),
        ):
            figures = latency_under_snapshots(state_dir, args.seconds, seeded)
            for call in ("PutObject", "PutRecords", "GetObject"):
                n, p50, p99, top = figures[call]
                worst = max(worst, top)
                row = f"{label:>34} {figures['snapshots']:>9} {call:>10} {n:>6}"
                print(f"{row} {p50:>8.1f} {p99:>8.1f} {top:>8.1f}")
        print(f"worst max {worst:.1f} ms: {'met' if worst <= TARGET_MAX_MS else 'NOT met'}")

        print(f"\n2. restart with {args.objects} objects + {args.records} records (target: <= 3 s)")
        for kill in (False, True):
            answered, read = restart(large, kill)
            how = "after kill -9 mid-writes" if kill else "after a clean stop"
            verdict = "met" if read <= TARGET_RESTART_S else "NOT met"
            print(
                f"  {how:>26}: first answer {answered:.2f} s, seeded object+record read {read:.2f} s", end=""
            )
            print(f" ({verdict})")

        print("\n3. RSS per retained record (target: <= 200 B)")
        before, after, per = rss_per_live_record(tmp, args.live_records)
        print(f"  {args.live_records} records put live: {before:.0f} -> {after:.0f} MB, {per:.0f} B/record")
        empty, records_only = tmp / "empty", tmp / "records-only"
        seed(empty, 0, 0)
        seed(records_only, 0, args.records)
        base = rss_restored(empty, read=False)
        restored = rss_restored(records_only, read=False)
        per_restored = (restored - base) * 2**20 / max(1, args.records)
        print(
            f"  restored with {args.records} records: {base:.0f} -> {restored:.0f} MB, "
            f"{per_restored:.0f} B/record"
        )
        everything = rss_restored(large, read=True)
        print(f"  restored with {args.objects} objects + {args.records} records: {everything:.0f} MB")
        print(f"  live: {'met' if per <= TARGET_BYTES_PER_RECORD else 'NOT met'}")

        print(
            f"\n4. write throughput, persistence on vs --no-persist ({args.seconds:.0f} s each, interleaved)"
        )
        runs: dict[str, list[tuple[float, float]]] = {"persist": [], "no-persist": []}
        for _ in range(args.rounds):
            for label, measured in runs.items():
                measured.append(throughput(tmp, label, label == "persist", args.seconds))
        on = [statistics.median(r[i] for r in runs["persist"]) for i in (0, 1)]
        off = [statistics.median(r[i] for r in runs["no-persist"]) for i in (0, 1)]
        print(f"  {'':>12} {'PutObject/s':>12} {'records/s':>10}")
        print(f"  {'persist':>12} {on[0]:>12.0f} {on[1]:>10.0f}")
        print(f"  {'no-persist':>12} {off[0]:>12.0f} {off[1]:>10.0f}")
        print(f"  {'ratio':>12} {on[0] / off[0]:>12.2f} {on[1] / off[1]:>10.2f}")
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"worst_max_ms": round(worst, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
