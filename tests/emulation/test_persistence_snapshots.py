"""Snapshots are written while S3 keeps answering, and commit only by the manifest switch.

The engine's fault-injection file ``state/hold-snapshot`` parks a snapshot just before
its manifest switch (after every file of the new generation is written, with the state
lock released); ``state/snapshot-held`` says it got there. No test waits on the clock.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import REGION, EngineProcess

BUCKET = "snapshot-bucket"


def _s3(engine: EngineProcess) -> Any:
    return engine.target().client("s3")


def _wait_for(path: Path, snapshot: threading.Thread) -> None:
    """Until ``path`` exists (an event of the engine), or the snapshot call ended without it."""
    while not path.exists():
        assert snapshot.is_alive(), "the snapshot finished without reaching the hold"
        time.sleep(0.01)


@contextmanager
def _held_snapshot(engine: EngineProcess) -> Iterator[threading.Thread]:
    """A snapshot (``POST /_nexus/snapshot``) parked before its manifest switch."""
    root = engine.state_dir / "state"
    root.mkdir(parents=True, exist_ok=True)
    hold = root / "hold-snapshot"
    hold.touch()
    answers: list[int] = []

    def snapshot() -> None:
        try:
            status, _ = engine.admin_request("POST", "/_nexus/snapshot", timeout=600)
            answers.append(status)
        except OSError:  # the engine was killed in the middle: expected by some tests
            answers.append(0)

    thread = threading.Thread(target=snapshot, daemon=True)
    thread.start()
    try:
        _wait_for(root / "snapshot-held", thread)
        yield thread
    finally:
        hold.unlink(missing_ok=True)


def _put_state(s3: Any, count: int, prefix: str) -> dict[str, bytes]:
    bodies = {f"{prefix}/{i}": f"{prefix}-{i}".encode() * 20 for i in range(count)}
    for key, body in bodies.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return bodies


def _multipart(s3: Any, key: str) -> bytes:
    """A completed two-part upload; returns the object's body."""
    parts = [b"a" * (5 * 1024 * 1024), b"tail of the upload"]
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    etags = [
        s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=n, Body=body)["ETag"]
        for n, body in enumerate(parts, start=1)
    ]
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, start=1)]},
    )
    return b"".join(parts)


def _stored(s3: Any) -> dict[str, bytes]:
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in page.get("Contents", [])
    ]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def test_s3_answers_while_a_snapshot_is_written(engine_factory: Callable[..., EngineProcess]) -> None:
    """PutObject and GetObject succeed while a snapshot of the whole state is in flight."""
    engine = engine_factory("--snapshot-interval", "600")
    s3 = _s3(engine)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    before = _put_state(s3, 200, "before")

    with _held_snapshot(engine) as snapshot:
        s3.put_object(Bucket=BUCKET, Key="during", Body=b"written mid-snapshot")
        answered = [s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in list(before)[:20]]
        during = s3.get_object(Bucket=BUCKET, Key="during")["Body"].read()
        assert snapshot.is_alive()  # still parked: all of the above was served during it
    snapshot.join()

    assert answered == list(before.values())[:20]
    assert during == b"written mid-snapshot"


def test_acknowledged_writes_survive_kill9_after_their_snapshot(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """Objects (and a multipart upload) acknowledged before a snapshot come back after kill -9."""
    engine = engine_factory("--snapshot-interval", "600")
    s3 = _s3(engine)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    acknowledged = _put_state(s3, 100, "covered")
    acknowledged["multipart"] = _multipart(s3, "multipart")
    status, _ = engine.admin_request("POST", "/_nexus/snapshot")
    assert status == 200

    engine.kill9()
    engine.start()

    assert _stored(_s3(engine)) == acknowledged


def test_crash_in_the_middle_of_a_snapshot_keeps_the_previous_generation(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """kill -9 while a snapshot is being written: the engine restarts from the last one (S3
    excepted: its changes were durable before their answers, snapshot or not)."""
    engine = engine_factory("--snapshot-interval", "600")
    s3 = _s3(engine)
    sqs = engine.target().client("sqs")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    committed = _put_state(s3, 50, "committed")
    sqs.create_queue(QueueName="committed")
    status, _ = engine.admin_request("POST", "/_nexus/snapshot")
    assert status == 200
    s3.delete_object(Bucket=BUCKET, Key="committed/0")
    uncommitted = _put_state(s3, 50, "uncommitted")
    sqs.create_queue(QueueName="uncommitted")

    with _held_snapshot(engine):
        engine.kill9()
    root = engine.state_dir / "state"
    manifest = json.loads((root / "manifest.json").read_text())
    strays = {f.name for f in root.glob("*.pkl")} - set(manifest["services"].values())
    assert strays  # the files of the generation that never became current
    stray_body = root / "blobs" / "ab" / ("ab" + "0" * 62)  # a body no row refers to
    stray_body.parent.mkdir(exist_ok=True)
    stray_body.write_bytes(b"left by a crash")
    engine.start()

    queues = engine.target().client("sqs").list_queues().get("QueueUrls", [])
    assert [url.rsplit("/", 1)[-1] for url in queues] == ["committed"]
    del committed["committed/0"]
    assert _stored(_s3(engine)) == {**committed, **uncommitted}
    # collected at start: no service file the manifest does not name, no unreferenced body
    manifest = json.loads((root / "manifest.json").read_text())
    assert {f.name for f in root.glob("*.pkl")} <= set(manifest["services"].values())
    assert not stray_body.exists()
    blobs_after = {b.name for b in (root / "blobs").rglob("*") if b.is_file()}
    stored = {hashlib.sha256(body).hexdigest() for body in {**committed, **uncommitted}.values()}
    assert stored <= blobs_after
