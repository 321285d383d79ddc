"""A full disk under the engine: writes are refused before they are acknowledged, none is lost.

The state dir is a small tmpfs the test mounts (root only; skipped with the reason where it
cannot). A real engine over HTTP with boto3: S3 writes until the engine refuses one, then
kill -9 and restart - every acknowledged object is there; `/_nexus/health` says degraded
with the reason meanwhile, and writes resume by themselves when the file system grows.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers import REGION, EngineProcess

BUCKET = "disk-full"
BODY = 256 * 1024


def _mount(folder: Path, size_mb: int) -> str | None:
    """Mount a tmpfs of ``size_mb`` on ``folder``; None, or why it could not."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return "no mount command on this machine"
    return None if done.returncode == 0 else f"cannot mount a tmpfs here: {done.stderr.strip()}"


def _resize(folder: Path, size_mb: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size_mb}m", str(folder)], check=True)


def _fill_up(path: Path) -> Path:
    """Write zeros to ``path`` until the file system is full (another process's doing)."""
    chunk = b"\0" * 65536
    # unbuffered: a buffered file would try its unwritten rest again at close, and fail there
    with open(path, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
        except OSError:
            pass
    return path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "small-disk"
    why = _mount(folder, 12)
    if why:
        pytest.skip(why)
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(s3: Any, prefix: str, limit: int = 200) -> tuple[dict[str, bytes], ClientError]:
    """PutObject of 256 KiB bodies until one is refused; (acknowledged, the refusal)."""
    acknowledged: dict[str, bytes] = {}
    for n in range(limit):
        key, body = f"{prefix}/{n}", bytes([n % 251]) * BODY
        try:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        except ClientError as exc:
            return acknowledged, exc
        acknowledged[key] = body
    raise AssertionError(f"{limit} writes of 256 KiB were all accepted on a 12 MiB file system")


def test_a_full_disk_refuses_writes_loses_none_and_recovers(small_disk: Path) -> None:
    engine = EngineProcess(small_disk / "state", "--disk-reserve-mb", "2", "--snapshot-interval", "0.2")
    engine.start()
    try:
        s3 = engine.target().client("s3", max_attempts=0)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        acknowledged, refused = _fill(s3, "before")

        assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert refused.response["Error"]["Code"] == "ServiceUnavailable"
        assert "cannot persist writes" in refused.response["Error"]["Message"]
        assert len(acknowledged) >= 5
        health = engine.health()
        assert health is not None and health["status"] == "degraded"
        assert "MiB free" in health["degraded_reason"]
        # reads go on; the acknowledged objects reach a snapshot in the reserved room
        assert s3.get_object(Bucket=BUCKET, Key="before/0")["Body"].read() == acknowledged["before/0"]
        engine.snapshot()

        engine.kill9()
        engine.start()
        s3 = engine.target().client("s3", max_attempts=0)
        stored = {
            o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="before/")
            for o in page.get("Contents", [])
        }
        assert stored == acknowledged

        _resize(small_disk, 64)
        s3.put_object(Bucket=BUCKET, Key="after/space-returned", Body=b"x" * BODY)
        health = engine.health()
        assert health is not None and health["status"] == "running" and health["degraded_reason"] is None
    finally:
        engine.stop()


def test_a_snapshot_that_cannot_be_written_stops_writes_until_one_can(small_disk: Path) -> None:
    """Another process fills the disk after the engine acknowledged a write: the snapshot
    fails (ENOSPC), the engine reports degraded and refuses every write (503) until a snapshot
    succeeds again once space is freed; what it acknowledged is kept."""
    engine = EngineProcess(small_disk / "state", "--snapshot-interval", "600", "--disk-reserve-mb", "1")
    engine.start()
    try:
        s3 = engine.target().client("s3", max_attempts=0)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="before", Body=b"before")
        engine.snapshot()
        s3.put_object(Bucket=BUCKET, Key="acknowledged-while-failing", Body=b"kept in memory" * 1000)
        filler = _fill_up(small_disk / "filler.bin")
        try:
            status, doc = engine.admin_request("POST", "/_nexus/snapshot")
            assert status >= 500, doc
            health = engine.health()
            assert health is not None and health["status"] == "degraded"
            assert "ENOSPC" in health["degraded_reason"]
            with pytest.raises(ClientError) as refused:
                s3.put_object(Bucket=BUCKET, Key="refused", Body=b"1")
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert s3.get_object(Bucket=BUCKET, Key="before")["Body"].read() == b"before"  # reads go on
        finally:
            filler.unlink()
        status, doc = engine.admin_request("POST", "/_nexus/snapshot")
        assert status == 200, doc
        s3.put_object(Bucket=BUCKET, Key="after", Body=b"after")
        health = engine.health()
        assert health is not None and health["status"] == "running"
        engine.snapshot()
        engine.kill9()
        engine.start()
        s3 = engine.target().client("s3", max_attempts=0)
        for key in ("before", "acknowledged-while-failing", "after"):
            assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] > 0
    finally:
        engine.stop()
