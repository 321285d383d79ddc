"""Firehose delivery pieces in-process: key layout, compression, shard reading, persistence."""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
import time
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from emulation.core.app import EngineApp
from emulation.core.settings import EngineSettings
from emulation.firehose.delivery import (
    Compressor,
    S3Destination,
    error_prefix,
    evaluate_prefix,
    object_name,
)
from emulation.firehose.extension import FirehoseExtension
from emulation.firehose.source import START, after_merge_copies, records_after

WHEN = datetime(2026, 3, 7, 9, 5, 4, tzinfo=UTC)
REGION = "us-west-2"


def destination(**config: Any) -> S3Destination:
    described = S3Destination.from_description(
        {"ExtendedS3": {"BucketARN": "arn:aws:s3:::bronze-unit", **config}}
    )
    assert described is not None
    return described


# -- key layout ----------------------------------------------------------------------------
def test_prefix_without_expressions_gets_the_utc_hour_appended() -> None:
    """A plain Prefix is followed by YYYY/MM/DD/HH/ of the (UTC) time."""
    assert evaluate_prefix("", WHEN) == "2026/03/07/09/"
    assert evaluate_prefix("client/", WHEN) == "client/2026/03/07/09/"


def test_prefix_expressions_are_evaluated_instead_of_the_default() -> None:
    """!{timestamp:...} uses Java date letters; random-string and error-output-type expand."""
    prefix = "dt=!{timestamp:yyyy-MM-dd}/h=!{timestamp:HH}/!{firehose:random-string}/"
    evaluated = evaluate_prefix(prefix, WHEN)
    assert re.fullmatch(r"dt=2026-03-07/h=09/[A-Za-z0-9]{11}/", evaluated), evaluated
    assert evaluate_prefix("e/!{firehose:error-output-type}/", WHEN, "processing-failed") == (
        "e/processing-failed/"
    )


def test_error_output_defaults_to_processing_failed() -> None:
    """Without ErrorOutputPrefix failed records go to processing-failed/YYYY/MM/DD/HH/."""
    assert error_prefix(destination(), WHEN, "processing-failed") == "processing-failed/2026/03/07/09/"
    custom = destination(ErrorOutputPrefix="firehose-errors/to-lake/")
    assert error_prefix(custom, WHEN, "processing-failed") == "firehose-errors/to-lake/2026/03/07/09/"


def test_object_name_is_stream_version_time_uuid() -> None:
    """<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid4><extension>."""
    name = object_name("nexus-dev-to-lake", "1", WHEN, ".gz")
    assert re.fullmatch(r"nexus-dev-to-lake-1-2026-03-07-09-05-04-[0-9a-f-]{36}\.gz", name), name


