"""A real engine for the lake tests, and a fresh stack (own prefix, buckets, grants) per test."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from nexuskit.lake import sample
from nexuskit.lake.access import Lake
from nexuskit.lake.config import lake_dir, load_lake_config
from nexuskit.lake.grants import apply_grants
from nexuskit.params import StackSpec, load_stack
from nexuskit.provision.context import ProvisionContext
from nexuskit.provision.identity import provision_identity
from nexuskit.provision.storage import provision_storage
from nexuskit.provision.streaming import provision_streaming
from services.medallion.lib.job import RESULT_PREFIX
from tests.helpers import EngineProcess

_names = itertools.count(1)


@pytest.fixture(scope="session")
def lake_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One engine process (``python -m emulation``) shared by the lake tests.

    IAM enforcement is off here: these tests exercise the lake access layer's own grant
    checks; ``test_enforcement`` starts an enforcing engine for the engine-side hook.
    """
    engine = EngineProcess(tmp_path_factory.mktemp("lake-engine"), "--no-persist", "--iam", "off").start()
    yield engine
    engine.stop()


def provision_lake(
    spec: StackSpec, engine: EngineProcess, roles: bool = False, streaming: bool = False
) -> None:
    """The parts of the stack the lake needs: buckets, Lake Formation, catalogue, grants
    (and, with ``roles``, the stack's IAM roles; without, an engine that does not enforce
    IAM still lets the tests assume them; with ``streaming``, the Kinesis streams and the
    Firehose deliveries into bronze)."""
    ctx = ProvisionContext.connect(spec, engine.target())
    if roles or streaming:
        provision_identity(ctx)
    provision_storage(ctx)
    if streaming:
        provision_streaming(ctx)
    apply_grants(spec, engine.target())


def new_lake(
    engine: EngineProcess,
    cache_dir: Path,
    config_dir: Path | None = None,
    streaming: bool = False,
    **changes: Any,
) -> Lake:
    """A lake of its own (environment ``l<n>``: its own buckets, catalogue and grants), as admin,
    reading the dataset files of ``config_dir`` (default: the checkout's ``lake/``)."""
    base = load_stack(env="local")
    params = base.params.model_copy(update={"environment": f"l{next(_names)}", **changes})
    spec = StackSpec(params)
    provision_lake(spec, engine, streaming=streaming)
    config = load_lake_config(config_dir) if config_dir else None
    return Lake(spec, engine.target(), cache_dir=cache_dir, config=config)


def lake_files(folder: Path, files: dict[str, str] | None = None) -> Path:
    """A copy of the checkout's ``lake/`` in ``folder``, with ``files`` (relative path -> text;
    an empty text removes the file) written over it."""
    shutil.copytree(lake_dir(), folder, dirs_exist_ok=True)
    for name, text in (files or {}).items():
        if text:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        else:
            (folder / name).unlink(missing_ok=True)
    return folder


@pytest.fixture
def make_lake(lake_engine: EngineProcess, tmp_path: Path) -> Callable[..., Lake]:
    """``make_lake()``: a fresh lake per call (see :func:`new_lake`)."""

    def build(**changes: Any) -> Lake:
        return new_lake(lake_engine, tmp_path / "cache", **changes)

    return build


def silver_count(lake: Lake, table: str, where: str = "") -> int:
    from nexuskit.lake.query import run_query

    return int(run_query(lake, f"SELECT count(*) FROM {table} {where}").rows[0][0])


@pytest.fixture
def lake(make_lake: Callable[..., Lake]) -> Lake:
    return make_lake()


def put_bronze(lake: Lake, payload: bytes, prefix: str = "", when: datetime | None = None) -> str:
    """One Firehose-shaped GZIP object in the lake's bronze bucket; its key."""
    return sample.put_bronze(
        lake.client("s3"),
        lake.bucket("bronze"),
        payload,
        stream=lake.spec.primary_firehose,
        prefix=prefix,
        when=when or sample.DEFAULT_START,
    )


def all_versions(lake: Lake, tier: str) -> list[tuple[str, str]]:
    """Every (key, version id) and delete marker in a tier's bucket."""
    s3 = lake.client("s3")
    found = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=lake.bucket(tier)):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            found.append((entry["Key"], entry["VersionId"]))
    return sorted(found)


def params_file(lake: Lake, folder: Path) -> Path:
    """The lake's parameters as a file, for ``NEXUSKIT_PARAMS_FILE`` (CLI tests)."""
    path = folder / "params.json"
    path.write_text(json.dumps(lake.spec.params.model_dump()))
    return path


SCRIPT_DIR = Path(__file__).resolve().parents[2] / "services" / "medallion"


def job_command(lake: Lake, step: str = "bronze_to_silver", lake_config: Path | None = None) -> list[str]:
    """A job script as Glue starts it: ``python <step>.py --JOB_NAME ... --<tier>_bucket ...``."""
    args = [sys.executable, str(SCRIPT_DIR / f"{step}.py"), "--JOB_NAME", f"test-{step}"]
    for tier in ("bronze", "silver", "gold", "vibranium"):
        args += [f"--{tier}_bucket", lake.bucket(tier)]
    args += ["--catalog_prefix", "-", "--client_prefix", "client/", "--confidence_threshold", "0.8"]
    args += ["--code_version", "test"]
    if lake_config is not None:
        args += ["--lake_config", str(lake_config)]
    return args


def job_env(lake: Lake, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(lake.target.env())
    env.update(extra)
    return env


def _hwm(pid: int) -> int:
    """The process's peak RSS so far (``VmHWM``: its own, not inherited from its parent), bytes."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_job(lake: Lake, step: str = "bronze_to_silver") -> tuple[dict[str, Any], int]:
    """Run a job script as its own process; (its MEDALLION_RESULT, its peak RSS in bytes).

    The peak is the child's ``VmHWM`` read while it runs (``ru_maxrss`` of a child carries the
    parent's size across fork and exec on Linux, which would measure the test, not the job)."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(job_command(lake, step), env=job_env(lake), stdout=stdout, stderr=stderr)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _hwm(proc.pid))
            time.sleep(0.02)
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read().decode(), stderr.read().decode()
    assert proc.returncode == 0, err[-3000:]
    line = next(line for line in out.splitlines() if line.startswith(RESULT_PREFIX))
    return json.loads(line[len(RESULT_PREFIX) :]), peak
