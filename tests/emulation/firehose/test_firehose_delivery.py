"""Firehose delivery from Kinesis sources, against real engine processes over HTTP.

Each test provisions what it needs with boto3, mirroring the Nexus pipelines:
``nexus-dev-intake`` (2 shards) -> ``nexus-dev-to-lake`` -> bronze root, and
``nexus-dev-client-intake`` (1 shard) -> ``nexus-dev-client-to-lake`` -> ``client/``.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers import REGION, EngineProcess

ACCOUNT = "123456789012"
BRONZE = f"nexus-dev-bronze-{REGION}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/nexus-dev-firehose"
PRIMARY_STREAM = "nexus-dev-intake"
CLIENT_STREAM = "nexus-dev-client-intake"
PRIMARY_FIREHOSE = "nexus-dev-to-lake"
CLIENT_FIREHOSE = "nexus-dev-client-to-lake"
PRIMARY_LOG_GROUP = "/aws/kinesisfirehose/nexus-dev-firehose"
LOG_STREAM = "DestinationDelivery"
UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def key_layout(prefix: str, stream: str, extension: str) -> re.Pattern[str]:
    """AWS's key: prefix + YYYY/MM/DD/HH/ + <stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid4>."""
    return re.compile(
        rf"^{re.escape(prefix)}\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/"
        rf"{re.escape(stream)}-1-\d{{4}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-{UUID4}"
        rf"{re.escape(extension)}$"
    )


