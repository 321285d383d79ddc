"""Resource-scoped IAM enforcement, against real engine processes over HTTP with boto3.

The platform (streams, video streams, delivery streams, buckets, the auth Lambda's
execution role and the bearer role) is provisioned once with the bootstrap admin; each
test then plays one side of a call and asserts on what the caller sees.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulation.iam.iam_support import (
    ACCOUNT,
    BEARER_ROLE_ARN,
    BRONZE,
    BUCKETS,
    CLIENT_FIREHOSE,
    CLIENT_STREAM,
    EXEC_ROLE_ARN,
    PRIMARY_FIREHOSE,
    PRIMARY_STREAM,
    SEEDED_KEY,
    Platform,
    allow,
    assume_bearer,
    create_user,
    credentials_target,
    deny,
    no_retries,
    policy,
    provision,
    signed_request,
    stream_arn,
    trust,
    unsigned_client,
)
from tests.helpers import REGION, EngineProcess


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One enforcing engine with the Nexus platform and a bearer session issued the
    way the auth Lambda issues it (execution role -> bearer role, 900 s)."""
    engine = EngineProcess(tmp_path_factory.mktemp("iam-enforce"), "--iam", "enforce", "--extensions", "iam")
    engine.start()
    try:
        primary_video, client_video = provision(engine)
        exec_session, bearer, bearer_arn = assume_bearer(engine.target())
        yield Platform(engine, engine.target(), exec_session, bearer, bearer_arn, client_video, primary_video)
    finally:
        engine.stop()


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )


def _records(n: int) -> list[dict[str, Any]]:
    return [{"Data": json.dumps({"i": i}).encode(), "PartitionKey": f"k{i}"} for i in range(n)]


