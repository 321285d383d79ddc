"""The attacker's side of nexus-ui: what its pod's credentials can and cannot do on AWS.

nexus-ui is web-facing, so it runs as its own read-only IRSA role (ui_irsa). Whoever takes
the credentials the runtime gave the running pod (its environment) may read the data
streams, and nothing more: writes to a stream or the lake and Bedrock calls are denied by
the engine's IAM enforcement (the stack's default ``--iam enforce``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import Stack
from tests.ui.conftest import ui_pod_environment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
Client = Callable[[str], Any]


@pytest.fixture(scope="module")
def pod_env(ui_stack: Stack, ui_url: str) -> dict[str, str]:
    return ui_pod_environment(ui_stack)


@pytest.fixture(scope="module")
def as_ui(pod_env: dict[str, str]) -> Client:
    """boto3 clients with the nexus-ui pod's credentials, against the engine it talks to."""
    session = boto3.Session(
        aws_access_key_id=pod_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=pod_env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=pod_env["AWS_SESSION_TOKEN"],
        region_name=pod_env["AWS_REGION"],
    )
    return lambda service: session.client(service, endpoint_url=pod_env["AWS_ENDPOINT_URL"])


def test_ui_pod_runs_as_its_own_role(ui_stack: Stack, pod_env: dict[str, str], as_ui: Client) -> None:
    """The pod's credentials are ui_irsa's, assumed as the nexus-ui service account (not agent-core's)."""
    role = ui_stack.spec.roles["ui_irsa"]
    assert pod_env["AWS_ROLE_ARN"].endswith(f":role/{role}")
    arn = as_ui("sts").get_caller_identity()["Arn"]
    assert arn.startswith(f"arn:aws:sts::123456789012:assumed-role/{role}/nexus-ui-"), arn


def test_ui_credentials_read_the_client_stream(ui_stack: Stack, as_ui: Client) -> None:
    """A record put on the client stream (by the admin) is read back with GetRecords as the UI."""
    stream = ui_stack.spec.client_stream
    data = b'{"id": "ui-iam-read"}\n'
    put = ui_stack.client("kinesis").put_record(StreamName=stream, Data=data, PartitionKey="ui-iam")
    kinesis = as_ui("kinesis")
    iterator = kinesis.get_shard_iterator(
        StreamName=stream,
        ShardId=put["ShardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=put["SequenceNumber"],
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=1)["Records"]
    assert [r["Data"] for r in records] == [data]


def _put_record(stack: Stack, ui: Client) -> None:
    ui("kinesis").put_record(StreamName=stack.spec.client_stream, Data=b"{}\n", PartitionKey="ui-iam")


def _put_lake_object(stack: Stack, ui: Client) -> None:
    ui("s3").put_object(Bucket=stack.spec.buckets["bronze"], Key="client/ui-iam.json", Body=b"{}")


def _invoke_bedrock(stack: Stack, ui: Client) -> None:
    ui("bedrock-runtime").invoke_model(
        modelId=stack.spec.params.bedrock_model_ids.text, body=json.dumps({"inputText": "hello"})
    )


@pytest.mark.parametrize(
    "write",
    [_put_record, _put_lake_object, _invoke_bedrock],
    ids=["kinesis-put-record", "s3-put-object", "bedrock-invoke-model"],
)
def test_ui_credentials_are_denied_writes_and_bedrock(
    ui_stack: Stack, as_ui: Client, write: Callable[[Stack, Client], None]
) -> None:
    """PutRecord on the client stream, PutObject in bronze and InvokeModel are AccessDenied."""
    with pytest.raises(ClientError) as denied:
        write(ui_stack, as_ui)
    assert denied.value.response["Error"]["Code"] in {"AccessDenied", "AccessDeniedException"}
    assert ui_stack.spec.roles["ui_irsa"] in denied.value.response["Error"]["Message"]


def test_denied_lake_write_leaves_no_object(ui_stack: Stack, as_ui: Client) -> None:
    """After the UI's denied PutObject, bronze holds no such object (the admin looks)."""
    with pytest.raises(ClientError):
        _put_lake_object(ui_stack, as_ui)
    listed = ui_stack.client("s3").list_objects_v2(
        Bucket=ui_stack.spec.buckets["bronze"], Prefix="client/ui-iam.json"
    )
    assert listed.get("KeyCount", 0) == 0
