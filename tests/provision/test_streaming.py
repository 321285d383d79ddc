"""Kinesis data and video streams, and the Firehose streams to bronze (spec §2.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nexuskit.params import StackSpec
from nexuskit.provision.resources import ResourceState

pytestmark = pytest.mark.usefixtures("first_run")
Aws = Callable[[str], Any]


def _summary(aws: Aws, name: str) -> dict[str, Any]:
    return dict(aws("kinesis").describe_stream_summary(StreamName=name)["StreamDescriptionSummary"])


def _destination(aws: Aws, name: str) -> dict[str, Any]:
    described = aws("firehose").describe_delivery_stream(DeliveryStreamName=name)
    destinations = described["DeliveryStreamDescription"]["Destinations"]
    assert len(destinations) == 1
    return dict(destinations[0]["ExtendedS3DestinationDescription"])


def test_primary_stream_has_two_shards_and_48_hours(aws: Aws, spec: StackSpec) -> None:
    """nexus-dev-intake is active with 2 open shards and 48 h retention."""
    summary = _summary(aws, "nexus-dev-intake")
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 2
    assert summary["RetentionPeriodHours"] == 48
    assert summary["StreamModeDetails"]["StreamMode"] == "PROVISIONED"


def test_client_stream_has_one_shard_and_24_hours(aws: Aws) -> None:
    """nexus-dev-client-intake is active with 1 open shard and 24 h retention."""
    summary = _summary(aws, "nexus-dev-client-intake")
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 1
    assert summary["RetentionPeriodHours"] == 24


def test_streams_carry_the_stack_tags(aws: Aws) -> None:
    """Both data streams carry the stack's tags and their Channel (as Terraform tags them)."""
    for name, channel in (("nexus-dev-intake", "primary"), ("nexus-dev-client-intake", "client")):
        tags = aws("kinesis").list_tags_for_stream(StreamName=name)["Tags"]
        stack_tags = {"Project": "nexus", "ManagedBy": "nexuskit", "Environment": "dev"}
        assert {t["Key"]: t["Value"] for t in tags} == {**stack_tags, "Channel": channel}


def test_video_streams_have_their_retention(aws: Aws) -> None:
    """Telemetry keeps 24 h of video, client telemetry 12 h."""
    kv = aws("kinesisvideo")
    assert kv.describe_stream(StreamName="nexus-dev-telemetry")["StreamInfo"]["DataRetentionInHours"] == 24
    assert (
        kv.describe_stream(StreamName="nexus-dev-client-telemetry")["StreamInfo"]["DataRetentionInHours"]
        == 12
    )


@pytest.mark.parametrize(
    ("firehose", "stream"),
    [
        ("nexus-dev-to-lake", "nexus-dev-intake"),
        ("nexus-dev-client-to-lake", "nexus-dev-client-intake"),
    ],
)
def test_firehose_reads_its_stream_with_the_firehose_role(
    aws: Aws, account_id: str, firehose: str, stream: str
) -> None:
    """Each Firehose sources its own data stream and assumes the Firehose role."""
    described = aws("firehose").describe_delivery_stream(DeliveryStreamName=firehose)
    description = described["DeliveryStreamDescription"]
    assert description["DeliveryStreamType"] == "KinesisStreamAsSource"
    source = description["Source"]["KinesisStreamSourceDescription"]
    assert source["KinesisStreamARN"] == f"arn:aws:kinesis:us-west-2:{account_id}:stream/{stream}"
    assert source["RoleARN"] == f"arn:aws:iam::{account_id}:role/nexus-dev-firehose"


def test_primary_firehose_writes_gzip_to_bronze_root(aws: Aws, account_id: str) -> None:
    """The primary Firehose delivers GZIP to the bronze bucket root, 5 MB / 60 s buffers."""
    destination = _destination(aws, "nexus-dev-to-lake")
    assert destination["BucketARN"] == "arn:aws:s3:::nexus-dev-bronze-us-west-2"
    assert destination["RoleARN"] == f"arn:aws:iam::{account_id}:role/nexus-dev-firehose"
    assert destination["Prefix"] == ""
    assert destination["ErrorOutputPrefix"] == "processing-failed/"
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 60}


def test_client_firehose_writes_gzip_under_client_prefix(aws: Aws) -> None:
    """The client Firehose delivers GZIP to bronze under client/, errors under client/."""
    destination = _destination(aws, "nexus-dev-client-to-lake")
    assert destination["BucketARN"] == "arn:aws:s3:::nexus-dev-bronze-us-west-2"
    assert destination["Prefix"] == "client/"
    assert destination["ErrorOutputPrefix"] == "client/processing-failed/"
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 60}


@pytest.mark.parametrize(
    ("firehose", "group"),
    [
        ("nexus-dev-to-lake", "/aws/kinesisfirehose/nexus-dev-firehose"),
        ("nexus-dev-client-to-lake", "/aws/kinesisfirehose/nexus-dev-client-firehose"),
    ],
)
def test_firehose_logs_delivery_to_an_existing_log_stream(aws: Aws, firehose: str, group: str) -> None:
    """Delivery logging is on, pointing at a log group and stream that exist."""
    options = _destination(aws, firehose)["CloudWatchLoggingOptions"]
    assert options == {
        "Enabled": True,
        "LogGroupName": group,
        "LogStreamName": "DestinationDelivery",
    }
    streams = aws("logs").describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["DestinationDelivery"]


def test_first_run_reports_streams_created(first_run: list[ResourceState]) -> None:
    """The first run reports each stream as created, with shards and retention."""
    streams = {s.name: s for s in first_run if s.type == "kinesis.stream"}
    assert streams["nexus-dev-intake"] == ResourceState(
        "kinesis.stream", "nexus-dev-intake", "created", "2 shards, 48 h"
    )
    assert streams["nexus-dev-client-intake"].detail == "1 shard, 24 h"