@dataclass
class Lake:
    """boto3 clients of the bootstrap admin against one engine."""

    engine: EngineProcess
    kinesis: Any
    s3: Any
    firehose: Any
    logs: Any

    @classmethod
    def on(cls, engine: EngineProcess) -> Lake:
        target = engine.target()
        return cls(
            engine,
            target.client("kinesis"),
            target.client("s3"),
            target.client("firehose"),
            target.client("logs"),
        )

    # -- provisioning ---------------------------------------------------------------------
    def stream(self, name: str, shards: int) -> None:
        self.kinesis.create_stream(StreamName=name, ShardCount=shards)

    def bucket(self, name: str = BRONZE, versioned: bool = True) -> None:
        self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if versioned:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    def log_stream(self, group: str = PRIMARY_LOG_GROUP) -> None:
        self.logs.create_log_group(logGroupName=group)
        self.logs.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)

    def delivery_stream(
        self,
        name: str,
        source: str,
        prefix: str = "",
        compression: str = "GZIP",
        interval: int = 60,
        size_mb: int = 5,
        bucket: str = BRONZE,
        log_group: str = PRIMARY_LOG_GROUP,
    ) -> None:
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={
                "KinesisStreamARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{source}",
                "RoleARN": ROLE,
            },
            ExtendedS3DestinationConfiguration={
                "RoleARN": ROLE,
                "BucketARN": f"arn:aws:s3:::{bucket}",
                "Prefix": prefix,
                "ErrorOutputPrefix": f"{prefix}processing-failed/",
                "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval},
                "CompressionFormat": compression,
                "CloudWatchLoggingOptions": {
                    "Enabled": True,
                    "LogGroupName": log_group,
                    "LogStreamName": LOG_STREAM,
                },
            },
        )

    def primary_pipeline(self, **options: Any) -> None:
        """nexus-dev-intake (2 shards) -> nexus-dev-to-lake -> bronze root."""
        self.stream(PRIMARY_STREAM, 2)
        self.bucket()
        self.log_stream()
        self.delivery_stream(PRIMARY_FIREHOSE, PRIMARY_STREAM, **options)

    # -- data -----------------------------------------------------------------------------
    def put(self, stream: str, ids: Iterable[str], batch: int = 500, pad: int = 0) -> None:
        """PutRecords in batches, retrying throttled entries as a careful producer does."""
        pending = [
            {
                "Data": (json.dumps({"id": i, "pad": "x" * pad}) + "\n").encode(),
                "PartitionKey": i,
            }
            for i in ids
        ]
        while pending:
            chunk, pending = pending[:batch], pending[batch:]
            for _ in range(50):
                result = self.kinesis.put_records(StreamName=stream, Records=chunk)
                if not result["FailedRecordCount"]:
                    break
                chunk = [
                    entry
                    for entry, outcome in zip(chunk, result["Records"], strict=True)
                    if "ErrorCode" in outcome
                ]
                time.sleep(0.2)
            else:
                pytest.fail(f"{len(chunk)} records stayed throttled")

    def object_keys(self, bucket: str = BRONZE, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def body(self, key: str, bucket: str = BRONZE) -> bytes:
        data: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return gzip.decompress(data) if key.endswith(".gz") else data

    def ids(self, bucket: str = BRONZE, prefix: str = "") -> Counter[str]:
        """Every record id in the bucket under ``prefix`` (decompressed), with its count."""
        found: Counter[str] = Counter()
        for key in self.object_keys(bucket, prefix):
            for line in self.body(key, bucket).splitlines():
                found[json.loads(line)["id"]] += 1
        return found

    def health(self) -> dict[str, Any]:
        health = self.engine.health()
        assert health is not None
        firehose: dict[str, Any] = health["extensions"]["firehose"]
        return firehose


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Poll until ``check()`` is truthy; returns its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def ids(tag: str, count: int) -> list[str]:
    return [f"{tag}-{i}" for i in range(count)]


def reset(engine: EngineProcess) -> None:
    engine.reset()


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One engine in the default (fast) buffering mode for the tests of this module."""
    engine = EngineProcess(tmp_path_factory.mktemp("firehose-engine")).start()
    yield engine
    engine.stop()


@pytest.fixture
def lake(shared_engine: EngineProcess) -> Lake:
    """The shared engine, reset to empty (no streams, buckets or delivery workers)."""
    reset(shared_engine)
    return Lake.on(shared_engine)


# -- delivery ------------------------------------------------------------------------------
def test_primary_records_land_in_bronze_root_exactly_once(lake: Lake) -> None:
    """1,000 records put to nexus-dev-intake appear decompressed, once each, in bronze root."""
    lake.primary_pipeline()
    expected = ids("p", 1000)
    lake.put(PRIMARY_STREAM, expected)
    put_done = time.monotonic()

    assert wait_for(lambda: sum(lake.ids().values()) >= 1000, timeout=10)
    print(f"put->bronze (last put to all 1,000 in bronze): {time.monotonic() - put_done:.2f} s")
    time.sleep(1.2)  # nothing more may arrive
    assert lake.ids() == Counter(expected)
    assert all(key_layout("", PRIMARY_FIREHOSE, ".gz").match(key) for key in lake.object_keys())


def test_client_records_land_under_client_prefix(lake: Lake) -> None:
    """Records put to nexus-dev-client-intake land in bronze under client/ only."""
    lake.primary_pipeline()
    lake.stream(CLIENT_STREAM, 1)
    lake.log_stream("/aws/kinesisfirehose/nexus-dev-client-firehose")
    lake.delivery_stream(
        CLIENT_FIREHOSE,
        CLIENT_STREAM,
        prefix="client/",
        log_group="/aws/kinesisfirehose/nexus-dev-client-firehose",
    )
    expected = ids("c", 300)
    lake.put(CLIENT_STREAM, expected)

    assert wait_for(lambda: sum(lake.ids(prefix="client/").values()) >= 300)
    time.sleep(1.2)
    assert lake.ids(prefix="client/") == Counter(expected)
    keys = lake.object_keys()
    assert keys and all(key_layout("client/", CLIENT_FIREHOSE, ".gz").match(key) for key in keys)


def test_two_delivery_streams_on_one_source_each_get_every_record(lake: Lake) -> None:
    """A second delivery stream on nexus-dev-intake receives every record too."""
    lake.primary_pipeline()
    lake.delivery_stream("nexus-dev-to-audit", PRIMARY_STREAM, prefix="audit/")
    expected = ids("d", 600)
    lake.put(PRIMARY_STREAM, expected)

    def both() -> bool:
        everything = lake.ids()
        audit = lake.ids(prefix="audit/")
        return sum(audit.values()) >= 600 and sum((everything - audit).values()) >= 600

    assert wait_for(both)
    time.sleep(1.2)
    audit = lake.ids(prefix="audit/")
    assert audit == Counter(expected)
    assert lake.ids() - audit == Counter(expected)


def test_gzip_object_has_magic_and_aws_key_layout(lake: Lake) -> None:
    """A GZIP object starts with 1f8b and its key is prefix/YYYY/MM/DD/HH/<name>-1-<time>-<uuid>.gz."""
    lake.primary_pipeline()
    lake.put(PRIMARY_STREAM, ids("g", 20))

    keys = wait_for(lake.object_keys)
    assert keys
    raw = lake.s3.get_object(Bucket=BRONZE, Key=keys[0])["Body"].read()
    assert raw[:2] == b"\x1f\x8b"
    assert key_layout("", PRIMARY_FIREHOSE, ".gz").match(keys[0]), keys[0]
    hour = time.strftime("%Y/%m/%d/", time.gmtime())
    assert keys[0].startswith(hour)  # UTC date (the hour may just have turned)


def test_objects_in_a_versioned_bucket_get_version_ids(lake: Lake) -> None:
    """Objects are written as a PutObject would: a versioned bronze bucket gives them versions."""
    lake.primary_pipeline()
    lake.put(PRIMARY_STREAM, ids("v", 10))

    keys = wait_for(lake.object_keys)
    assert keys
    head = lake.s3.head_object(Bucket=BRONZE, Key=keys[0])
    assert head["VersionId"] not in (None, "", "null")


def test_uncompressed_object_is_the_concatenated_payloads(lake: Lake) -> None:
    """UNCOMPRESSED delivers the record payloads concatenated as-is, without a .gz suffix."""
    lake.stream(CLIENT_STREAM, 1)
    lake.bucket()
    lake.log_stream()
    lake.delivery_stream(CLIENT_FIREHOSE, CLIENT_STREAM, compression="UNCOMPRESSED")
    lake.kinesis.put_records(
        StreamName=CLIENT_STREAM,
        Records=[{"Data": data, "PartitionKey": "k"} for data in (b"alpha", b"|", b"beta")],
    )

    keys = wait_for(lake.object_keys)
    assert len(keys) == 1
    assert key_layout("", CLIENT_FIREHOSE, "").match(keys[0]), keys[0]
    assert lake.s3.get_object(Bucket=BRONZE, Key=keys[0])["Body"].read() == b"alpha|beta"


def test_resharded_source_is_delivered_exactly_once(lake: Lake) -> None:
    """Records put before and after splitting and merging shards are each delivered once."""
    lake.stream(CLIENT_STREAM, 1)
    lake.bucket()
    lake.log_stream()
    lake.delivery_stream(CLIENT_FIREHOSE, CLIENT_STREAM)
    lake.put(CLIENT_STREAM, ids("before", 200))
    assert wait_for(lambda: sum(lake.ids().values()) >= 200)
    lake.kinesis.update_shard_count(
        StreamName=CLIENT_STREAM, TargetShardCount=2, ScalingType="UNIFORM_SCALING"
    )
    lake.put(CLIENT_STREAM, ids("split", 200))
    assert wait_for(lambda: sum(lake.ids().values()) >= 400)
    lake.kinesis.update_shard_count(
        StreamName=CLIENT_STREAM, TargetShardCount=1, ScalingType="UNIFORM_SCALING"
    )
    lake.put(CLIENT_STREAM, ids("merged", 200))

    expected = Counter(ids("before", 200) + ids("split", 200) + ids("merged", 200))
    assert wait_for(lambda: sum(lake.ids().values()) >= 600)
    time.sleep(1.2)
    assert lake.ids() == expected


# -- failures ------------------------------------------------------------------------------
def test_deleted_bucket_is_logged_and_records_arrive_once_it_is_back(lake: Lake) -> None:
    """With the bucket gone, each failed attempt is logged (S3.NoSuchBucket) to the delivery
    log stream and the records stay buffered; once the bucket is back they are delivered."""
    lake.primary_pipeline()
    lake.put(PRIMARY_STREAM, ids("first", 50))
    assert wait_for(lambda: sum(lake.ids().values()) >= 50)
    versions = lake.s3.list_object_versions(Bucket=BRONZE).get("Versions", [])
    for version in versions:
        lake.s3.delete_object(Bucket=BRONZE, Key=version["Key"], VersionId=version["VersionId"])
    lake.s3.delete_bucket(Bucket=BRONZE)

    lake.put(PRIMARY_STREAM, ids("held", 100))

    def logged() -> list[dict[str, Any]]:
        events = lake.logs.get_log_events(logGroupName=PRIMARY_LOG_GROUP, logStreamName=LOG_STREAM)
        return [json.loads(event["message"]) for event in events["events"]]

    events = wait_for(logged)
    assert events
    assert events[0]["errorCode"] == "S3.NoSuchBucket"
    assert events[0]["deliveryStreamARN"].endswith(f":deliverystream/{PRIMARY_FIREHOSE}")
    assert events[0]["destination"] == f"arn:aws:s3:::{BRONZE}"
    assert "does not exist" in events[0]["message"]
    stream = next(s for s in lake.health()["streams"] if s["name"] == PRIMARY_FIREHOSE)
    assert stream["retrying"] and stream["buffered_records"] == 100

    lake.bucket(versioned=False)
    assert wait_for(lambda: sum(lake.ids().values()) >= 100, timeout=15)
    time.sleep(1.2)
    assert lake.ids() == Counter(ids("held", 100))


def test_kill9_mid_stream_loses_and_duplicates_nothing(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """kill -9 with records delivered and others not yet: after a restart on the same state
    dir and more puts, bronze holds every record exactly once."""
    engine = engine_factory()
    lake = Lake.on(engine)
    lake.primary_pipeline()
    lake.put(PRIMARY_STREAM, ids("a", 400))
    assert wait_for(lambda: sum(lake.ids().values()) >= 400)
    lake.put(PRIMARY_STREAM, ids("b", 400))
    # Persist the puts now: independent of the Kinesis journal (see the report).
    engine.snapshot()
    delivered_at_kill = sum(lake.ids().values())
    engine.kill9()

    engine.start()
    lake = Lake.on(engine)
    lake.put(PRIMARY_STREAM, ids("c", 400))

    expected = Counter(ids("a", 400) + ids("b", 400) + ids("c", 400))
    assert wait_for(lambda: sum(lake.ids().values()) >= 1200, timeout=15)
    time.sleep(1.2)
    assert lake.ids() == expected
    assert 400 <= delivered_at_kill < 1200


def test_delivered_objects_and_their_checkpoints_survive_kill9_together_without_a_snapshot(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """Delivered objects are durable at once (S3's rows) and so are the checkpoints past their
    records (written in the same transaction): a kill -9 long after the last snapshot
    neither re-delivers what bronze already holds nor loses what it does not."""
    engine = engine_factory("--snapshot-interval", "600")
    lake = Lake.on(engine)
    lake.primary_pipeline()
    engine.snapshot()  # the pipeline itself (the delivery stream is not an S3 change)
    lake.put(PRIMARY_STREAM, ids("a", 300))
    assert wait_for(lambda: sum(lake.ids().values()) >= 300)
    lake.put(PRIMARY_STREAM, ids("b", 300))
    health = engine.health()
    assert health is not None and health["persistence"]["snapshots"] == 1
    engine.kill9()

    engine.start()
    lake = Lake.on(engine)
    lake.put(PRIMARY_STREAM, ids("c", 300))
    expected = Counter(ids("a", 300) + ids("b", 300) + ids("c", 300))
    assert wait_for(lambda: sum(lake.ids().values()) >= 900, timeout=15)
    time.sleep(1.2)
    assert lake.ids() == expected


# -- buffering -----------------------------------------------------------------------------
def test_aws_buffering_holds_records_for_the_interval(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """With --firehose-buffering aws and IntervalInSeconds=60, nothing is delivered in 3 s."""
    lake = Lake.on(engine_factory("--firehose-buffering", "aws"))
    lake.primary_pipeline(interval=60)
    lake.put(PRIMARY_STREAM, ids("slow", 100))

    time.sleep(3)
    assert lake.object_keys() == []
    stream = lake.health()["streams"][0]
    assert stream["buffered_records"] == 100


def test_fast_buffering_caps_the_interval_at_one_second(lake: Lake) -> None:
    """In fast mode a stream with IntervalInSeconds=60 delivers within a couple of seconds."""
    lake.primary_pipeline(interval=60)
    lake.put(PRIMARY_STREAM, ids("fast", 100))
    put_done = time.monotonic()

    assert wait_for(lambda: sum(lake.ids().values()) >= 100, timeout=5)
    print(f"fast mode put->bronze: {time.monotonic() - put_done:.2f} s")


def test_size_hint_flushes_before_the_interval(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """SizeInMBs=1 flushes a full MiB at once even though IntervalInSeconds=60 (aws mode)."""
    lake = Lake.on(engine_factory("--firehose-buffering", "aws", "--kinesis-limits", "off"))
    lake.primary_pipeline(interval=60, size_mb=1)
    lake.put(PRIMARY_STREAM, ids("big", 30), batch=10, pad=50_000)  # ~1.5 MiB

    keys = wait_for(lake.object_keys, timeout=5)
    assert len(keys) == 1
    delivered = len(lake.body(keys[0]))
    assert 0 < delivered <= 1024 * 1024
    assert lake.health()["streams"][0]["buffered_records"] > 0  # the rest waits for 60 s


# -- lifecycle -----------------------------------------------------------------------------
def test_deleting_a_delivery_stream_stops_its_worker(lake: Lake) -> None:
    """DeleteDeliveryStream stops that stream's worker; the other one keeps delivering."""
    lake.primary_pipeline()
    lake.delivery_stream("nexus-dev-to-audit", PRIMARY_STREAM, prefix="audit/")
    assert wait_for(lambda: lake.health()["delivery_threads"] == 2)

    lake.firehose.delete_delivery_stream(DeliveryStreamName="nexus-dev-to-audit")

    def stopped() -> bool:
        health = lake.health()
        names = [stream["name"] for stream in health["streams"]]
        return health["workers"] == 1 and health["delivery_threads"] == 1 and names == [PRIMARY_FIREHOSE]

    assert wait_for(stopped, timeout=5)
    lake.put(PRIMARY_STREAM, ids("after", 50))
    assert wait_for(lambda: sum(lake.ids().values()) >= 50)
    assert lake.object_keys(prefix="audit/") == []


def test_reset_leaves_no_delivery_threads(lake: Lake) -> None:
    """POST /_nexus/reset stops every delivery thread; streams created afterwards deliver."""
    lake.primary_pipeline()
    lake.stream(CLIENT_STREAM, 1)
    lake.delivery_stream(CLIENT_FIREHOSE, CLIENT_STREAM, prefix="client/")
    assert wait_for(lambda: lake.health()["delivery_threads"] == 2)

    reset(lake.engine)

    health = wait_for(
        lambda: (h := lake.health())["workers"] == 0 and h["delivery_threads"] == 0 and h, timeout=5
    )
    assert health and health["supervisor_alive"]
    with pytest.raises(ClientError):
        lake.s3.head_bucket(Bucket=BRONZE)
    lake.primary_pipeline()
    lake.put(PRIMARY_STREAM, ids("again", 20))
    assert wait_for(lambda: sum(lake.ids().values()) >= 20)
    assert lake.health()["delivery_threads"] == 1
