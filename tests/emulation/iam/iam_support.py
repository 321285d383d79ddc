"""The Nexus platform's IAM shape, provisioned with the admin, for the IAM tests.

Mirrors spec §2.2/§2.3: the primary and client Kinesis streams, video streams and
Firehose delivery streams, the four medallion buckets, the auth Lambda's execution role
(trusted by lambda.amazonaws.com) and the bearer role ``nexus-dev-kinesis-bearer``
(trusting only the execution role, scoped to the three client resources).
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any

from botocore import UNSIGNED
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from nexuskit.aws import AwsTarget
from tests.helpers import REGION, EngineProcess

ACCOUNT = "123456789012"
PREFIX = "nexus-dev"
PRIMARY_STREAM = f"{PREFIX}-intake"
CLIENT_STREAM = f"{PREFIX}-client-intake"
PRIMARY_VIDEO = f"{PREFIX}-telemetry"
CLIENT_VIDEO = f"{PREFIX}-client-telemetry"
PRIMARY_FIREHOSE = f"{PREFIX}-to-lake"
CLIENT_FIREHOSE = f"{PREFIX}-client-to-lake"
BUCKETS = [f"{PREFIX}-{tier}-{REGION}" for tier in ("bronze", "silver", "gold", "vibranium")]
BRONZE = BUCKETS[0]
EXEC_ROLE = f"{PREFIX}-auth-exec"
BEARER_ROLE = f"{PREFIX}-kinesis-bearer"
EXEC_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{EXEC_ROLE}"
BEARER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{BEARER_ROLE}"
SEEDED_KEY = "seed/object.json"


def stream_arn(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def firehose_arn(name: str) -> str:
    return f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: list[str] | str, resources: list[str] | str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def deny(actions: list[str] | str, resources: list[str] | str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources, **extra}


def trust(principal: dict[str, Any], action: str = "sts:AssumeRole", **extra: Any) -> str:
    return policy({"Effect": "Allow", "Principal": principal, "Action": action, **extra})


def no_retries(target: AwsTarget, service: str, **config: Any) -> Any:
    """A client that surfaces the first error (no retries hide a refusal)."""
    return target.client(service, max_attempts=1, **config)


def credentials_target(admin: AwsTarget, credentials: dict[str, Any]) -> AwsTarget:
    return admin.with_credentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials.get("SessionToken")
    )


@dataclass
class Platform:
    engine: EngineProcess
    admin: AwsTarget
    exec_session: AwsTarget
    bearer: AwsTarget
    bearer_arn: str
    client_video_arn: str
    primary_video_arn: str


def provision(engine: EngineProcess) -> tuple[str, str]:
    """Create the platform's resources as the admin; returns the two video stream ARNs."""
    admin = engine.target()
    kinesis = admin.client("kinesis")
    kinesis.create_stream(StreamName=PRIMARY_STREAM, ShardCount=2)
    kinesis.create_stream(StreamName=CLIENT_STREAM, ShardCount=1)
    video = admin.client("kinesisvideo")
    primary_video = video.create_stream(StreamName=PRIMARY_VIDEO, DataRetentionInHours=24)["StreamARN"]
    client_video = video.create_stream(StreamName=CLIENT_VIDEO, DataRetentionInHours=12)["StreamARN"]
    s3 = admin.client("s3")
    for bucket in BUCKETS:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=bucket, Key=SEEDED_KEY, Body=b'{"seed": true}')
    iam = admin.client("iam")
    firehose_role = iam.create_role(
        RoleName=f"{PREFIX}-firehose",
        AssumeRolePolicyDocument=trust({"Service": "firehose.amazonaws.com"}),
    )["Role"]["Arn"]
    firehose = admin.client("firehose")
    for name, prefix in ((PRIMARY_FIREHOSE, ""), (CLIENT_FIREHOSE, "client/")):
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": firehose_role,
                "BucketARN": f"arn:aws:s3:::{BRONZE}",
                "Prefix": prefix,
            },
        )
    iam.create_role(
        RoleName=EXEC_ROLE,
        AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"}),
    )
    iam.put_role_policy(
        RoleName=EXEC_ROLE,
        PolicyName="auth-token-service",
        PolicyDocument=policy(
            allow("sts:AssumeRole", BEARER_ROLE_ARN),
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], f"arn:aws:logs:{REGION}:{ACCOUNT}:*"),
        ),
    )
    iam.create_role(
        RoleName=BEARER_ROLE,
        AssumeRolePolicyDocument=trust({"AWS": EXEC_ROLE_ARN}),
        MaxSessionDuration=3600,
    )
    iam.put_role_policy(
        RoleName=BEARER_ROLE,
        PolicyName="client-ingest",
        PolicyDocument=policy(
            allow(
                ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary"],
                stream_arn(CLIENT_STREAM),
            ),
            allow(
                ["kinesisvideo:PutMedia", "kinesisvideo:GetDataEndpoint", "kinesisvideo:DescribeStream"],
                f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:stream/{CLIENT_VIDEO}/*",
            ),
            allow(["firehose:PutRecord", "firehose:PutRecordBatch"], firehose_arn(CLIENT_FIREHOSE)),
        ),
    )
    return primary_video, client_video


def assume_bearer(admin: AwsTarget, duration: int = 900, **extra: Any) -> tuple[AwsTarget, AwsTarget, str]:
    """The auth Lambda's path: its execution role assumes the bearer role.

    Returns (execution-role session, bearer session, bearer session ARN).
    """
    exec_creds = no_retries(admin, "sts").assume_role(
        RoleArn=EXEC_ROLE_ARN, RoleSessionName="nexus-dev-auth"
    )["Credentials"]
    exec_session = credentials_target(admin, exec_creds)
    answer = no_retries(exec_session, "sts").assume_role(
        RoleArn=BEARER_ROLE_ARN, RoleSessionName="producer-42", DurationSeconds=duration, **extra
    )
    return exec_session, credentials_target(admin, answer["Credentials"]), answer["AssumedRoleUser"]["Arn"]


def create_user(admin: AwsTarget, name: str, *statements: dict[str, Any]) -> AwsTarget:
    """An IAM user with an inline policy of these statements, as a target."""
    iam = admin.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return admin.with_credentials(key["AccessKeyId"], key["SecretAccessKey"])


def signed_request(
    target: AwsTarget,
    method: str,
    url: str,
    service: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    connect_to: str | None = None,
) -> tuple[int, bytes]:
    """Sign a raw request with botocore's SigV4 and send it (optionally to another host)."""
    credentials = Credentials(target.access_key_id, target.secret_access_key, target.session_token)
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(credentials, service, REGION).add_auth(request)
    prepared = request.prepare()
    host_port = connect_to or prepared.url.split("/")[2]
    host, _, port = host_port.partition(":")
    connection = http.client.HTTPConnection(host, int(port or 80), timeout=10)
    path = prepared.url.split("/", 3)[3] if prepared.url.count("/") >= 3 else ""
    sent_headers = {"Host": url.split("/")[2], **dict(prepared.headers.items())}
    connection.request(method, "/" + path, body=prepared.body, headers=sent_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def unsigned_client(target: AwsTarget, service: str) -> Any:
    """A client that sends no signature at all (awscli's --no-sign-request)."""
    return target.client(service, max_attempts=1, signature_version=UNSIGNED)
