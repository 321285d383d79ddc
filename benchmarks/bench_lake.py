"""Measure the medallion jobs: bronze -> silver throughput and peak RSS, and an incremental run.

1. Throughput: N telemetry records (default 1,000,000) as Firehose-shaped GZIP objects (about
   5 MB of JSON each, Firehose's default buffer) in bronze; each job script runs as its own
   process - exactly as a Glue job run starts it - and prints wall time, records/s, CPU and
   peak RSS (the child's own ``VmHWM``, sampled while it runs: ``ru_maxrss`` of a child on
   Linux carries its parent's size across fork and exec).
2. Incremental: M small objects (default 100,000, one a minute in Firehose's key layout, as a
   delivery stream writes them over ~70 days) are promoted once; then one more object lands
   and the time of the run that finds it is printed, with how many keys it listed.

Targets on the 2-core reference machine: >= 250,000 records/s bronze -> silver with peak RSS
<= 1 GB; the incremental run <= 2 s. Prints figures only (no assertions).

    .venv/bin/python benchmarks/bench_lake.py [--records 1000000] [--objects 100000]
        [--store engine|local] [--skip throughput|incremental] [--profile]

``--store engine`` (default) uses a real engine (``python -m emulation``, IAM off) over HTTP;
``--store local`` keeps the buckets in a folder (the jobs' compute alone). ``--profile`` runs
bronze -> silver of the throughput data once more in this process under cProfile (Python
frames only: pyarrow's worker threads are not seen) and prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil

from nexuskit.config import KitSettings
from nexuskit.engine import EmbeddedEngine, free_stack_port
from nexuskit.lake import sample
from nexuskit.lake.grants import apply_grants
from nexuskit.params import StackSpec, load_stack
from nexuskit.provision.context import ProvisionContext
from nexuskit.provision.storage import provision_storage
from services.medallion.lib.job import RESULT_PREFIX
from services.medallion.lib.store import LocalStore, ObjectStore, S3Store

ROOT = Path(__file__).resolve().parents[1]
RECORDS_PER_OBJECT = 14_000  # ~5 MB of JSON: Firehose's default 5 MB buffer
STREAM = "nexus-bench-to-lake"
LOCAL_RUNNER = """
import json, sys
from services.medallion.lib.store import LocalStore
from services.medallion.lib.silver import SilverConfig, bronze_to_silver
from services.medallion.lib.gold import GoldConfig, silver_to_gold
from services.medallion.lib.insights import VibraniumConfig, gold_to_vibranium
store = LocalStore(sys.argv[2])
step = sys.argv[1]
if step == "bronze_to_silver":
    result = bronze_to_silver(store, SilverConfig("bronze", "silver"))
elif step == "silver_to_gold":
    result = silver_to_gold(store, GoldConfig("silver", "gold"))
else:
    result = gold_to_vibranium(store, VibraniumConfig("silver", "gold", "vibranium"))
print("MEDALLION_RESULT " + json.dumps(result.as_dict()))
"""
Put = Callable[[str, bytes], None]


def _hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, int, dict[str, Any]]:
    """Run a job process; (wall seconds, peak RSS bytes, its MEDALLION_RESULT plus ``cpu_s``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = psutil.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=err)
        peak, cpu = 0, 0.0
        while proc.poll() is None:
            peak = max(peak, _hwm(proc.pid))
            try:
                times = proc.cpu_times()
                cpu = times.user + times.system
            except psutil.Error:
                pass
            time.sleep(0.01)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[1]} failed ({proc.returncode}):\n{errors[-3000:]}")
    result: dict[str, Any] = next(
        (
            json.loads(line[len(RESULT_PREFIX) :])
            for line in text.splitlines()
            if line.startswith(RESULT_PREFIX)
        ),
        {},
    )
    result["cpu_s"] = cpu
    return wall, peak, result


def write_bronze(put: Put, records: int) -> tuple[int, float]:
    """Generate ``records`` telemetry records into bronze; (objects, seconds)."""
    started = time.perf_counter()
    generator = sample.iter_records(records, interval_s=0.01, devices=200, mix=(1.0, 0.0, 0.0))
    objects = 0
    while True:
        batch = [record for _, record in zip(range(RECORDS_PER_OBJECT), generator, strict=False)]
        if not batch:
            break
        when = sample.DEFAULT_START.replace(minute=objects % 60)
        put(sample.firehose_key(STREAM, when), sample.firehose_object(sample.encode(batch)))
        objects += 1
    return objects, time.perf_counter() - started


def _small_object(number: int) -> tuple[str, bytes]:
    """Object ``number`` of the incremental set: one minute of a delivery stream, two records."""
    when = sample.DEFAULT_START + timedelta(minutes=number)
    records = [
        {"id": f"inc-{number}-{n}", "type": "event", "event_id": f"e{number}", "source": "gw",
         "severity": "info", "ts": sample.iso(when)}
        for n in range(2)
    ]  # fmt: skip
    key = f"{when:%Y/%m/%d/%H}/{STREAM}-1-{when:%Y-%m-%d-%H-%M-%S}-{uuid.UUID(int=number)}.gz"
    return key, sample.firehose_object(sample.encode(records))


def write_small(put: Put, start: int, count: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda n: put(*_small_object(n)), range(start, start + count)))
    return time.perf_counter() - started