# -- the bearer token's credentials -----------------------------------------------------
def test_bearer_credentials_can_put_records_to_the_client_stream(platform: Platform) -> None:
    """PutRecord and PutRecords with bearer credentials land in nexus-dev-client-intake."""
    kinesis = no_retries(platform.bearer, "kinesis")
    kinesis.put_record(StreamName=CLIENT_STREAM, Data=b'{"one": 1}', PartitionKey="p")
    answer = kinesis.put_records(StreamName=CLIENT_STREAM, Records=_records(20))
    assert answer["FailedRecordCount"] == 0

    admin = platform.admin.client("kinesis")
    shard = admin.list_shards(StreamName=CLIENT_STREAM)["Shards"][0]["ShardId"]
    iterator = admin.get_shard_iterator(
        StreamName=CLIENT_STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert len(admin.get_records(ShardIterator=iterator, Limit=1000)["Records"]) >= 21


def test_bearer_credentials_are_denied_on_the_primary_stream(platform: Platform) -> None:
    """PutRecord(s) to nexus-dev-intake answer AccessDeniedException, as AWS words it."""
    kinesis = no_retries(platform.bearer, "kinesis")
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=PRIMARY_STREAM, Data=b"x", PartitionKey="p")
    code, status, message = _error(excinfo)
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (
        f"User: {platform.bearer_arn} is not authorized to perform: kinesis:PutRecord on resource: "
        f"{stream_arn(PRIMARY_STREAM)} because no identity-based policy allows the "
        "kinesis:PutRecord action"
    )
    assert platform.bearer_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/nexus-dev-kinesis-bearer/producer-42"
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_records(StreamName=PRIMARY_STREAM, Records=_records(3))
    assert _error(excinfo)[0] == "AccessDeniedException"


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bearer_credentials_are_denied_on_every_bucket(platform: Platform, bucket: str) -> None:
    """ListObjects, GetObject and PutObject on each medallion bucket answer 403 AccessDenied."""
    s3 = no_retries(platform.bearer, "s3")
    calls: list[Callable[[], Any]] = [
        lambda: s3.list_objects_v2(Bucket=bucket),
        lambda: s3.list_objects(Bucket=bucket),
        lambda: s3.get_object(Bucket=bucket, Key=SEEDED_KEY),
        lambda: s3.put_object(Bucket=bucket, Key="client/stolen.json", Body=b"{}"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as excinfo:
            call()
        code, status, message = _error(excinfo)
        assert (code, status) == ("AccessDenied", 403)
        assert f"arn:aws:s3:::{bucket}" in message
    keys = [o["Key"] for o in platform.admin.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert "client/stolen.json" not in keys


def test_bearer_credentials_are_denied_on_the_primary_firehose(platform: Platform) -> None:
    """Firehose PutRecord to nexus-dev-to-lake is denied for the delivery stream's ARN."""
    firehose = no_retries(platform.bearer, "firehose")
    with pytest.raises(ClientError) as excinfo:
        firehose.put_record(DeliveryStreamName=PRIMARY_FIREHOSE, Record={"Data": b"x"})
    code, status, message = _error(excinfo)
    assert (code, status) == ("AccessDeniedException", 400)
    assert f"firehose:PutRecord on resource: arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/" in message


def test_bearer_credentials_can_put_to_the_client_firehose(platform: Platform) -> None:
    """Firehose PutRecord to nexus-dev-client-to-lake is accepted."""
    firehose = no_retries(platform.bearer, "firehose")
    answer = firehose.put_record(DeliveryStreamName=CLIENT_FIREHOSE, Record={"Data": b'{"c": 1}\n'})
    assert answer["RecordId"]


def test_bearer_credentials_reach_only_the_client_video_stream(platform: Platform) -> None:
    """GetDataEndpoint is allowed on the client video stream, 401-denied on the primary one."""
    video = no_retries(platform.bearer, "kinesisvideo")
    endpoint = video.get_data_endpoint(StreamARN=platform.client_video_arn, APIName="PUT_MEDIA")
    assert endpoint["DataEndpoint"]
    with pytest.raises(ClientError) as excinfo:
        video.get_data_endpoint(StreamName="nexus-dev-telemetry", APIName="PUT_MEDIA")
    code, status, message = _error(excinfo)
    assert (code, status) == ("AccessDeniedException", 401)
    assert f"kinesisvideo:GetDataEndpoint on resource: {platform.primary_video_arn}" in message


def test_put_media_is_authorized_against_the_named_video_stream(platform: Platform) -> None:
    """The data-plane PutMedia (stream named in x-amzn-stream-name) is scoped like the rest."""
    url = f"{platform.engine.endpoint}/putMedia"
    status, body = signed_request(
        platform.bearer,
        "POST",
        url,
        "kinesisvideo",
        body=b"\x1a\x45\xdf\xa3",
        headers={"x-amzn-stream-name": "nexus-dev-telemetry", "x-amzn-fragment-timecode-type": "ABSOLUTE"},
    )
    assert status == 401
    assert b"AccessDeniedException" in body and b"kinesisvideo:PutMedia" in body
    status, body = signed_request(
        platform.bearer,
        "POST",
        url,
        "kinesisvideo",
        body=b"\x1a\x45\xdf\xa3",
        headers={
            "x-amzn-stream-name": "nexus-dev-client-telemetry",
            "x-amzn-fragment-timecode-type": "ABSOLUTE",
        },
    )
    assert b"AccessDenied" not in body and status not in {401, 403}


def test_session_policy_narrows_the_assumed_role(platform: Platform) -> None:
    """A session policy passed to AssumeRole intersects with the role's own policies."""
    session_policy = policy(allow("kinesis:PutRecords", stream_arn(CLIENT_STREAM)))
    _, narrowed, _ = assume_bearer(platform.admin, Policy=session_policy)
    kinesis = no_retries(narrowed, "kinesis")
    assert kinesis.put_records(StreamName=CLIENT_STREAM, Records=_records(2))["FailedRecordCount"] == 0
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=CLIENT_STREAM, Data=b"x", PartitionKey="p")
    assert "because no session policy allows the kinesis:PutRecord action" in _error(excinfo)[2]


# -- policies -------------------------------------------------------------------------------
def test_explicit_deny_beats_an_allow(platform: Platform) -> None:
    """A Deny in an attached managed policy wins over an Allow of kinesis:* on *."""
    iam = platform.admin.client("iam")
    user = create_user(platform.admin, "deny-wins", allow("kinesis:*", "*"))
    deny_arn = iam.create_policy(
        PolicyName="no-client-writes",
        PolicyDocument=policy(deny("kinesis:Put*", stream_arn(CLIENT_STREAM))),
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="deny-wins", PolicyArn=deny_arn)
    kinesis = no_retries(user, "kinesis")
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=CLIENT_STREAM, Data=b"x", PartitionKey="p")
    code, _, message = _error(excinfo)
    assert code == "AccessDeniedException"
    assert message.endswith("with an explicit deny in an identity-based policy")
    kinesis.put_record(StreamName=PRIMARY_STREAM, Data=b"x", PartitionKey="p")


def test_policy_changes_apply_to_the_next_request(platform: Platform) -> None:
    """Detaching a grant takes effect at once (the policy cache is dropped on IAM writes)."""
    user = create_user(platform.admin, "short-lived-grant", allow("kinesis:DescribeStreamSummary", "*"))
    kinesis = no_retries(user, "kinesis")
    kinesis.describe_stream_summary(StreamName=PRIMARY_STREAM)
    platform.admin.client("iam").delete_user_policy(UserName="short-lived-grant", PolicyName="inline")
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream_summary(StreamName=PRIMARY_STREAM)
    assert _error(excinfo)[0] == "AccessDeniedException"


def test_object_arns_and_prefix_conditions_scope_s3(platform: Platform) -> None:
    """A policy on bronze/client/* with an s3:prefix condition allows exactly that prefix."""
    user = create_user(
        platform.admin,
        "client-prefix-reader",
        allow("s3:GetObject", f"arn:aws:s3:::{BRONZE}/client/*"),
        allow(
            "s3:ListBucket",
            f"arn:aws:s3:::{BRONZE}",
            Condition={"StringLike": {"s3:prefix": ["client/*"]}},
        ),
    )
    platform.admin.client("s3").put_object(Bucket=BRONZE, Key="client/2026/a.json", Body=b"{}")
    s3 = no_retries(user, "s3")
    assert s3.get_object(Bucket=BRONZE, Key="client/2026/a.json")["Body"].read() == b"{}"
    assert s3.list_objects_v2(Bucket=BRONZE, Prefix="client/")["KeyCount"] >= 1
    refused: list[Callable[[], Any]] = [
        lambda: s3.get_object(Bucket=BRONZE, Key=SEEDED_KEY),
        lambda: s3.list_objects_v2(Bucket=BRONZE),
    ]
    for call in refused:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert _error(excinfo)[:2] == ("AccessDenied", 403)


def test_virtual_host_requests_are_scoped_to_their_bucket(platform: Platform) -> None:
    """A virtual-host-style request (bucket in the Host header) is checked on that bucket."""
    port = platform.engine.port
    url = f"http://{BUCKETS[2]}.localhost:{port}/"
    connect = f"127.0.0.1:{port}"
    status, body = signed_request(platform.bearer, "GET", url, "s3", connect_to=connect)
    assert status == 403 and f"arn:aws:s3:::{BUCKETS[2]}".encode() in body
    status, body = signed_request(platform.admin, "GET", url, "s3", connect_to=connect)
    assert status == 200 and SEEDED_KEY.encode() in body


def test_a_bucket_policy_can_make_objects_public(platform: Platform) -> None:
    """An anonymous GET is allowed exactly where a bucket policy grants Principal "*"."""
    bucket = BUCKETS[3]
    platform.admin.client("s3").put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/public/*",
            }
        ),
    )
    platform.admin.client("s3").put_object(Bucket=bucket, Key="public/readme.txt", Body=b"hello")
    anonymous = unsigned_client(platform.admin, "s3")
    assert anonymous.get_object(Bucket=bucket, Key="public/readme.txt")["Body"].read() == b"hello"
    with pytest.raises(ClientError) as excinfo:
        anonymous.get_object(Bucket=bucket, Key=SEEDED_KEY)
    assert _error(excinfo)[:2] == ("AccessDenied", 403)


# -- AssumeRole and trust ---------------------------------------------------------------
def test_assume_role_is_denied_when_the_trust_policy_does_not_admit_the_caller(platform: Platform) -> None:
    """A user allowed sts:AssumeRole on * still cannot assume the bearer role (trust: exec role)."""
    user = create_user(platform.admin, "would-be-bearer", allow("sts:AssumeRole", "*"))
    with pytest.raises(ClientError) as excinfo:
        no_retries(user, "sts").assume_role(RoleArn=BEARER_ROLE_ARN, RoleSessionName="nope")
    code, status, message = _error(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/would-be-bearer is not authorized to perform: "
        f"sts:AssumeRole on resource: {BEARER_ROLE_ARN}"
    )


def test_account_root_trust_admits_any_identity_of_the_account(platform: Platform) -> None:
    """A role trusting arn:aws:iam::ACCOUNT:root can be assumed by a user of that account
    who has sts:AssumeRole on it (and not by one who lacks that permission)."""
    iam = platform.admin.client("iam")
    role_arn = iam.create_role(
        RoleName="nexus-dev-operator",
        AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}),
    )["Role"]["Arn"]
    allowed = create_user(platform.admin, "operator", allow("sts:AssumeRole", role_arn))
    answer = no_retries(allowed, "sts").assume_role(RoleArn=role_arn, RoleSessionName="ops")
    assert answer["AssumedRoleUser"]["Arn"].endswith(":assumed-role/nexus-dev-operator/ops")
    without_permission = create_user(platform.admin, "bystander", allow("kinesis:ListStreams", "*"))
    with pytest.raises(ClientError) as excinfo:
        no_retries(without_permission, "sts").assume_role(RoleArn=role_arn, RoleSessionName="ops")
    assert _error(excinfo)[0] == "AccessDenied"


def test_a_role_principal_admits_that_roles_sessions_only(platform: Platform) -> None:
    """The bearer trust names the execution role: its session may assume, another role's may not."""
    iam = platform.admin.client("iam")
    iam.create_role(
        RoleName="nexus-dev-other", AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"})
    )
    iam.put_role_policy(
        RoleName="nexus-dev-other", PolicyName="assume", PolicyDocument=policy(allow("sts:AssumeRole", "*"))
    )
    other_creds = no_retries(platform.admin, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nexus-dev-other", RoleSessionName="other"
    )["Credentials"]
    other = credentials_target(platform.admin, other_creds)
    with pytest.raises(ClientError) as excinfo:
        no_retries(other, "sts").assume_role(RoleArn=BEARER_ROLE_ARN, RoleSessionName="other-bearer")
    assert _error(excinfo)[0] == "AccessDenied"
    answer = no_retries(platform.exec_session, "sts").assume_role(
        RoleArn=BEARER_ROLE_ARN, RoleSessionName="exec-bearer"
    )
    assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_session_tags_need_sts_tag_session(platform: Platform) -> None:
    """Passing session tags needs sts:TagSession; the bearer's trust and the execution
    role's policy grant only sts:AssumeRole, so the call is refused."""
    with pytest.raises(ClientError) as excinfo:
        no_retries(platform.exec_session, "sts").assume_role(
            RoleArn=BEARER_ROLE_ARN, RoleSessionName="tagged", Tags=[{"Key": "team", "Value": "red"}]
        )
    code, _, message = _error(excinfo)
    assert code == "AccessDenied" and "sts:TagSession" in message


def test_session_tags_become_principal_tags(platform: Platform) -> None:
    """Tags passed to AssumeRole are the session's aws:PrincipalTag values in policies."""
    iam = platform.admin.client("iam")
    role_arn = iam.create_role(
        RoleName="nexus-dev-team-reader",
        AssumeRolePolicyDocument=policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ),
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="nexus-dev-team-reader",
        PolicyName="own-team",
        PolicyDocument=policy(allow("s3:GetObject", f"arn:aws:s3:::{BRONZE}/${{aws:PrincipalTag/team}}/*")),
    )
    user = create_user(platform.admin, "team-lead", allow(["sts:AssumeRole", "sts:TagSession"], role_arn))
    creds = no_retries(user, "sts").assume_role(
        RoleArn=role_arn, RoleSessionName="lead", Tags=[{"Key": "team", "Value": "red"}]
    )["Credentials"]
    s3 = no_retries(credentials_target(platform.admin, creds), "s3")
    admin_s3 = platform.admin.client("s3")
    admin_s3.put_object(Bucket=BRONZE, Key="red/report.json", Body=b"{}")
    admin_s3.put_object(Bucket=BRONZE, Key="blue/report.json", Body=b"{}")
    assert s3.get_object(Bucket=BRONZE, Key="red/report.json")["Body"].read() == b"{}"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=BRONZE, Key="blue/report.json")
    assert _error(excinfo)[0] == "AccessDenied"


def test_a_duration_above_the_roles_maximum_is_rejected(platform: Platform) -> None:
    """DurationSeconds beyond the bearer role's MaxSessionDuration is a ValidationError."""
    with pytest.raises(ClientError) as excinfo:
        no_retries(platform.exec_session, "sts").assume_role(
            RoleArn=BEARER_ROLE_ARN, RoleSessionName="long", DurationSeconds=7200
        )
    assert _error(excinfo)[:2] == ("ValidationError", 400)


def test_get_session_token_credentials_act_as_the_user(platform: Platform) -> None:
    """GetSessionToken issues working temporary credentials with the user's permissions."""
    user = create_user(platform.admin, "mfa-less", allow("kinesis:PutRecord", stream_arn(CLIENT_STREAM)))
    creds = no_retries(user, "sts").get_session_token(DurationSeconds=900)["Credentials"]
    session = credentials_target(platform.admin, creds)
    identity = no_retries(session, "sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/mfa-less"
    no_retries(session, "kinesis").put_record(StreamName=CLIENT_STREAM, Data=b"x", PartitionKey="p")
    with pytest.raises(ClientError) as excinfo:
        no_retries(session, "kinesis").put_record(StreamName=PRIMARY_STREAM, Data=b"x", PartitionKey="p")
    assert _error(excinfo)[0] == "AccessDeniedException"


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'local'})}.{part(claims)}.c2lnbmF0dXJl"


def test_web_identity_trust_admits_the_named_service_account_only(platform: Platform) -> None:
    """IRSA: AssumeRoleWithWebIdentity (unsigned) succeeds for the service account the trust
    names in its :sub condition and is refused for another one."""
    issuer = "oidc.eks.us-west-2.amazonaws.com/id/NEXUSLOCAL"
    iam = platform.admin.client("iam")
    provider_arn = iam.create_open_id_connect_provider(
        Url=f"https://{issuer}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    role_arn = iam.create_role(
        RoleName="nexus-dev-agent-irsa",
        AssumeRolePolicyDocument=trust(
            {"Federated": provider_arn},
            "sts:AssumeRoleWithWebIdentity",
            Condition={
                "StringEquals": {
                    f"{issuer}:sub": "system:serviceaccount:nexus-agent-core:agent-orchestrator",
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        ),
    )["Role"]["Arn"]
    sts = unsigned_client(platform.admin, "sts")
    claims = {"iss": f"https://{issuer}", "aud": "sts.amazonaws.com"}
    answer = sts.assume_role_with_web_identity(
        RoleArn=role_arn,
        RoleSessionName="agent",
        WebIdentityToken=_jwt({**claims, "sub": "system:serviceaccount:nexus-agent-core:agent-orchestrator"}),
    )
    assert answer["Credentials"]["AccessKeyId"]
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role_with_web_identity(
            RoleArn=role_arn,
            RoleSessionName="intruder",
            WebIdentityToken=_jwt({**claims, "sub": "system:serviceaccount:nexus-mcp:aws-mcp"}),
        )
    assert _error(excinfo)[:2] == ("AccessDenied", 403)


# -- authentication -----------------------------------------------------------------------
_SIGNATURE_ERRORS = [
    ("kinesis", lambda c: c.list_streams(), "InvalidSignatureException"),
    ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch"),
    ("s3", lambda c: c.list_objects_v2(Bucket=BRONZE), "SignatureDoesNotMatch"),
]


@pytest.mark.parametrize(("service", "call", "code"), _SIGNATURE_ERRORS)
def test_a_wrong_secret_fails_the_signature_check(
    platform: Platform, service: str, call: Callable[[Any], Any], code: str
) -> None:
    """A real access key signed with the wrong secret gets the service's signature error."""
    forged = platform.admin.with_credentials(
        platform.bearer.access_key_id, "not-the-secret", platform.bearer.session_token
    )
    with pytest.raises(ClientError) as excinfo:
        call(no_retries(forged, service))
    assert _error(excinfo)[0] == code


_UNKNOWN_KEY_ERRORS = [
    ("kinesis", lambda c: c.list_streams(), "UnrecognizedClientException"),
    ("sts", lambda c: c.get_caller_identity(), "InvalidClientTokenId"),
    ("s3", lambda c: c.list_objects_v2(Bucket=BRONZE), "InvalidAccessKeyId"),
]


@pytest.mark.parametrize(("service", "call", "code"), _UNKNOWN_KEY_ERRORS)
def test_an_unknown_access_key_is_refused(
    platform: Platform, service: str, call: Callable[[Any], Any], code: str
) -> None:
    """A key the engine never issued is refused as each service refuses it."""
    stranger = platform.admin.with_credentials("AKIAEXAMPLEUNKNOWN01", "whatever")
    with pytest.raises(ClientError) as excinfo:
        call(no_retries(stranger, service))
    assert _error(excinfo)[0] == code


def test_temporary_credentials_need_their_session_token(platform: Platform) -> None:
    """Bearer key and secret without (or with another) session token are refused."""
    for token in (None, "FQoGZXIvYXdzEBYaDforgedtoken"):
        stolen = platform.admin.with_credentials(
            platform.bearer.access_key_id, platform.bearer.secret_access_key, token
        )
        with pytest.raises(ClientError) as excinfo:
            no_retries(stolen, "kinesis").put_record(StreamName=CLIENT_STREAM, Data=b"x", PartitionKey="p")
        assert _error(excinfo)[0] == "UnrecognizedClientException"


def test_unsigned_requests_are_refused(platform: Platform) -> None:
    """awscli --no-sign-request style calls are refused, and so is the engine's /moto-api
    (off by default: 404)."""
    kinesis = unsigned_client(platform.admin, "kinesis")
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_streams()
    assert _error(excinfo)[:2] == ("MissingAuthenticationTokenException", 400)
    sts = unsigned_client(platform.admin, "sts")
    with pytest.raises(ClientError) as excinfo:
        sts.get_caller_identity()
    assert _error(excinfo)[:2] == ("MissingAuthenticationToken", 403)
    s3 = unsigned_client(platform.admin, "s3")
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket=BRONZE)
    assert _error(excinfo)[:2] == ("AccessDenied", 403)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{platform.engine.endpoint}/moto-api/data.json", timeout=5)
    assert refused.value.code == 404


def test_http_api_invocations_are_left_to_the_api(platform: Platform) -> None:
    """Unsigned calls to an HTTP API's data plane (/_aws/execute-api/...) are not refused here."""
    url = f"{platform.engine.endpoint}/_aws/execute-api/abc123/prod/auth"
    request = urllib.request.Request(url, data=b"{}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    assert b"MissingAuthenticationToken" not in body and b"AccessDenied" not in body


@pytest.mark.parametrize("signature_version", ["s3", "s3v4"])
def test_presigned_urls_are_verified(platform: Platform, signature_version: str) -> None:
    """An admin's presigned GET (SigV2, boto3's default, and SigV4) works over plain HTTP,
    also for a key that needs escaping; a tampered URL is refused."""
    key = "client/odd name+1 (ü).json"
    platform.admin.client("s3").put_object(Bucket=BRONZE, Key=key, Body=b'{"odd": 1}')
    url = platform.admin.client("s3", signature_version=signature_version).generate_presigned_url(
        "get_object", Params={"Bucket": BRONZE, "Key": key}, ExpiresIn=300
    )
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert json.loads(resp.read()) == {"odd": 1}
    tampered = url.replace("odd%20name", "other%20name")
    assert tampered != url
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(tampered, timeout=5)
    assert excinfo.value.code == 403
    assert b"SignatureDoesNotMatch" in excinfo.value.read()


def test_presigned_urls_carry_the_signers_permissions(platform: Platform) -> None:
    """A URL presigned with bearer credentials is refused on bronze (AccessDenied)."""
    url = platform.bearer.client("s3", signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": BRONZE, "Key": SEEDED_KEY}, ExpiresIn=300
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(url, timeout=5)
    assert excinfo.value.code == 403
    body = excinfo.value.read()
    assert b"<Code>AccessDenied</Code>" in body and platform.bearer_arn.encode() in body


def test_the_admin_can_do_everything(platform: Platform) -> None:
    """The bootstrap admin writes the primary stream, reads every bucket, manages IAM."""
    admin = platform.admin
    admin.client("kinesis").put_record(StreamName=PRIMARY_STREAM, Data=b"x", PartitionKey="p")
    admin.client("firehose").put_record(DeliveryStreamName=PRIMARY_FIREHOSE, Record={"Data": b"x\n"})
    for bucket in BUCKETS:
        assert admin.client("s3").get_object(Bucket=bucket, Key=SEEDED_KEY)["Body"].read()
    assert admin.client("iam").get_role(RoleName="nexus-dev-kinesis-bearer")["Role"]["Arn"] == BEARER_ROLE_ARN
    assert no_retries(admin, "sts").assume_role(RoleArn=EXEC_ROLE_ARN, RoleSessionName="admin")["Credentials"]


def test_refusals_are_counted_and_logged(platform: Platform) -> None:
    """Health counts enforced refusals and the denial log names principal, action, resource."""
    with pytest.raises(ClientError):
        no_retries(platform.bearer, "kinesis").put_record(
            StreamName=PRIMARY_STREAM, Data=b"x", PartitionKey="audit"
        )
    health = platform.engine.health()
    assert health is not None
    assert health["extensions"]["iam"]["mode"] == "enforce"
    assert health["extensions"]["iam"]["denied"] >= 1
    log_file = platform.engine.state_dir / "logs" / "iam-denials.jsonl"
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert any(
        e["outcome"] == "denied"
        and e["principal"] == platform.bearer_arn
        and e["action"] == "kinesis:PutRecord"
        and e["resource"] == stream_arn(PRIMARY_STREAM)
        for e in entries
    )


# -- engines of their own -----------------------------------------------------------------
def test_log_mode_allows_the_call_and_records_it(engine_factory: Callable[..., EngineProcess]) -> None:
    """With --iam log the bearer's write to the primary stream succeeds and is recorded."""
    engine = engine_factory("--iam", "log", "--extensions", "iam")
    provision(engine)
    _, bearer, bearer_arn = assume_bearer(engine.target())
    no_retries(bearer, "kinesis").put_record(StreamName=PRIMARY_STREAM, Data=b"x", PartitionKey="p")
    health = engine.health()
    assert health is not None
    assert health["extensions"]["iam"]["would_deny"] >= 1
    assert health["extensions"]["iam"]["denied"] == 0
    entries = [
        json.loads(line)
        for line in (engine.state_dir / "logs" / "iam-denials.jsonl").read_text().splitlines()
    ]
    assert {
        "outcome": "would-deny",
        "principal": bearer_arn,
        "action": "kinesis:PutRecord",
        "resource": stream_arn(PRIMARY_STREAM),
    }.items() <= entries[-1].items()
    assert entries[-1]["time"].endswith("Z") and "no identity-based policy" in entries[-1]["reason"]


def test_expired_temporary_credentials_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bearer credentials of 900 s work, and are refused (ExpiredTokenException) once the
    engine's clock is 901 s later.

    Time moves only inside the engine: it is restarted on the same state with
    NEXUSKIT_CLOCK_SKEW_SECONDS=901, the offset its credential-expiry clock runs ahead.
    """
    monkeypatch.delenv("NEXUSKIT_CLOCK_SKEW_SECONDS", raising=False)
    engine = EngineProcess(tmp_path / "engine", "--iam", "enforce", "--extensions", "iam")
    engine.start()
    try:
        provision(engine)
        _, bearer, _ = assume_bearer(engine.target(), duration=900)
        kinesis = no_retries(bearer, "kinesis")
        kinesis.put_record(StreamName=CLIENT_STREAM, Data=b"x", PartitionKey="p")
        engine.stop()
        monkeypatch.setenv("NEXUSKIT_CLOCK_SKEW_SECONDS", "901")
        engine.start()
        with pytest.raises(ClientError) as excinfo:
            kinesis.put_record(StreamName=CLIENT_STREAM, Data=b"x", PartitionKey="p")
        assert _error(excinfo)[:2] == ("ExpiredTokenException", 400)
        assert no_retries(engine.target(), "kinesis").list_streams()["StreamNames"]
    finally:
        engine.stop()
