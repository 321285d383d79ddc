"""The engine as a drop-in for LocalStack's tooling: its internal endpoints and host names.

Every request goes to 127.0.0.1 with the LocalStack name in ``Host`` (there is no DNS here);
signed requests are signed for that name, as a client configured with LocalStack's URL
signs them.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from tests.helpers import REGION, EngineProcess, RawResponse, raw_request, sign_headers

LS = "localhost.localstack.cloud"
PLATFORM = {
    "s3",
    "logs",
    "iam",
    "sts",
    "lakeformation",
    "kinesis",
    "dynamodb",
    "kinesisvideo",
    "firehose",
    "secretsmanager",
    "ec2",
    "eks",
    "lambda",
    "apigateway",
    "glue",
    "bedrock",
}
INFO_FIELDS = {
    "version",
    "edition",
    "is_license_activated",
    "session_id",
    "machine_id",
    "system",
    "is_docker",
    "server_time_utc",
    "uptime",
}


def get(engine: EngineProcess, path: str, host: str = LS, **headers: str) -> RawResponse:
    return raw_request(engine.endpoint, "GET", path, headers={"Host": f"{host}:{engine.port}", **headers})


def signed(
    engine: EngineProcess,
    target: AwsTarget,
    method: str,
    host: str,
    path: str,
    body: bytes = b"",
    service: str = "s3",
) -> RawResponse:
    """A SigV4 request signed for ``http://<host>:<port><path>``, sent to 127.0.0.1."""
    url = f"http://{host}:{engine.port}{path}"
    headers = sign_headers(target, method, url, service, body)
    return raw_request(engine.endpoint, method, path, body, headers)


def services(engine: EngineProcess) -> dict[str, str]:
    answer = get(engine, "/_localstack/health")
    assert answer.status == 200, answer.body
    return dict(answer.json()["services"])


