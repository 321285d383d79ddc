"""Streaming of spec §2.3: Kinesis data streams, Kinesis video streams, Firehose to bronze."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from nexuskit.params import StackSpec
from nexuskit.provision.context import ProvisionContext, aws_call, error_code, tag_list, wait_until
from nexuskit.provision.policies import StackArns
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState, present

log = logging.getLogger(__name__)

STREAM_TYPE = "kinesis.stream"
VIDEO_TYPE = "kinesisvideo.stream"
FIREHOSE_TYPE = "firehose.delivery_stream"
FIREHOSE_LOG_STREAM = "DestinationDelivery"
DEFAULT_RETENTION_HOURS = 24
#: encryption at rest with the AWS managed key (no extra permission for producers or Firehose)
STREAM_KMS_KEY = "alias/aws/kinesis"
VIDEO_MEDIA_TYPE = "video/h264"
_NOT_FOUND = "ResourceNotFoundException"
_UNSUPPORTED = {"404", "NotImplemented", "NotImplementedException"}


@dataclass(frozen=True)
class StreamSpec:
    name: str
    shards: int
    retention_hours: int
    channel: str = "primary"

    @property
    def detail(self) -> str:
        return f"{self.shards} shard{'s' if self.shards != 1 else ''}, {self.retention_hours} h"


def data_streams(spec: StackSpec) -> list[StreamSpec]:
    p = spec.params
    return [
        StreamSpec(spec.primary_stream, p.primary_stream_shards, p.primary_stream_retention_hours),
        StreamSpec(spec.client_stream, p.client_stream_shards, p.client_stream_retention_hours, "client"),
    ]


def video_streams(spec: StackSpec) -> dict[str, int]:
    """Video stream name -> retention hours (empty when video streams are disabled)."""
    if not spec.params.enable_video_streams:
        return {}
    return {
        spec.telemetry_video_stream: spec.params.telemetry_video_retention_hours,
        spec.client_telemetry_video_stream: spec.params.client_telemetry_video_retention_hours,
    }


def firehose_destination(spec: StackSpec, account_id: str, client: bool) -> dict[str, Any]:
    """The ``ExtendedS3DestinationConfiguration`` of the primary or the client Firehose."""
    arns = StackArns(spec, account_id)
    p = spec.params
    prefix = p.client_firehose_prefix if client else ""
    return {
        "RoleARN": arns.role("firehose"),
        "BucketARN": arns.bucket(spec.buckets["bronze"]),
        "Prefix": prefix,
        "ErrorOutputPrefix": f"{prefix}processing-failed/",
        "BufferingHints": {
            "SizeInMBs": p.firehose_buffering_size_mb,
            "IntervalInSeconds": p.firehose_buffering_interval_seconds,
        },
        "CompressionFormat": p.firehose_compression,
        "CloudWatchLoggingOptions": {
            "Enabled": True,
            "LogGroupName": (spec.client_firehose_log_group if client else spec.primary_firehose_log_group),
            "LogStreamName": FIREHOSE_LOG_STREAM,
        },
    }


def _stream_summary(kinesis: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"])
    except ClientError as exc:
        if error_code(exc) == _NOT_FOUND:
            return None
        raise


def _data_stream(ctx: ProvisionContext, stream: StreamSpec) -> ResourceState:
    kinesis = ctx.client("kinesis")
    with aws_call(STREAM_TYPE, stream.name):
        summary = _stream_summary(kinesis, stream.name)
        outcome = EXISTS
        if summary is None:
            kinesis.create_stream(
                StreamName=stream.name,
                ShardCount=stream.shards,
                StreamModeDetails={"StreamMode": "PROVISIONED"},
            )
            outcome = CREATED
        if summary is None or summary["StreamStatus"] != "ACTIVE":
            summary = wait_until(
                lambda: _stream_summary(kinesis, stream.name),
                lambda s: s is not None and s["StreamStatus"] == "ACTIVE",
                f"Kinesis stream {stream.name}",
            )
        assert summary is not None
        if outcome == CREATED:
            kinesis.add_tags_to_stream(StreamName=stream.name, Tags={**ctx.tags, "Channel": stream.channel})
        if summary.get("EncryptionType", "NONE") != "KMS":
            kinesis.start_stream_encryption(
                StreamName=stream.name, EncryptionType="KMS", KeyId=STREAM_KMS_KEY
            )
            if outcome == EXISTS:
                outcome = UPDATED
        retention = int(summary.get("RetentionPeriodHours", DEFAULT_RETENTION_HOURS))
        if retention < stream.retention_hours:
            kinesis.increase_stream_retention_period(
                StreamName=stream.name, RetentionPeriodHours=stream.retention_hours
            )
        elif retention > stream.retention_hours:
            kinesis.decrease_stream_retention_period(
                StreamName=stream.name, RetentionPeriodHours=stream.retention_hours
            )
        if retention != stream.retention_hours and outcome == EXISTS:
            log.info("stream %s retention %d h -> %d h", stream.name, retention, stream.retention_hours)
            outcome = UPDATED
        shards = int(summary.get("OpenShardCount", stream.shards))
        if shards != stream.shards:
            kinesis.update_shard_count(
                StreamName=stream.name,
                TargetShardCount=stream.shards,
                ScalingType="UNIFORM_SCALING",
            )
            log.info("stream %s shards %d -> %d", stream.name, shards, stream.shards)
            outcome = UPDATED
    if outcome == CREATED:
        log.info("created stream %s (%s)", stream.name, stream.detail)
    return ResourceState(STREAM_TYPE, stream.name, outcome, stream.detail)


def _video_streams(ctx: ProvisionContext) -> list[ResourceState]:
    wanted = video_streams(ctx.spec)
    if not wanted:
        return []
    kv = ctx.client("kinesisvideo")
    states = []
    with aws_call(VIDEO_TYPE, ctx.spec.prefix):
        existing = {s["StreamName"]: s for s in kv.list_streams().get("StreamInfoList", [])}
    for name, hours in wanted.items():
        detail = f"{hours} h"
        with aws_call(VIDEO_TYPE, name):
            current = existing.get(name)
            if current is None:
                channel = "client" if name == ctx.spec.client_telemetry_video_stream else "primary"
                kv.create_stream(
                    StreamName=name,
                    DataRetentionInHours=hours,
                    MediaType=VIDEO_MEDIA_TYPE,
                    Tags={**ctx.tags, "Channel": channel},
                )
                log.info("created video stream %s (%d h)", name, hours)
                states.append(ResourceState(VIDEO_TYPE, name, CREATED, detail))
                continue
            have = int(current.get("DataRetentionInHours", 0))
            if have == hours:
                states.append(ResourceState(VIDEO_TYPE, name, EXISTS, detail))
                continue
            try:
                kv.update_data_retention(
                    StreamName=name,
                    CurrentVersion=current["Version"],
                    Operation="INCREASE_DATA_RETENTION" if hours > have else "DECREASE_DATA_RETENTION",
                    DataRetentionChangeInHours=abs(hours - have),
                )
            except ClientError as exc:
                # moto has no UpdateDataRetention (404): report the drift rather than fail.
                if error_code(exc) not in _UNSUPPORTED:
                    raise
                log.warning("video stream %s keeps %d h (wanted %d h): %s", name, have, hours, exc)
                states.append(ResourceState(VIDEO_TYPE, name, EXISTS, f"{have} h (wanted {hours} h)"))
                continue
            states.append(ResourceState(VIDEO_TYPE, name, UPDATED, detail))
    return states


def _destination_drift(current: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """Settings that differ (AWS leaves an empty Prefix out of the description)."""
    return [key for key, value in desired.items() if current.get(key, "" if value == "" else None) != value]


def _create_delivery_stream(ctx: ProvisionContext, name: str, **kwargs: Any) -> None:
    """Create a delivery stream; on AWS a just-created role may take seconds to be usable."""
    firehose = ctx.client("firehose")
    deadline = time.monotonic() + 60
    while True:
        try:
            firehose.create_delivery_stream(DeliveryStreamName=name, **kwargs)
            return
        except ClientError as exc:
            retry = error_code(exc) == "InvalidArgumentException" and "role" in str(exc).lower()
            if not retry or time.monotonic() > deadline:
                raise
            log.info("Firehose %s: role not yet assumable, retrying", name)
            time.sleep(3)


def _firehose(ctx: ProvisionContext, name: str, source: str, client: bool) -> ResourceState:
    firehose = ctx.client("firehose")
    arns = StackArns(ctx.spec, ctx.account_id)
    desired = firehose_destination(ctx.spec, ctx.account_id, client)
    prefix = desired["Prefix"] or "bucket root"
    detail = f"{source} -> {ctx.spec.buckets['bronze']} ({prefix}), {desired['CompressionFormat']}"
    with aws_call(FIREHOSE_TYPE, name):
        try:
            described = firehose.describe_delivery_stream(DeliveryStreamName=name)
        except ClientError as exc:
            if error_code(exc) != _NOT_FOUND:
                raise
            described = None
        if described is None:
            _create_delivery_stream(
                ctx,
                name,
                DeliveryStreamType="KinesisStreamAsSource",
                KinesisStreamSourceConfiguration={
                    "KinesisStreamARN": arns.kinesis_stream(source),
                    "RoleARN": arns.role("firehose"),
                },
                ExtendedS3DestinationConfiguration=desired,
                Tags=tag_list({**ctx.tags, "Channel": "client" if client else "primary"}),
            )
            log.info("created Firehose %s (%s)", name, detail)
            return ResourceState(FIREHOSE_TYPE, name, CREATED, detail)
        description = described["DeliveryStreamDescription"]
        destination = description["Destinations"][0]
        current = destination.get("ExtendedS3DestinationDescription", {})
        drift = _destination_drift(current, desired)
        if not drift:
            return ResourceState(FIREHOSE_TYPE, name, EXISTS, detail)
        firehose.update_destination(
            DeliveryStreamName=name,
            CurrentDeliveryStreamVersionId=description["VersionId"],
            DestinationId=destination["DestinationId"],
            ExtendedS3DestinationUpdate=desired,
        )
    log.info("updated Firehose %s: %s", name, ", ".join(drift))
    return ResourceState(FIREHOSE_TYPE, name, UPDATED, f"{detail}; fixed {', '.join(drift)}")


def provision_streaming(ctx: ProvisionContext) -> list[ResourceState]:
    """Data streams, then video streams, then the Firehose streams that read them."""
    return provision_streams(ctx) + provision_firehoses(ctx)


def provision_streams(ctx: ProvisionContext) -> list[ResourceState]:
    """The Kinesis data streams and the video streams."""
    states = ctx.each(lambda stream: _data_stream(ctx, stream), data_streams(ctx.spec))
    return states + _video_streams(ctx)


def provision_firehoses(ctx: ProvisionContext) -> list[ResourceState]:
    """The Firehose streams from the data streams to bronze (the data streams, the bronze
    bucket, the firehose role and the delivery log streams must exist)."""
    spec = ctx.spec
    firehoses = [
        (spec.primary_firehose, spec.primary_stream, False),
        (spec.client_firehose, spec.client_stream, True),
    ]
    return ctx.each(lambda f: _firehose(ctx, f[0], f[1], client=f[2]), firehoses)


def inventory_streaming(ctx: ProvisionContext) -> list[ResourceState]:
    spec = ctx.spec
    kinesis = ctx.client("kinesis")
    states = []
    for stream in data_streams(spec):
        with aws_call(STREAM_TYPE, stream.name):
            summary = _stream_summary(kinesis, stream.name)
        ready = summary is not None and summary["StreamStatus"] == "ACTIVE"
        detail = ""
        if summary is not None:
            detail = StreamSpec(
                stream.name,
                int(summary.get("OpenShardCount", 0)),
                int(summary.get("RetentionPeriodHours", 0)),
            ).detail
        states.append(present(STREAM_TYPE, stream.name, ready, detail))
    with aws_call(FIREHOSE_TYPE, spec.prefix):
        videos: dict[str, Any] = {}
        if video_streams(spec):
            listed = ctx.client("kinesisvideo").list_streams().get("StreamInfoList", [])
            videos = {s["StreamName"]: s for s in listed}
        hoses = set(ctx.client("firehose").list_delivery_streams(Limit=10000)["DeliveryStreamNames"])
    for name in video_streams(spec):
        found = videos.get(name)
        hours = f"{found.get('DataRetentionInHours')} h" if found else ""
        states.append(present(VIDEO_TYPE, name, found is not None, hours))
    for name in (spec.primary_firehose, spec.client_firehose):
        states.append(present(FIREHOSE_TYPE, name, name in hoses))
    return states
