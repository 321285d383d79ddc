"""A job killed mid-run (SIGKILL) leaves no partial output visible; the next run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.query import run_query
from nexuskit.lake.tiers import promote
from services.medallion.lib.commit import HOLD_ENV, CommitLog
from tests.lake.conftest import all_versions, put_bronze

SCRIPT = Path(__file__).resolve().parents[2] / "services" / "medallion" / "bronze_to_silver.py"
N = 2000


def _job_process(lake: Lake, hold: str) -> subprocess.Popen[str]:
    """The Glue script as a plain process, told to stop (and wait) at ``hold``."""
    target = lake.target
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(target.env())
    env[HOLD_ENV] = hold
    args = [sys.executable, str(SCRIPT), "--JOB_NAME", "crash-test"]
    for tier in ("bronze", "silver", "gold", "vibranium"):
        args += [f"--{tier}_bucket", lake.bucket(tier)]
    args += [
        "--catalog_prefix",
        "-",
        "--client_prefix",
        "client/",
        "--confidence_threshold",
        "0.8",
        "--code_version",
        "test",
    ]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _parquet_outside_staging(lake: Lake) -> list[str]:
    return [
        k for k, _ in all_versions(lake, "silver") if k.endswith(".parquet") and not k.startswith("_staging/")
    ]


@pytest.mark.parametrize("hold", ["staged", "copied"])
def test_killed_job_leaves_no_partial_parquet_and_next_run_completes(lake: Lake, hold: str) -> None:
    """Killed after staging (or mid-commit), readers see no silver file; the next run completes."""
    records = list(sample.iter_records(N, interval_s=2))
    put_bronze(lake, sample.encode(records[:1000]))
    put_bronze(lake, sample.encode(records[1000:]), prefix="client/")
    job = _job_process(lake, hold)
    try:
        assert job.stdout is not None
        line = job.stdout.readline()
        assert line.strip() == f"MEDALLION_HOLD {hold}", line
        job.send_signal(signal.SIGKILL)
    finally:
        job.wait(30)
    assert CommitLog(lake.store, lake.bucket("silver")).load().files() == []
    assert run_query(lake, "SELECT count(*) FROM silver.telemetry").rows[0][0] == 0
    if hold == "staged":
        assert _parquet_outside_staging(lake) == []
    step = promote(lake, to="silver").steps[0]
    assert step["recovered"] == {"aborted": 1, "finished": 0}
    total = sum(
        run_query(lake, f"SELECT count(*) FROM silver.{t}").rows[0][0]
        for t in ("telemetry", "event", "sensor")
    )
    assert total == N
    committed = {f.key for f in CommitLog(lake.store, lake.bucket("silver")).load().files()}
    committed |= {f.key for f in CommitLog(lake.store, lake.bucket("silver")).load().files(kind="index")}
    current = {o.key for o in lake.store.list_objects(lake.bucket("silver")) if o.key.endswith(".parquet")}
    assert current == committed