def test_buffering_interval_is_capped_in_fast_mode_only() -> None:
    """fast caps IntervalInSeconds at 1 s; aws honours it (and AWS's 300 s default)."""
    hinted = destination(BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
    assert hinted.interval("fast") == 1.0
    assert hinted.interval("aws") == 60.0
    assert hinted.size_bytes == 1024 * 1024
    assert destination().interval("aws") == 300.0


# -- compression ---------------------------------------------------------------------------
def test_gzip_and_zip_round_trip() -> None:
    """GZIP and ZIP bodies decompress to the payload and carry .gz / .zip."""
    compressor = Compressor()
    body, extension = compressor.compress(b"abc" * 100, "GZIP", "entry")
    assert (body[:2], extension, gzip.decompress(body)) == (b"\x1f\x8b", ".gz", b"abc" * 100)
    body, extension = compressor.compress(b"xyz", "ZIP", "entry")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert (extension, archive.read("entry")) == (".zip", b"xyz")


def test_snappy_without_a_library_is_delivered_uncompressed_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Snappy needs cramjam; without it the payload passes uncompressed, warned about once."""
    compressor = Compressor()
    if compressor._snappy is not None:
        pytest.skip("cramjam is installed: Snappy is compressed")
    with caplog.at_level(logging.WARNING):
        assert compressor.compress(b"p", "Snappy", "e") == (b"p", "")
        assert compressor.compress(b"q", "Snappy", "e") == (b"q", "")
    assert len([r for r in caplog.records if "Snappy" in r.getMessage()]) == 1


# -- reading shards ------------------------------------------------------------------------
def test_records_after_returns_only_newer_records_in_order() -> None:
    """Reads by sequence number, for contiguous and for sparse numbering alike."""
    contiguous = OrderedDict((n, f"r{n}") for n in range(1, 11))
    assert records_after(contiguous, START, 3) == [(1, "r1"), (2, "r2"), (3, "r3")]
    assert records_after(contiguous, 8, 100) == [(9, "r9"), (10, "r10")]
    assert records_after(contiguous, 10, 100) == []
    sparse = OrderedDict((n, f"r{n}") for n in (10, 20, 35, 40))
    assert records_after(sparse, 20, 100) == [(35, "r35"), (40, "r40")]
    assert records_after(sparse, 12, 1) == [(20, "r20")]


def test_copies_of_merged_parents_are_skipped() -> None:
    """moto copies both parents' records into a merged shard; the reader starts after them."""

    def record(data: str) -> Any:
        return SimpleNamespace(data=data, partition_key="k")

    def shard(records: list[str], parent: str | None = None, adjacent: str | None = None) -> Any:
        return SimpleNamespace(
            records=OrderedDict((n, record(d)) for n, d in enumerate(records, 1)),
            parent=parent,
            adjacent_parent=adjacent,
        )

    parents = {"a": shard(["1", "2"]), "b": shard(["3"])}
    merged = shard(["1", "2", "3", "new"], parent="a", adjacent="b")
    stream = SimpleNamespace(shards={**parents, "m": merged})
    assert after_merge_copies(stream, merged) == 3
    fresh = shard(["x", "y"], parent="a", adjacent="b")  # an AWS-like empty start
    assert after_merge_copies(SimpleNamespace(shards={**parents, "m": fresh}), fresh) is START


# -- in-process engine ---------------------------------------------------------------------
@pytest.fixture
def moto_state() -> Iterator[None]:
    with mock_aws():
        yield


def test_undecodable_record_goes_to_the_error_output_prefix(moto_state: None) -> None:
    """A record whose data is not base64 is written as a processing-failed JSON line under
    ErrorOutputPrefix; the good records around it are delivered normally."""
    from moto.backends import get_backend
    from moto.kinesis.models import Record

    kinesis = boto3.client("kinesis", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    firehose = boto3.client("firehose", region_name=REGION)
    kinesis.create_stream(StreamName="src", ShardCount=1)
    s3.create_bucket(Bucket="bronze-unit", CreateBucketConfiguration={"LocationConstraint": REGION})
    firehose.create_delivery_stream(
        DeliveryStreamName="hose",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={
            "KinesisStreamARN": f"arn:aws:kinesis:{REGION}:123456789012:stream/src",
            "RoleARN": "arn:aws:iam::123456789012:role/r",
        },
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/r",
            "BucketARN": "arn:aws:s3:::bronze-unit",
            "ErrorOutputPrefix": "errors/",
            "CompressionFormat": "UNCOMPRESSED",
        },
    )
    time.sleep(0.01)
    kinesis.put_record(StreamName="src", Data=b"good", PartitionKey="k")
    shard = get_backend("kinesis")["123456789012"][REGION].streams["src"].shards["shardId-000000000000"]
    shard.records[2] = Record("k", "!!not-base64", 2, None)

    extension = FirehoseExtension(EngineSettings())
    app = EngineApp(EngineSettings(), [extension])
    app.start_extensions()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and extension.health()["objects_written"] < 2:
            time.sleep(0.05)
    finally:
        app.stop_extensions()
    keys = [obj["Key"] for obj in s3.list_objects_v2(Bucket="bronze-unit").get("Contents", [])]
    errors = [key for key in keys if key.startswith("errors/")]
    data = [key for key in keys if not key.startswith("errors/")]
    assert len(errors) == 1 and len(data) == 1, keys
    assert s3.get_object(Bucket="bronze-unit", Key=data[0])["Body"].read() == b"good"
    line = json.loads(s3.get_object(Bucket="bronze-unit", Key=errors[0])["Body"].read())
    assert line["rawData"] == "!!not-base64"
    assert line["errorCode"] == "Kinesis.InvalidRecordData"


def test_snapshot_writes_services_changed_after_the_dirty_set_was_taken(
    moto_state: None, tmp_path: Path
) -> None:
    """The snapshot loop reads the dirty set before it freezes the engine; a delivery in
    between (S3 put + checkpoint) must still be written with the checkpoints it advanced."""
    app = EngineApp(EngineSettings(state_dir=tmp_path), [])
    boto3.client("kinesis", region_name=REGION).create_stream(StreamName="s", ShardCount=1)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="bronze-unit", CreateBucketConfiguration={"LocationConstraint": REGION})
    dirty = {"kinesis"}  # what the loop took
    app.mark_dirty("s3")  # a worker delivered after that
    app.snapshot(dirty)
    assert app.store is not None
    assert app.store.manifest["services"]["s3"].endswith(f".{app.store.generation}.pkl")
