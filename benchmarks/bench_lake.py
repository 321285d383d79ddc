"""Measure the medallion jobs: bronze -> silver throughput and peak RSS, gold and vibranium times.

Writes N telemetry records (default 1,000,000) as Firehose-shaped GZIP objects (about
5 MB of JSON each, Firehose's default buffer) into bronze, then runs each job script as
its own process - exactly as a Glue job run starts it - and prints wall time, records/s
and the job process's peak RSS. Prints figures only (no assertions). Targets on the
2-core reference machine: >= 100,000 records/s bronze -> silver, peak RSS <= 1.5 GB.

    .venv/bin/python benchmarks/bench_lake.py [--records 1000000] [--store engine|local]

``--store engine`` (default) uses a real engine (``python -m emulation``, IAM off) over
HTTP; ``--store local`` keeps the buckets in a folder (the jobs' compute alone).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from nexuskit.config import KitSettings
from nexuskit.engine import EmbeddedEngine, free_stack_port
from nexuskit.lake import sample
from nexuskit.lake.grants import apply_grants
from nexuskit.provision.context import ProvisionContext
from nexuskit.provision.storage import provision_storage
from nexuskit.stack import StackSpec, load_stack
from services.medallion.lib.job import RESULT_PREFIX
from services.medallion.lib.store import LocalStore

ROOT = Path(__file__).resolve().parents[1]
RECORDS_PER_OBJECT = 14_000  # ~5 MB of JSON: Firehose's default 5 MB buffer
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


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, int, dict[str, Any]]:
    """Run a job process; (wall seconds, peak RSS bytes, its MEDALLION_RESULT plus ``cpu_s``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
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
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss * 1024, result


def _engine_cpu(engine: EmbeddedEngine | None) -> float:
    pid = engine.pid() if engine is not None else None
    if not pid:
        return 0.0
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def write_bronze(put: Any, records: int) -> tuple[int, float]:
    """Generate ``records`` telemetry records into bronze; (objects, seconds)."""
    started = time.perf_counter()
    generator = sample.iter_records(records, interval_s=0.01, devices=200, mix=(1.0, 0.0, 0.0))
    objects = 0
    while True:
        batch = [record for _, record in zip(range(RECORDS_PER_OBJECT), generator, strict=False)]
        if not batch:
            break
        when = sample.DEFAULT_START.replace(minute=objects % 60)
        put(sample.firehose_key("nexus-bench-to-lake", when), sample.firehose_object(sample.encode(batch)))
        objects += 1
    return objects, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--store", choices=["engine", "local"], default="engine")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-lake-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT)
    engine = None
    try:
        if args.store == "engine":
            settings = KitSettings(port=free_stack_port(), state_dir=work / "state", iam="off")
            engine = EmbeddedEngine(settings)
            engine.start()
            spec = StackSpec(load_stack().params.model_copy(update={"environment": "bench"}))
            target = engine.target(spec.region)
            provision_storage(ProvisionContext.connect(spec, target))
            apply_grants(spec, target)
            s3 = target.client("s3")
            bronze = spec.bucket("bronze")
            objects, gen_s = write_bronze(
                lambda key, body: s3.put_object(Bucket=bronze, Key=key, Body=body), args.records
            )
            env.update(target.env())
            script = [
                "--JOB_NAME",
                "bench",
                "--catalog_prefix",
                spec.prefix,
                "--client_prefix",
                "client/",
                "--confidence_threshold",
                "0.8",
                "--code_version",
                "bench",
            ]
            for tier in ("bronze", "silver", "gold", "vibranium"):
                script += [f"--{tier}_bucket", spec.bucket(tier)]

            def argv(step: str) -> list[str]:
                return [sys.executable, str(ROOT / "services" / "medallion" / f"{step}.py"), *script]
        else:
            store = LocalStore(work / "buckets")
            objects, gen_s = write_bronze(lambda key, body: store.put("bronze", key, body), args.records)

            def argv(step: str) -> list[str]:
                return [sys.executable, "-c", LOCAL_RUNNER, step, str(work / "buckets")]

        print(
            f"bronze: {args.records:,} telemetry records in {objects} GZIP objects "
            f"(generated in {gen_s:.1f} s, store: {args.store}); load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} cores"
        )
        engine_cpu = _engine_cpu(engine)
        wall, rss, result = run_measured(argv("bronze_to_silver"), env)
        job_s, cpu_s = result.get("seconds", wall), result["cpu_s"]
        engine_s = _engine_cpu(engine) - engine_cpu
        print(
            f"bronze -> silver: {wall:.2f} s wall ({job_s:.2f} s in the job) = "
            f"{args.records / wall:,.0f} records/s wall, {args.records / job_s:,.0f} records/s in the job; "
            f"job CPU {cpu_s:.2f} s, engine CPU "
            f"{engine_s:.2f} s; peak RSS {rss / 2**20:,.0f} MB; rows {result.get('rows')}"
        )
        for step in ("silver_to_gold", "gold_to_vibranium"):
            wall, rss, result = run_measured(argv(step), env)
            print(
                f"{step.replace('_to_', ' -> ')}: {wall:.2f} s wall "
                f"({result.get('seconds', 0):.2f} s in the job, CPU {result['cpu_s']:.2f} s), "
                f"peak RSS {rss / 2**20:,.0f} MB; rows {result.get('rows')}"
            )
        wall, _rss, result = run_measured(argv("bronze_to_silver"), env)
        print(f"bronze -> silver again (nothing new): {wall:.2f} s wall, skipped={result.get('skipped')}")
        if engine is not None:
            pid = engine.pid()
            if pid:
                print(f"engine RSS after the run: {psutil.Process(pid).memory_info().rss / 2**20:,.0f} MB")
    finally:
        if engine is not None:
            engine.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
