"""Every acknowledged S3 change is durable before its answer: kill -9 loses none of them.

Real engines over HTTP with boto3. Snapshots are effectively never taken
(``--snapshot-interval 600``): what comes back after ``kill -9`` comes from S3's row store
(:mod:`emulation.core.s3store`), written before each answer. Also: a full disk refuses a
write (503) before acknowledging it, a state dir of the previous format (S3's keys pickled
in the snapshot) still restores, and blob collection keeps every body a row refers to.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers import REGION, EngineProcess

NEVER = ("--snapshot-interval", "600")
ROOT = Path(__file__).resolve().parents[2]


def _s3(engine: EngineProcess, **kwargs: Any) -> Any:
    return engine.target().client("s3", **kwargs)


def _create(s3: Any, bucket: str) -> None:
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})


def _body(s3: Any, bucket: str, key: str, **kwargs: Any) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
    return data


def _restart(engine: EngineProcess) -> Any:
    engine.kill9()
    engine.start()
    return _s3(engine)


def _tags(s3: Any, bucket: str, key: str, **kwargs: Any) -> dict[str, str]:
    answer = s3.get_object_tagging(Bucket=bucket, Key=key, **kwargs)
    return {tag["Key"]: tag["Value"] for tag in answer["TagSet"]}


def _keys(s3: Any, bucket: str) -> list[str]:
    return [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]


def _no_snapshot_since_start(engine: EngineProcess) -> None:
    health = engine.health()
    assert health is not None and health["persistence"]["snapshots"] == 0, health


def test_object_writes_survive_kill9_without_a_snapshot(engine_factory: Callable[..., EngineProcess]) -> None:
    engine = engine_factory(*NEVER)
    s3 = _s3(engine)
    _create(s3, "durable")
    s3.put_object(Bucket="durable", Key="plain", Body=b"plain body")
    s3.put_object(Bucket="durable", Key="overwritten", Body=b"first")
    s3.put_object(Bucket="durable", Key="overwritten", Body=b"second")
    s3.put_object(
        Bucket="durable",
        Key="tagged",
        Body=b"tagged body",
        Tagging="team=data&tier=gold",
        Metadata={"origin": "test"},
        ContentType="text/plain",
    )
    s3.put_object(Bucket="durable", Key="tagged-later", Body=b"x")
    s3.put_object_tagging(
        Bucket="durable", Key="tagged-later", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}
    )
    s3.put_object(Bucket="durable", Key="untagged-later", Body=b"y", Tagging="gone=soon")
    s3.delete_object_tagging(Bucket="durable", Key="untagged-later")
    s3.put_object_acl(Bucket="durable", Key="plain", ACL="public-read")
    s3.copy_object(
        Bucket="durable",
        Key="copy",
        CopySource={"Bucket": "durable", "Key": "tagged"},
        MetadataDirective="REPLACE",
        Metadata={"copied": "yes"},
    )
    s3.put_object(Bucket="durable", Key="deleted", Body=b"soon gone")
    s3.delete_object(Bucket="durable", Key="deleted")
    for n in range(5):
        s3.put_object(Bucket="durable", Key=f"batch/{n}", Body=f"batch {n}".encode())
    s3.delete_objects(Bucket="durable", Delete={"Objects": [{"Key": "batch/0"}, {"Key": "batch/1"}]})
    etag = s3.head_object(Bucket="durable", Key="tagged")["ETag"]
    checksum = s3.put_object(Bucket="durable", Key="checksummed", Body=b"sum me", ChecksumAlgorithm="SHA256")
    _no_snapshot_since_start(engine)

    s3 = _restart(engine)

    assert sorted(_keys(s3, "durable")) == sorted(
        ["plain", "overwritten", "tagged", "tagged-later", "untagged-later", "copy", "checksummed"]
        + [f"batch/{n}" for n in range(2, 5)]
    )
    assert _body(s3, "durable", "plain") == b"plain body"
    assert _body(s3, "durable", "overwritten") == b"second"
    tagged = s3.get_object(Bucket="durable", Key="tagged")
    assert tagged["Body"].read() == b"tagged body"
    assert tagged["Metadata"] == {"origin": "test"} and tagged["ContentType"] == "text/plain"
    assert tagged["ETag"] == etag == f'"{hashlib.md5(b"tagged body").hexdigest()}"'
    assert _tags(s3, "durable", "tagged") == {"team": "data", "tier": "gold"}
    assert _tags(s3, "durable", "tagged-later") == {"k": "v"}
    assert _tags(s3, "durable", "untagged-later") == {}
    grants = s3.get_object_acl(Bucket="durable", Key="plain")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)
    copy = s3.get_object(Bucket="durable", Key="copy")
    assert copy["Body"].read() == b"tagged body" and copy["Metadata"] == {"copied": "yes"}
    ranged = s3.get_object(Bucket="durable", Key="tagged", Range="bytes=2-5")
    assert ranged["Body"].read() == b"gged" and ranged["ContentRange"] == "bytes 2-5/11"
    head = s3.head_object(Bucket="durable", Key="checksummed", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == checksum["ChecksumSHA256"]
    with pytest.raises(ClientError):
        s3.head_object(Bucket="durable", Key="deleted")


def test_versions_and_delete_markers_survive_kill9(engine_factory: Callable[..., EngineProcess]) -> None:
    engine = engine_factory(*NEVER)
    s3 = _s3(engine)
    _create(s3, "versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="versioned", Key="doc", Body=b"v1", Tagging="version=1")["VersionId"]
    v2 = s3.put_object(Bucket="versioned", Key="doc", Body=b"v2")["VersionId"]
    s3.put_object(Bucket="versioned", Key="marked", Body=b"hidden")
    marker = s3.delete_object(Bucket="versioned", Key="marked")
    assert marker["DeleteMarker"]
    s3.put_object(Bucket="versioned", Key="pruned", Body=b"a")
    pruned = s3.put_object(Bucket="versioned", Key="pruned", Body=b"b")["VersionId"]
    s3.delete_object(Bucket="versioned", Key="pruned", VersionId=pruned)
    _no_snapshot_since_start(engine)

    s3 = _restart(engine)

    assert s3.get_bucket_versioning(Bucket="versioned")["Status"] == "Enabled"
    assert _body(s3, "versioned", "doc") == b"v2"
    assert _body(s3, "versioned", "doc", VersionId=v1) == b"v1"
    assert _body(s3, "versioned", "doc", VersionId=v2) == b"v2"
    assert _tags(s3, "versioned", "doc", VersionId=v1) == {"version": "1"}
    with pytest.raises(ClientError) as hidden:
        s3.get_object(Bucket="versioned", Key="marked")
    assert hidden.value.response["Error"]["Code"] == "NoSuchKey"
    listed = s3.list_object_versions(Bucket="versioned")
    markers = [m for m in listed.get("DeleteMarkers", []) if m["Key"] == "marked"]
    assert [m["VersionId"] for m in markers] == [marker["VersionId"]]
    assert _body(s3, "versioned", "pruned") == b"a"
    versions = {(v["Key"], v["VersionId"]) for v in listed["Versions"]}
    assert ("doc", v1) in versions and ("doc", v2) in versions and ("pruned", pruned) not in versions
    # new versions go on from there
    v3 = s3.put_object(Bucket="versioned", Key="doc", Body=b"v3")["VersionId"]
    assert v3 not in {v1, v2} and _body(s3, "versioned", "doc") == b"v3"


def test_multipart_and_bucket_configuration_survive_kill9(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    engine = engine_factory(*NEVER)
    s3 = _s3(engine)
    _create(s3, "configured")
    parts = [os.urandom(5 * 1024 * 1024), b"the tail"]
    upload = s3.create_multipart_upload(Bucket="configured", Key="big")["UploadId"]
    etags = [
        s3.upload_part(Bucket="configured", Key="big", UploadId=upload, PartNumber=n, Body=body)["ETag"]
        for n, body in enumerate(parts, start=1)
    ]
    done = s3.complete_multipart_upload(
        Bucket="configured",
        Key="big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, start=1)]},
    )
    in_progress = s3.create_multipart_upload(Bucket="configured", Key="unfinished")["UploadId"]
    part = s3.upload_part(
        Bucket="configured", Key="unfinished", UploadId=in_progress, PartNumber=1, Body=b"p1"
    )
    aborted = s3.create_multipart_upload(Bucket="configured", Key="aborted")["UploadId"]
    s3.abort_multipart_upload(Bucket="configured", Key="aborted", UploadId=aborted)
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::configured/*",
                }
            ],
        }
    )
    s3.put_bucket_policy(Bucket="configured", Policy=policy)
    s3.put_bucket_tagging(Bucket="configured", Tagging={"TagSet": [{"Key": "owner", "Value": "me"}]})
    s3.put_bucket_cors(
        Bucket="configured",
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://x.test"]}]},
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="configured",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 3}}
            ]
        },
    )
    s3.put_bucket_encryption(
        Bucket="configured",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    _create(s3, "dropped")
    s3.delete_bucket(Bucket="dropped")
    _create(s3, "emptied")
    s3.put_object(Bucket="emptied", Key="k", Body=b"k")
    s3.delete_object(Bucket="emptied", Key="k")
    s3.delete_bucket(Bucket="emptied")
    _no_snapshot_since_start(engine)

    s3 = _restart(engine)

    big = s3.get_object(Bucket="configured", Key="big")
    assert big["Body"].read() == b"".join(parts) and big["ETag"] == done["ETag"]
    uploads = {
        u["Key"]: u["UploadId"] for u in s3.list_multipart_uploads(Bucket="configured").get("Uploads", [])
    }
    assert uploads == {"unfinished": in_progress}
    listed = s3.list_parts(Bucket="configured", Key="unfinished", UploadId=in_progress)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == [(1, part["ETag"])]
    s3.complete_multipart_upload(
        Bucket="configured",
        Key="unfinished",
        UploadId=in_progress,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert _body(s3, "configured", "unfinished") == b"p1"
    assert json.loads(s3.get_bucket_policy(Bucket="configured")["Policy"]) == json.loads(policy)
    assert s3.get_bucket_tagging(Bucket="configured")["TagSet"] == [{"Key": "owner", "Value": "me"}]
    assert s3.get_bucket_cors(Bucket="configured")["CORSRules"][0]["AllowedOrigins"] == ["https://x.test"]
    assert s3.get_bucket_lifecycle_configuration(Bucket="configured")["Rules"][0]["ID"] == "expire"
    rule = s3.get_bucket_encryption(Bucket="configured")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert names == {"configured"}


def test_object_lock_and_notifications_survive_kill9(engine_factory: Callable[..., EngineProcess]) -> None:
    """Retention and legal holds (object calls that change no body), a notification
    configuration and a bucket ACL, acknowledged without a snapshot."""
    engine = engine_factory(*NEVER)
    s3 = _s3(engine)
    s3.create_bucket(
        Bucket="locked",
        CreateBucketConfiguration={"LocationConstraint": REGION},
        ObjectLockEnabledForBucket=True,
    )
    version = s3.put_object(Bucket="locked", Key="held", Body=b"held body")["VersionId"]
    s3.put_object_legal_hold(Bucket="locked", Key="held", LegalHold={"Status": "ON"})
    s3.put_object(Bucket="locked", Key="retained", Body=b"retained body")
    until = "2099-01-01T00:00:00Z"
    s3.put_object_retention(
        Bucket="locked", Key="retained", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}
    )
    _create(s3, "notifying")
    s3.put_bucket_notification_configuration(
        Bucket="notifying", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_bucket_acl(Bucket="notifying", ACL="public-read")
    _no_snapshot_since_start(engine)

    s3 = _restart(engine)

    assert s3.get_object_legal_hold(Bucket="locked", Key="held")["LegalHold"]["Status"] == "ON"
    # (read with HeadObject: moto 5.2.5 answers GetObjectRetention with a 500, restart or not)
    retained = s3.head_object(Bucket="locked", Key="retained")
    assert retained["ObjectLockMode"] == "GOVERNANCE" and retained["ObjectLockRetainUntilDate"].year == 2099
    with pytest.raises(ClientError):  # the hold still protects the version
        s3.delete_object(Bucket="locked", Key="held", VersionId=version)
    assert _body(s3, "locked", "held") == b"held body"
    assert "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket="notifying")
    grants = s3.get_bucket_acl(Bucket="notifying")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)


def test_a_bucket_made_after_the_last_snapshot_survives_kill9(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """A snapshot knows one bucket; another is made after it, with objects, and the first is
    emptied and deleted: the rows win over the snapshot."""
    engine = engine_factory(*NEVER)
    s3 = _s3(engine)
    _create(s3, "in-snapshot")
    s3.put_object(Bucket="in-snapshot", Key="k", Body=b"old")
    engine.snapshot()
    _create(s3, "after-snapshot")
    s3.put_object(Bucket="after-snapshot", Key="a", Body=b"made after the snapshot")
    s3.put_object(Bucket="in-snapshot", Key="k", Body=b"new")
    s3.delete_object(Bucket="in-snapshot", Key="k")
    s3.delete_bucket(Bucket="in-snapshot")

    s3 = _restart(engine)

    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {"after-snapshot"}
    assert _body(s3, "after-snapshot", "a") == b"made after the snapshot"
    _create(s3, "in-snapshot")  # the name is free again
    assert _keys(s3, "in-snapshot") == []


def _blob_files(state_dir: Path) -> set[str]:
    return {p.name for p in (state_dir / "state" / "blobs").rglob("*") if p.is_file()}


def _row_digests(state_dir: Path) -> set[str]:
    import sqlite3

    db = sqlite3.connect(state_dir / "state" / "s3.sqlite")
    try:
        found: set[str] = set()
        for table in ("buckets", "objects"):
            for (digests,) in db.execute(f"SELECT digests FROM {table}"):
                found.update(digests.split())
        return found
    finally:
        db.close()


def test_blob_collection_keeps_every_referenced_body(engine_factory: Callable[..., EngineProcess]) -> None:
    """Overwritten and deleted bodies go at the next snapshot; crash garbage goes at start;
    every body a row refers to stays."""
    engine = engine_factory(*NEVER)
    s3 = _s3(engine)
    _create(s3, "collected")
    s3.put_object(Bucket="collected", Key="kept", Body=b"kept body")
    s3.put_object(Bucket="collected", Key="same-a", Body=b"shared body")
    s3.put_object(Bucket="collected", Key="same-b", Body=b"shared body")
    s3.put_object(Bucket="collected", Key="overwritten", Body=b"old body")
    s3.put_object(Bucket="collected", Key="overwritten", Body=b"new body")
    s3.put_object(Bucket="collected", Key="deleted", Body=b"deleted body")
    s3.delete_object(Bucket="collected", Key="deleted")
    s3.delete_object(Bucket="collected", Key="same-a")  # its body is still same-b's
    digest = {
        body: hashlib.sha256(body).hexdigest() for body in (b"old body", b"deleted body", b"shared body")
    }
    assert {digest[b"old body"], digest[b"deleted body"]} <= _blob_files(engine.state_dir)

    engine.snapshot()
    files = _blob_files(engine.state_dir)
    assert digest[b"old body"] not in files and digest[b"deleted body"] not in files
    assert _row_digests(engine.state_dir) <= files and digest[b"shared body"] in files

    # what a crash leaves: a body written for a key no row took, a torn temporary file
    stray = hashlib.sha256(b"stray").hexdigest()
    blobs = engine.state_dir / "state" / "blobs"
    (blobs / stray[:2]).mkdir(exist_ok=True)
    (blobs / stray[:2] / stray).write_bytes(b"stray")
    (blobs / stray[:2] / f"{stray}.1.tmp").write_bytes(b"str")
    s3 = _restart(engine)
    files = _blob_files(engine.state_dir)
    assert stray not in files and f"{stray}.1.tmp" not in files
    assert _row_digests(engine.state_dir) <= files
    assert {k: _body(s3, "collected", k) for k in _keys(s3, "collected")} == {
        "kept": b"kept body",
        "same-b": b"shared body",
        "overwritten": b"new body",
    }


def test_a_write_that_cannot_be_persisted_is_refused(engine_factory: Callable[..., EngineProcess]) -> None:
    """The body of a PutObject cannot be stored (the blob store's folder is made immutable,
    standing in for a full disk: ``tests/reliability/test_disk_full.py`` fills a real one):
    the client gets a 503 instead of its answer, the engine says degraded, and after a
    kill -9 the refused object is absent and the acknowledged ones are there. Once the disk
    takes writes again, a snapshot clears the state and writes resume."""
    engine = engine_factory(*NEVER)
    s3 = _s3(engine, max_attempts=0)
    _create(s3, "refusing")
    s3.put_object(Bucket="refusing", Key="before", Body=b"before")
    blobs = engine.state_dir / "state" / "blobs"
    body = next(
        body
        for n in range(10_000)
        if not (blobs / hashlib.sha256(body := f"refused {n}".encode()).hexdigest()[:2]).exists()
    )
    done = subprocess.run(["chattr", "+i", str(blobs)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not possible here: {done.stderr.decode().strip()}")
    try:
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="refusing", Key="refused", Body=body)
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        health = engine.health()
        assert health is not None and health["status"] == "degraded"
        assert "could not be persisted" in health["degraded_reason"]
        with pytest.raises(ClientError) as again:  # degraded: refused before moto sees it
            s3.put_object(Bucket="refusing", Key="also-refused", Body=b"x")
        assert again.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert _body(s3, "refusing", "before") == b"before"  # reads go on
        s3 = _restart(engine)
        s3 = engine.target().client("s3", max_attempts=0)
    finally:
        subprocess.run(["chattr", "-i", str(blobs)], check=False)
    assert _keys(s3, "refusing") == ["before"]
    s3.put_object(Bucket="refusing", Key="after", Body=body)
    s3 = _restart(engine)
    assert _body(s3, "refusing", "after") == body


def test_an_old_format_state_dir_restores_and_moves_to_rows(tmp_path: Path) -> None:
    """A state dir of format 3 (S3's keys pickled in the snapshot, no row store) restores
    whole; the engine copies it into rows at once, so a kill -9 loses nothing either."""
    state_dir = tmp_path / "old"
    script = r"""
import sys, pickle
from pathlib import Path
from moto.s3.models import s3_backends
import emulation.core.persistence as persistence

state_dir = Path(sys.argv[1])
backend = s3_backends["123456789012"]["aws"]
backend.create_bucket("legacy", "us-east-1")
backend.put_bucket_versioning("legacy", "Enabled")
first = backend.put_object("legacy", "doc", b"first version")
backend.put_object("legacy", "doc", b"second version")
backend.tagger.tag_resource(first.arn, [{"Key": "old", "Value": "tag"}])
backend.put_object("legacy", "other", b"other body")

class OldPickler(persistence._CapturePickler):
    # format 3: the key stores are detached with all their versions
    def _reduce_key_store(self, store):
        fake_key = self._fake_key
        lists = [
            (name, [self._key_state(e) if type(e) is fake_key else self._nested(e) for e in versions])
            for name, versions in persistence.moto_pickling.key_store_lists(store)
        ]
        self._detached.append(lists)
        return (persistence._restore_detached_key_store, (type(store), len(self._detached) - 1))

    @staticmethod
    def _reduce_tagger(tagger):
        return (persistence._restore_tagger, (type(tagger), dict(vars(tagger))))

persistence._CapturePickler = OldPickler
persistence.FORMAT_VERSION = 3
store = persistence.StateStore(state_dir)
store.write(store.serialize(None, {}), store.generation + 1)
store.s3.close()
(state_dir / "state" / "s3.sqlite").unlink()
for suffix in ("-wal", "-shm"):
    (state_dir / "state" / f"s3.sqlite{suffix}").unlink(missing_ok=True)
print(first.version_id)
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", script, str(state_dir)], capture_output=True, text=True, env=env, check=True
    )
    first_version = done.stdout.strip().splitlines()[-1]
    manifest = json.loads((state_dir / "state" / "manifest.json").read_text())
    assert manifest["format"] == 3 and not (state_dir / "state" / "s3.sqlite").exists()

    engine = EngineProcess(state_dir, *NEVER)
    engine.start()
    try:
        s3 = _s3(engine)
        assert _body(s3, "legacy", "doc") == b"second version"
        assert _body(s3, "legacy", "doc", VersionId=first_version) == b"first version"
        assert _tags(s3, "legacy", "doc", VersionId=first_version) == {"old": "tag"}
        assert _body(s3, "legacy", "other") == b"other body"
        s3.delete_object(Bucket="legacy", Key="other")
        s3 = _restart(engine)  # the format-3 snapshot is still the current one
        assert _body(s3, "legacy", "doc", VersionId=first_version) == b"first version"
        assert _tags(s3, "legacy", "doc", VersionId=first_version) == {"old": "tag"}
        versions = s3.list_object_versions(Bucket="legacy", Prefix="other")
        assert [m["Key"] for m in versions.get("DeleteMarkers", [])] == ["other"]
        engine.snapshot()
        manifest = json.loads((state_dir / "state" / "manifest.json").read_text())
        assert manifest["format"] == 4
    finally:
        engine.stop()


