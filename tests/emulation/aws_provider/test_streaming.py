"""Kinesis, Kinesis Video and Firehose as the Terraform AWS provider uses them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulation.aws_provider.support import trust


def test_kinesis_tags_given_at_creation_are_listed(aws: Any) -> None:
    """CreateStream's Tags are what ListTagsForStream answers."""
    kinesis = aws("kinesis")
    kinesis.create_stream(
        StreamName="tagged-fidelity", ShardCount=1, Tags={"Channel": "client", "Project": "nexus"}
    )
    tags = kinesis.list_tags_for_stream(StreamName="tagged-fidelity")["Tags"]
    assert tags == [{"Key": "Channel", "Value": "client"}, {"Key": "Project", "Value": "nexus"}]


def test_video_stream_tags_are_listed_by_arn_and_name(aws: Any) -> None:
    """ListTagsForStream on a video stream answers its tags (it was an HTML 404)."""
    video = aws("kinesisvideo")
    arn = video.create_stream(
        StreamName="cam-fidelity", DataRetentionInHours=24, Tags={"Channel": "primary"}
    )["StreamARN"]
    assert video.list_tags_for_stream(StreamARN=arn)["Tags"] == {"Channel": "primary"}
    assert video.list_tags_for_stream(StreamName="cam-fidelity")["Tags"] == {"Channel": "primary"}


def test_video_stream_tags_are_added_and_removed(aws: Any) -> None:
    """TagStream merges tags, UntagStream removes the named keys."""
    video = aws("kinesisvideo")
    arn = video.create_stream(StreamName="cam2-fidelity", DataRetentionInHours=1)["StreamARN"]
    assert video.list_tags_for_stream(StreamARN=arn)["Tags"] == {}
    video.tag_stream(StreamARN=arn, Tags={"a": "1", "b": "2"})
    video.untag_stream(StreamARN=arn, TagKeyList=["a"])
    assert video.list_tags_for_stream(StreamARN=arn)["Tags"] == {"b": "2"}


def test_video_stream_tags_of_a_missing_stream_are_not_found(aws: Any) -> None:
    """ListTagsForStream of a stream that does not exist: ResourceNotFoundException."""
    with pytest.raises(ClientError) as excinfo:
        aws("kinesisvideo").list_tags_for_stream(StreamName="no-such-camera")
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_video_stream_update_needs_the_current_version(aws: Any) -> None:
    """UpdateStream changes the media type with the current version and gives a new one."""
    video = aws("kinesisvideo")
    video.create_stream(StreamName="cam3-fidelity", DataRetentionInHours=1, MediaType="video/h264")
    version = video.describe_stream(StreamName="cam3-fidelity")["StreamInfo"]["Version"]
    video.update_stream(StreamName="cam3-fidelity", CurrentVersion=version, MediaType="video/h265")
    info = video.describe_stream(StreamName="cam3-fidelity")["StreamInfo"]
    assert info["MediaType"] == "video/h265" and info["Version"] != version
    with pytest.raises(ClientError) as excinfo:
        video.update_stream(StreamName="cam3-fidelity", CurrentVersion=version, MediaType="video/h264")
    assert excinfo.value.response["Error"]["Code"] == "VersionMismatchException"


def _kinesis_sourced_delivery(aws: Any, name: str) -> None:
    kinesis, iam, s3 = aws("kinesis"), aws("iam"), aws("s3")
    kinesis.create_stream(StreamName=f"{name}-source", ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName=f"{name}-source")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    role = iam.create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=trust({"Service": "firehose.amazonaws.com"})
    )
    s3.create_bucket(Bucket=f"{name}-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    aws("firehose").create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role["Role"]["Arn"]},
        ExtendedS3DestinationConfiguration={
            "RoleARN": role["Role"]["Arn"],
            "BucketARN": f"arn:aws:s3:::{name}-bucket",
        },
    )


def test_direct_put_to_a_kinesis_sourced_delivery_is_refused(aws: Any) -> None:
    """PutRecord and PutRecordBatch on a KinesisStreamAsSource delivery: InvalidArgumentException."""
    _kinesis_sourced_delivery(aws, "sourced-fidelity")
    firehose = aws("firehose")
    for call, params in (
        (firehose.put_record, {"Record": {"Data": b"x"}}),
        (firehose.put_record_batch, {"Records": [{"Data": b"x"}]}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(DeliveryStreamName="sourced-fidelity", **params)
        error = excinfo.value.response["Error"]
        assert error["Code"] == "InvalidArgumentException"
        assert "KinesisStreamAsSource" in error["Message"]


def test_direct_put_to_a_direct_put_delivery_is_accepted(aws: Any) -> None:
    """A DirectPut delivery stream still takes PutRecord."""
    iam, s3, firehose = aws("iam"), aws("s3"), aws("firehose")
    role = iam.create_role(
        RoleName="direct-fidelity-role", AssumeRolePolicyDocument=trust({"Service": "firehose.amazonaws.com"})
    )
    s3.create_bucket(
        Bucket="direct-fidelity-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    firehose.create_delivery_stream(
        DeliveryStreamName="direct-fidelity",
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": role["Role"]["Arn"],
            "BucketARN": "arn:aws:s3:::direct-fidelity-bucket",
        },
    )
    assert firehose.put_record(DeliveryStreamName="direct-fidelity", Record={"Data": b"x"})["RecordId"]
