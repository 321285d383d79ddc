"""With IAM enforced, the bearer credentials reach the client resources and nothing else.

Needs the engine's resource-scoped IAM enforcement (``emulation/iam``, ``--iam enforce``);
skipped, with the reason, when it is not there or does not enforce.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from nexuskit.edge.tokens import issue_token
from tests.edge.conftest import EdgeStack, deploy_on
from tests.helpers import EngineProcess

DENIED = {"AccessDenied", "AccessDeniedException"}


def _not_enforcing(engine: EngineProcess) -> str | None:
    """None when the engine enforces IAM; else why not."""
    health = engine.health() or {}
    if (health.get("settings") or {}).get("iam") != "enforce" or "iam" not in (
        health.get("extensions") or {}
    ):
        return "the engine has no IAM enforcement extension running"
    stranger = engine.target().with_credentials("AKIAUNKNOWNKEY000000", "not-a-secret")
    try:
        stranger.client("kinesis", max_attempts=1).list_streams()
    except ClientError:
        return None
    return "emulation/iam does not refuse unknown credentials yet"


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    """A stack of its own on an engine started with ``--iam enforce``."""
    if importlib.util.find_spec("emulation.iam") is None:
        pytest.skip("emulation/iam (resource-scoped IAM enforcement) is not in this checkout")
    engine = EngineProcess(tmp_path_factory.mktemp("iam"), "--iam", "enforce").start()
    reason = _not_enforcing(engine)
    if reason:
        engine.stop()
        pytest.skip(reason)
    try:
        yield deploy_on(engine)
    finally:
        engine.stop()


@pytest.fixture(scope="module")
def bearer(enforced: EdgeStack) -> AwsTarget:
    """A producer holding the credentials of a freshly issued token."""
    creds = issue_token(enforced.auth_url, "iam-producer", 15)["credentials"]
    return enforced.target.with_credentials(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )


def _denied(call: Any, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
    except ClientError as exc:
        return exc.response["Error"]["Code"] in DENIED
    return False


def test_bearer_can_write_to_the_client_stream(enforced: EdgeStack, bearer: AwsTarget) -> None:
    """PutRecord and PutRecords on ${prefix}-client-intake are allowed."""
    kinesis = bearer.client("kinesis", max_attempts=1)
    assert kinesis.put_record(StreamName=enforced.spec.client_stream, Data=b"1", PartitionKey="p")[
        "SequenceNumber"
    ]
    batch = kinesis.put_records(
        StreamName=enforced.spec.client_stream, Records=[{"Data": b"2", "PartitionKey": "p"}]
    )
    assert batch["FailedRecordCount"] == 0


def test_bearer_is_denied_on_the_primary_stream(enforced: EdgeStack, bearer: AwsTarget) -> None:
    """The internal stream ${prefix}-intake is out of reach."""
    kinesis = bearer.client("kinesis", max_attempts=1)
    assert _denied(kinesis.put_record, StreamName=enforced.spec.primary_stream, Data=b"x", PartitionKey="p")


def test_bearer_is_denied_on_every_bucket(enforced: EdgeStack, bearer: AwsTarget) -> None:
    """No medallion bucket can be read or written with bearer credentials."""
    s3 = bearer.client("s3", max_attempts=1)
    for bucket in enforced.spec.buckets.values():
        assert _denied(s3.put_object, Bucket=bucket, Key="client/x.json", Body=b"{}"), bucket
        assert _denied(s3.list_objects_v2, Bucket=bucket), bucket


def test_bearer_is_denied_on_the_primary_firehose(enforced: EdgeStack, bearer: AwsTarget) -> None:
    """The internal delivery stream ${prefix}-to-lake refuses the bearer."""
    firehose = bearer.client("firehose", max_attempts=1)
    assert _denied(
        firehose.put_record, DeliveryStreamName=enforced.spec.primary_firehose, Record={"Data": b"x"}
    )


def test_bearer_passes_iam_on_the_client_firehose(enforced: EdgeStack, bearer: AwsTarget) -> None:
    """IAM lets the bearer PutRecord to ${prefix}-client-to-lake; the stream itself then
    refuses direct puts, as AWS does: it is fed by ${prefix}-client-intake (Kinesis source)."""
    firehose = bearer.client("firehose", max_attempts=1)
    with pytest.raises(ClientError) as excinfo:
        firehose.put_record(DeliveryStreamName=enforced.spec.client_firehose, Record={"Data": b"x"})
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException"