# -- /_localstack/health, info, init --------------------------------------------------------
def test_health_has_localstacks_shape_and_services_start_when_used(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """Platform services are listed; one turns from available to running on its first use,
    and a service outside the platform appears, running, once it has been used."""
    engine = engine_factory()
    answer = get(engine, "/_localstack/health")
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    doc = answer.json()
    assert set(doc) == {"services", "features", "edition", "version"}
    assert doc["edition"] == "nexuskit" and doc["version"]
    assert doc["features"] == {"initScripts": "initialized", "persistence": "enabled"}
    assert set(doc["services"]) >= PLATFORM
    assert set(doc["services"].values()) <= {"available", "running"}
    assert doc["services"]["secretsmanager"] == "available"
    assert doc["services"]["bedrock"] == "running"  # the engine's own, nothing to load
    assert "sqs" not in doc["services"]

    admin = engine.target()
    admin.client("secretsmanager").list_secrets()
    admin.client("sqs").list_queues()
    after = services(engine)
    assert after["secretsmanager"] == "running"
    assert after["sqs"] == "running"
    assert after["kinesisvideo"] == "available"

    reloaded = get(engine, "/_localstack/health?reload")
    assert reloaded.status == 200 and reloaded.json()["services"] == after
    head = raw_request(engine.endpoint, "HEAD", "/_localstack/health", headers={"Host": LS})
    assert head.status == 200 and head.body == b""


def test_warmed_up_services_are_running(engine_factory: Callable[..., EngineProcess]) -> None:
    """With ``--warm-up platform`` the platform's services are loaded without any request."""
    import time

    engine = engine_factory("--warm-up", "platform", "--no-persist")
    deadline = time.monotonic() + 60
    states = services(engine)
    while time.monotonic() < deadline and set(states.values()) != {"running"}:
        time.sleep(0.2)
        states = services(engine)
    assert {name: states[name] for name in PLATFORM} == dict.fromkeys(PLATFORM, "running")
    assert get(engine, "/_localstack/health").json()["features"]["persistence"] == "disabled"


def test_a_degraded_engine_reports_its_services_in_error(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """While the state dir cannot take writes, every service is ``error``; reads go on."""
    engine = engine_factory("--disk-reserve-mb", str(1 << 40))
    with pytest.raises(ClientError) as refused:
        engine.target().client("s3", max_attempts=1).create_bucket(
            Bucket="no-room", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    states = services(engine)
    assert set(states.values()) == {"error"} and set(states) >= PLATFORM


def test_info_has_localstacks_fields_and_nothing_sensitive(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    engine = engine_factory()
    first, second = get(engine, "/_localstack/info"), get(engine, "/_localstack/info")
    assert first.status == 200
    info = first.json()
    assert set(info) == INFO_FIELDS
    assert info["edition"] == "nexuskit" and info["version"]
    assert info["is_license_activated"] is False and info["is_docker"] is False
    assert info["system"] in {"linux", "darwin", "windows"}
    assert isinstance(info["uptime"], int) and info["uptime"] >= 0
    assert (
        abs(
            (
                datetime.now(UTC).replace(tzinfo=None) - datetime.fromisoformat(info["server_time_utc"])
            ).total_seconds()
        )
        < 60
    )
    assert second.json()["session_id"] == info["session_id"] and info["session_id"]
    assert second.json()["machine_id"] == info["machine_id"]
    for answer in (first, get(engine, "/_localstack/health")):
        text = answer.body.decode()
        assert str(engine.state_dir) not in text and "AKIA" not in text and "engine-token" not in text


def test_init_reports_every_start_stage_completed(engine_factory: Callable[..., EngineProcess]) -> None:
    """What docker-compose health checks grep: ``/_localstack/init/ready`` says completed."""
    engine = engine_factory()
    assert get(engine, "/_localstack/init").json() == {
        "completed": {"BOOT": True, "START": True, "READY": True, "SHUTDOWN": False},
        "scripts": [],
    }
    assert get(engine, "/_localstack/init/ready").json() == {"completed": True, "scripts": []}
    assert get(engine, "/_localstack/init/nonsense").status == 404
    assert get(engine, "/_localstack/nothing-here").status == 404


def test_localstack_endpoints_refuse_rebinding_browsers_and_changes(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """From the attacker's side: a foreign Host (DNS rebinding) and a cross-origin page are
    refused; LocalStack's restart/kill/state backdoors (POST/PUT) do not exist."""
    engine = engine_factory()
    for path in ("/_localstack/health", "/_localstack/info", "/_localstack/init"):
        rebound = get(engine, path, host="attacker.example")
        assert rebound.status == 403 and b"services" not in rebound.body
        page = get(engine, path, Origin="http://attacker.example")
        assert page.status == 403 and "access-control-allow-origin" not in page.headers
        assert b"services" not in page.body and b"session_id" not in page.body
    for method in ("POST", "PUT", "DELETE"):
        body = json.dumps({"action": "kill"}).encode()
        answer = raw_request(engine.endpoint, method, "/_localstack/health", body, {"Host": LS})
        assert answer.status == 405
    assert engine.proc is not None and engine.proc.poll() is None
    assert get(engine, "/_localstack/health").status == 200


# -- S3 under LocalStack's names ------------------------------------------------------------
def test_s3_objects_through_localstack_host_names(engine_factory: Callable[..., EngineProcess]) -> None:
    """Path style on ``s3.localhost.localstack.cloud`` and ``localhost.localstack.cloud``,
    virtual-host style on ``<bucket>.s3.localhost.localstack.cloud``: one bucket, one object."""
    engine = engine_factory()
    admin = engine.target()
    config = (
        "<CreateBucketConfiguration>"
        f"<LocationConstraint>{REGION}</LocationConstraint>"
        "</CreateBucketConfiguration>"
    )
    created = signed(engine, admin, "PUT", f"s3.{LS}", "/ls-bucket", config.encode())
    assert created.status == 200, created.body
    put = signed(engine, admin, "PUT", f"ls-bucket.s3.{LS}", "/dir/hello.txt", b"hello localstack")
    assert put.status == 200, put.body
    for host, path in (
        (f"ls-bucket.s3.{LS}", "/dir/hello.txt"),
        (f"s3.{LS}", "/ls-bucket/dir/hello.txt"),
        (LS, "/ls-bucket/dir/hello.txt"),
    ):
        got = signed(engine, admin, "GET", host, path)
        assert (got.status, got.body) == (200, b"hello localstack"), (host, got.body)
    listed = signed(engine, admin, "GET", f"ls-bucket.s3.{LS}", "/?list-type=2")
    assert listed.status == 200 and b"<Key>dir/hello.txt</Key>" in listed.body
    s3 = admin.client("s3")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["ls-bucket"]
    assert s3.get_object(Bucket="ls-bucket", Key="dir/hello.txt")["Body"].read() == b"hello localstack"


def _user(admin: AwsTarget, name: str, policy: dict[str, Any]) -> AwsTarget:
    iam = admin.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return AwsTarget(
        region=REGION,
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
        endpoint_url=admin.endpoint_url,
    )


def test_iam_judges_virtual_host_requests_on_the_bucket_they_address(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """``--iam enforce``: a user allowed on one bucket is denied on another, whichever
    LocalStack name (virtual host or path style) carries the request."""
    engine = engine_factory("--iam", "enforce")
    admin = engine.target()
    s3 = admin.client("s3")
    for bucket in ("granted", "withheld"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="withheld", Key="secret.txt", Body=b"not yours")
    user = _user(
        admin,
        "one-bucket",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::granted", "arn:aws:s3:::granted/*"],
                }
            ],
        },
    )
    ok = signed(engine, user, "PUT", f"granted.s3.{LS}", "/mine.txt", b"mine")
    assert ok.status == 200, ok.body
    assert signed(engine, user, "GET", f"s3.{LS}", "/granted/mine.txt").body == b"mine"
    for method, host, path in (
        ("PUT", f"withheld.s3.{LS}", "/planted.txt"),
        ("GET", f"withheld.s3.{LS}", "/secret.txt"),
        ("GET", f"s3.{LS}", "/withheld/secret.txt"),
        ("GET", LS, "/withheld/secret.txt"),
    ):
        denied = signed(engine, user, method, host, path, b"x" if method == "PUT" else b"")
        assert denied.status == 403 and b"AccessDenied" in denied.body, (host, path, denied.body)
        assert b"not yours" not in denied.body
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="withheld").get("Contents", [])]
    assert keys == ["secret.txt"]


# -- HTTP APIs under LocalStack's execute-api names -----------------------------------------
HANDLER = """
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"route": event["routeKey"], "path": event["rawPath"],
                                "host": event["headers"].get("host")})}
"""


def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    return buffer.getvalue()


def test_http_api_through_localstack_execute_api_host(engine_factory: Callable[..., EngineProcess]) -> None:
    """``<api-id>.execute-api.localhost.localstack.cloud/<stage>/<route>`` invokes the route."""
    engine = engine_factory()
    admin = engine.target()
    role = admin.client("iam").create_role(
        RoleName="ls-fn",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    awslambda = admin.client("lambda")
    arn = awslambda.create_function(
        FunctionName="ls-echo",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _function_zip()},
    )["FunctionArn"]
    awslambda.get_waiter("function_active_v2").wait(FunctionName="ls-echo")
    apis = admin.client("apigatewayv2")
    api_id = apis.create_api(Name="ls-api", ProtocolType="HTTP")["ApiId"]
    integration = apis.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    apis.create_route(ApiId=api_id, RouteKey="GET /hello/{name}", Target=f"integrations/{integration}")
    apis.create_stage(ApiId=api_id, StageName="dev")
    awslambda.add_permission(
        FunctionName="ls-echo",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{admin.account_id}:{api_id}/*/*",
    )
    host = f"{api_id}.execute-api.{LS}"
    answer = get(engine, "/dev/hello/world", host=host)
    assert answer.status == 200, answer.body
    assert answer.json() == {
        "route": "GET /hello/{name}",
        "path": "/dev/hello/world",
        "host": f"{host}:{engine.port}",
    }
    assert get(engine, "/dev/nowhere", host=host).status == 404
    assert get(engine, "/dev/hello/world", host=f"nosuchapi.execute-api.{LS}").status == 404
    # the engine's own path form still answers the same route
    ours = get(engine, f"/_aws/execute-api/{api_id}/dev/hello/world")
    assert ours.status == 200 and ours.json()["route"] == "GET /hello/{name}"