def test_bulk_fill_with_a_snapshot_restores(tmp_path: Path) -> None:
    """``bulk_fill`` (no engine running), then a snapshot written by the same process, as
    ``emulation.seed`` does: the engine starts with every object."""
    state_dir = tmp_path / "filled"
    script = r"""
import sys
from pathlib import Path
from emulation.core.persistence import StateStore
from emulation.core.s3store import bulk_fill

state_dir = Path(sys.argv[1])
bulk_fill(state_dir, account="123456789012", region="us-west-2", bucket="filled", objects=500, body_size=100)
store = StateStore(state_dir)
store.write(store.serialize(None, {}), store.generation + 1)
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", script, str(state_dir)], env=env, check=True)
    engine = EngineProcess(state_dir, *NEVER)
    engine.start()
    try:
        s3 = _s3(engine)
        keys = _keys(s3, "filled")
        assert len(keys) == 500 and set(keys) == {f"fixture/{n}" for n in range(500)}
        body = _body(s3, "filled", "fixture/123")
        assert len(body) == 100 and body.startswith(b"fixture/123\n")
        head = s3.head_object(Bucket="filled", Key="fixture/123")
        assert head["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
        assert s3.get_bucket_location(Bucket="filled")["LocationConstraint"] == "us-west-2"
        s3.put_object(Bucket="filled", Key="fixture/123", Body=b"replaced")
        s3 = _restart(engine)
        assert _body(s3, "filled", "fixture/123") == b"replaced"
        assert len(_keys(s3, "filled")) == 500
    finally:
        engine.stop()