class Bench:
    """Where the buckets live (an engine or a folder) and how to run a job against them."""

    def __init__(self, store_kind: str, work: Path) -> None:
        self.work = work
        self.engine: EmbeddedEngine | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env["PYTHONPATH"] = str(ROOT)
        self.store: ObjectStore
        if store_kind == "engine":
            settings = KitSettings(port=free_stack_port(), state_dir=work / "state", iam="off")
            self.engine = EmbeddedEngine(settings)
            self.engine.start()
            self.spec = StackSpec(load_stack().params.model_copy(update={"environment": "bench"}))
            target = self.engine.target(self.spec.region)
            provision_storage(ProvisionContext.connect(self.spec, target))
            apply_grants(self.spec, target)
            self.s3 = target.client("s3")
            self.store = S3Store(self.s3)
            self.env.update(target.env())
            self.buckets = {
                tier: self.spec.bucket(tier) for tier in ("bronze", "silver", "gold", "vibranium")
            }
        else:
            self.store = LocalStore(work / "buckets")
            self.buckets = {tier: tier for tier in ("bronze", "silver", "gold", "vibranium")}

    def put(self, key: str, body: bytes) -> None:
        self.store.put(self.buckets["bronze"], key, body)

    def argv(self, step: str) -> list[str]:
        if self.engine is None:
            return [sys.executable, "-c", LOCAL_RUNNER, step, str(self.work / "buckets")]
        script = [sys.executable, str(ROOT / "services" / "medallion" / f"{step}.py"), "--JOB_NAME", "bench"]
        script += ["--catalog_prefix", self.spec.prefix, "--client_prefix", "client/"]
        script += ["--confidence_threshold", "0.8", "--code_version", "bench"]
        for tier, bucket in self.buckets.items():
            script += [f"--{tier}_bucket", bucket]
        return script

    def engine_cpu(self) -> float:
        pid = self.engine.pid() if self.engine is not None else None
        if not pid:
            return 0.0
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()


def throughput(bench: Bench, records: int, profile: bool) -> None:
    objects, gen_s = write_bronze(bench.put, records)
    print(
        f"bronze: {records:,} telemetry records in {objects} GZIP objects (generated in {gen_s:.1f} s); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    engine_cpu = bench.engine_cpu()
    wall, rss, result = run_measured(bench.argv("bronze_to_silver"), bench.env)
    job_s, cpu_s = result.get("seconds", wall), result["cpu_s"]
    print(
        f"bronze -> silver: {wall:.2f} s wall ({job_s:.2f} s in the job) = "
        f"{records / wall:,.0f} records/s wall, "
        f"{records / job_s:,.0f} records/s in the job; job CPU {cpu_s:.2f} s, engine CPU "
        f"{bench.engine_cpu() - engine_cpu:.2f} s; peak RSS {rss / 2**20:,.0f} MB; rows {result.get('rows')}"
    )
    for step in ("silver_to_gold", "gold_to_vibranium"):
        wall, rss, result = run_measured(bench.argv(step), bench.env)
        print(
            f"{step.replace('_to_', ' -> ')}: {wall:.2f} s wall "
            f"({result.get('seconds', 0):.2f} s in the job, "
            f"CPU {result['cpu_s']:.2f} s), peak RSS {rss / 2**20:,.0f} MB; rows {result.get('rows')}"
        )
    wall, _rss, result = run_measured(bench.argv("bronze_to_silver"), bench.env)
    print(f"bronze -> silver again (nothing new): {wall:.2f} s wall, skipped={result.get('skipped')}")
    if profile:
        _profile(bench)


def _profile(bench: Bench) -> None:
    from services.medallion.lib.silver import SilverConfig, bronze_to_silver

    silver = bench.buckets["silver"] + ("-profile" if bench.engine is None else "")
    if bench.engine is not None:
        silver = bench.buckets["silver"]
        bench.store.delete_versions(silver, "")
    config = SilverConfig(bench.buckets["bronze"], silver)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(bronze_to_silver, bench.store, config)
    print(f"profile (in-process, {time.perf_counter() - started:.2f} s, main thread's Python frames):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)


def incremental(bench: Bench, objects: int) -> None:
    put_s = write_small(bench.put, 0, objects)
    print(f"incremental: {objects:,} objects put in {put_s:.1f} s (one a minute, Firehose's key layout)")
    wall, rss, result = run_measured(bench.argv("bronze_to_silver"), bench.env)
    listing = result.get("listing", {})
    print(
        f"first run over {objects:,} objects ({listing.get('mode')} listing): {wall:.2f} s wall "
        f"({result.get('seconds', 0):.2f} s in the job), {result.get('inputs')} inputs, "
        f"{len(result.get('manifests', []))} manifests, peak RSS {rss / 2**20:,.0f} MB"
    )
    write_small(bench.put, objects, 1)
    wall, rss, result = run_measured(bench.argv("bronze_to_silver"), bench.env)
    listing = result.get("listing", {})
    print(
        f"incremental run finding 1 new object among {objects + 1:,}: {wall:.2f} s wall "
        f"({result.get('seconds', 0):.2f} s in the job, the rest is process start and imports); "
        f"inputs {result.get('inputs')}, rows {result.get('rows')}; {listing.get('mode')} listing of "
        f"{listing.get('listed')} keys in {listing.get('units')} units; peak RSS {rss / 2**20:,.0f} MB"
    )
    wall, _rss, result = run_measured(bench.argv("bronze_to_silver"), bench.env)
    print(
        f"and a run finding nothing: {wall:.2f} s wall ({result.get('seconds', 0):.2f} s in the job), "
        f"skipped={result.get('skipped')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--store", choices=["engine", "local"], default="engine")
    parser.add_argument("--skip", choices=["throughput", "incremental"], action="append", default=[])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    # ``timeout`` or a CI runner stops us with SIGTERM: unwind, so the engine is stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for part in ("throughput", "incremental"):
        if part in args.skip:
            continue
        work = Path(tempfile.mkdtemp(prefix="bench-lake-"))
        bench = Bench(args.store, work)
        try:
            if part == "throughput":
                throughput(bench, args.records, args.profile)
            else:
                incremental(bench, args.objects)
        finally:
            bench.stop()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
