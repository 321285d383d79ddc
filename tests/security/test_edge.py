"""The token service from the attacker's side (issue 22: items 4, 5 and the edge part of 7).

* ``POST /auth`` is throttled by the HTTP API stage (token bucket per stage and route,
  from the parameter file's ``auth_throttling_*``), answering 429 as AWS does;
* with ``auth_route_authorization_type = AWS_IAM`` only SigV4 callers allowed
  ``execute-api:Invoke`` on the route get a token;
* the body is read strictly (duplicate keys, huge numbers) and every refusal is JSON;
* the signing key can be read by nobody but the auth Lambda (and the stack's admin), and
  no output of the CLI or the function's log carries it.

Stacks with their own parameters run on engines of their own (IAM enforced); the rest use
the session's shared stack (``nexuskit up --local``) and leave it as they found it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from nexuskit.edge.errors import TokenError
from nexuskit.edge.tokens import issue_token, signed_headers
from nexuskit.lake.access import open_lake
from tests.e2e.conftest import Stack
from tests.edge.conftest import EdgeStack, HttpAnswer, deploy_on, edge_spec, http, post_json
from tests.helpers import EngineProcess

DENIED = {"AccessDenied", "AccessDeniedException"}
IRSA_ROLES = ("agent_irsa", "aws_mcp_irsa", "ui_irsa")
RATE, BURST = 1, 5  # the throttled stack's auth_throttling_rate_limit / _burst_limit


def _own_stack(tmp_path_factory: pytest.TempPathFactory, name: str, **params: Any) -> Iterator[EdgeStack]:
    engine = EngineProcess(tmp_path_factory.mktemp(name), "--iam", "enforce").start()
    try:
        yield deploy_on(engine, edge_spec(**params))
    finally:
        engine.stop()


@pytest.fixture(scope="module")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    """A stack whose HTTP API stage allows 1 request/s with a burst of 5 (used by one test:
    its bucket is full when that test starts)."""
    yield from _own_stack(
        tmp_path_factory, "throttled", auth_throttling_rate_limit=RATE, auth_throttling_burst_limit=BURST
    )


@pytest.fixture(scope="module")
def iam_route(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    """A stack whose ``POST /auth`` route has ``AWS_IAM`` authorization."""
    yield from _own_stack(tmp_path_factory, "iam-route", auth_route_authorization_type="AWS_IAM")


def _signed_post(url: str, doc: Any, signer: AwsTarget, sent: bytes | None = None) -> HttpAnswer:
    """POST ``doc`` signed as ``signer``; ``sent`` replaces the body after signing (tampering)."""
    body = json.dumps(doc).encode()
    headers = signed_headers(url, body, {"content-type": "application/json"}, signer)
    return http(url, body if sent is None else sent, **{k.replace("-", "_"): v for k, v in headers.items()})


def _bearer(stack: EdgeStack, signer: AwsTarget | None = None) -> AwsTarget:
    creds = issue_token(stack.auth_url, "attacker", 15, signer=signer)["credentials"]
    return stack.target.with_credentials(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )


def _user_allowed_to_invoke(stack: EdgeStack, name: str, resource: str) -> AwsTarget:
    iam = stack.client("iam")
    iam.create_user(UserName=name)
    statement = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resource}
    iam.put_user_policy(
        UserName=name,
        PolicyName="invoke-auth",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return stack.target.with_credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _route_arn(stack: EdgeStack) -> str:
    api_id = stack.auth_url.split("/_aws/execute-api/", 1)[1].split("/", 1)[0]
    return f"arn:aws:execute-api:{stack.spec.region}:123456789012:{api_id}/prod/POST/auth"


# -- throttling --------------------------------------------------------------------------
def test_a_burst_beyond_the_stage_burst_gets_429s(throttled: EdgeStack) -> None:
    """60 token requests at once: the stage's bucket (burst 5, 1/s) admits at least its
    burst and at most burst + rate x elapsed (+1 for rounding); every other request gets
    API Gateway's 429 ``{"message":"Too Many Requests"}`` and no token."""
    calls = 60

    def ask(index: int) -> HttpAnswer:
        return post_json(throttled.auth_url, {"user": f"flood-{index}"})

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(calls)))
    elapsed = time.monotonic() - started
    accepted = [a for a in answers if a.status != 429]
    refused = [a for a in answers if a.status == 429]
    bound = BURST + RATE * elapsed + 1
    assert BURST <= len(accepted) <= bound, (len(accepted), elapsed)
    assert len(refused) >= calls - bound and refused
    assert all(a.status == 200 and "token" in a.json() for a in accepted)
    assert all(a.json() == {"message": "Too Many Requests"} for a in refused)


def test_the_stage_carries_the_parameter_files_throttling(stack: Stack) -> None:
    """The shared stack's stage has envs/local's auth_throttling_* as its default route
    settings (what the data plane enforces), finite and generous."""
    params = stack.spec.params
    client = stack.client("apigatewayv2")
    api = next(a for a in client.get_apis()["Items"] if a["Name"] == stack.spec.http_api)
    settings = client.get_stage(ApiId=api["ApiId"], StageName="prod")["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == params.auth_throttling_rate_limit
    assert settings["ThrottlingBurstLimit"] == params.auth_throttling_burst_limit
    assert 0 < params.auth_throttling_burst_limit < 5000


# -- optional IAM authorization ----------------------------------------------------------
def test_unsigned_auth_is_refused_when_the_route_needs_iam(iam_route: EdgeStack) -> None:
    """With AWS_IAM on POST /auth, an unsigned request gets 403 Forbidden and no token."""
    answer = post_json(iam_route.auth_url, {"user": "anonymous"})
    assert answer.status == 403
    assert answer.json() == {"message": "Forbidden"}


def test_a_signed_request_of_an_allowed_identity_gets_a_token(iam_route: EdgeStack) -> None:
    """An IAM user allowed execute-api:Invoke on .../prod/POST/auth signs and gets a token."""
    caller = _user_allowed_to_invoke(iam_route, "token-client", _route_arn(iam_route))
    answer = _signed_post(iam_route.auth_url, {"user": "signed-client"}, caller)
    assert answer.status == 200, answer.body
    assert answer.json()["token"].count(".") == 2


def test_bearer_credentials_without_invoke_permission_are_refused(iam_route: EdgeStack) -> None:
    """The bearer role's credentials (a token holder) cannot mint more tokens: 403 naming
    execute-api:Invoke, and no token."""
    bearer = _bearer(iam_route, signer=iam_route.target)
    answer = _signed_post(iam_route.auth_url, {"user": "bearer-again"}, bearer)
    assert answer.status == 403
    message = answer.json()["message"]
    assert "is not authorized to perform: execute-api:Invoke" in message
    assert _route_arn(iam_route) in message and "token" not in answer.json()


def test_a_signed_request_with_another_body_is_refused(iam_route: EdgeStack) -> None:
    """A request signed by an allowed identity, replayed with a different body, is refused."""
    caller = _user_allowed_to_invoke(iam_route, "replayed-client", _route_arn(iam_route))
    forged = json.dumps({"user": "admin", "ttl_minutes": 60}).encode()
    answer = _signed_post(iam_route.auth_url, {"user": "replayed-client"}, caller, sent=forged)
    assert answer.status == 403
    assert "signature" in answer.json()["message"]


def test_a_signature_for_another_service_is_refused(iam_route: EdgeStack) -> None:
    """A valid admin signature scoped to another service (sts) does not open the route."""
    body = json.dumps({"user": "cross-service"}).encode()
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    admin = iam_route.target
    request = AWSRequest(
        method="POST", url=iam_route.auth_url, data=body, headers={"content-type": "application/json"}
    )
    SigV4Auth(Credentials(admin.access_key_id, admin.secret_access_key), "sts", admin.region).add_auth(
        request
    )
    headers = {k.replace("-", "_"): v for k, v in request.headers.items()}
    answer = http(iam_route.auth_url, body, **headers)
    assert answer.status == 403
    assert "execute-api" in answer.json()["message"]


def test_token_issue_signs_when_the_route_needs_iam(iam_route: EdgeStack) -> None:
    """``nexuskit token issue`` on a stack whose /auth needs IAM signs as the stack admin."""
    from tests.edge.test_token_cli import nexuskit

    result = nexuskit(iam_route, "token", "issue", "--user", "cli-signed", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["token"].count(".") == 2


# -- strict input ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"user": "a", "user": "admin"}', "user"),
        (b'{"user": "a", "ttl_minutes": 1' + b"0" * 5000 + b"}", "ttl_minutes"),
        (b'{"user": "a", "ttl_minutes": 30.5}', "ttl_minutes"),
        (b'{"user": "a", "ttl_minutes": true}', "ttl_minutes"),
        (b'{"user": "a", "ttl_minutes": 1e400}', "ttl_minutes"),
        (b'{"user": "a", "metadata": {"a": {"b": {"c": {"d": {"e": {}}}}}}}', "metadata"),
        (b'{"user": "a", "metadata": {"role": "x", "role": "admin"}}', "metadata"),
    ],
)
def test_ambiguous_or_oversized_values_get_400_naming_the_field(stack: Stack, raw: bytes, field: str) -> None:
    """Duplicate keys, a 10**5000 / float / boolean / infinite ttl and over-deep metadata:
    400 with a JSON message naming the field (never a Python message), and no token."""
    url = stack.up_report["endpoints"]["auth_url"]
    answer = http(url, raw, content_type="application/json")
    assert answer.status == 400
    doc = answer.json()
    assert doc["field"] == field and f"'{field}'" in doc["message"]
    assert "token" not in doc
    for internal in ("Exceeds the limit", "int_max_str_digits", "Traceback", "Expecting"):
        assert internal not in doc["message"]


def test_nan_and_garbage_get_json_answers(stack: Stack) -> None:
    """NaN, a cut-off document and bytes that are not UTF-8: 400 JSON messages, no 5xx."""
    url = stack.up_report["endpoints"]["auth_url"]
    for raw in (b'{"user": "a", "ttl_minutes": NaN}', b'{"user": "a",', b"\xff\xfe{"):
        answer = http(url, raw, content_type="application/json")
        assert answer.status == 400, raw
        assert isinstance(answer.json()["message"], str)


# -- the signing key ---------------------------------------------------------------------
def _read_key(target: AwsTarget, secret: str) -> str:
    """The error code of GetSecretValue as ``target`` ('' if it succeeded)."""
    try:
        target.client("secretsmanager", max_attempts=1).get_secret_value(SecretId=secret)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return ""


def test_bearer_credentials_cannot_read_the_signing_key(stack: Stack) -> None:
    """The credentials /auth hands out are denied GetSecretValue on the signing secret."""
    creds = issue_token(stack.up_report["endpoints"]["auth_url"], "key-thief", 15)["credentials"]
    bearer = stack.target.with_credentials(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    assert _read_key(bearer, stack.spec.token_signing_secret) in DENIED


@pytest.mark.parametrize("role", IRSA_ROLES)
def test_no_irsa_role_can_read_the_signing_key(stack: Stack, role: str) -> None:
    """agent-core's, aws-mcp's and nexus-ui's IRSA credentials (assumed as their service
    accounts) are denied GetSecretValue on the signing secret."""
    target = open_lake(stack.settings, as_role=role).target
    assert _read_key(target, stack.spec.token_signing_secret) in DENIED


def test_the_key_policy_denies_even_a_role_granted_every_secret(stack: Stack) -> None:
    """A role someone granted secretsmanager:* on * is still refused by the secret's own
    resource policy (an explicit deny): only the auth Lambda's role reads the key."""
    iam = stack.client("iam")
    name = "stray-secrets-reader"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    grant = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    try:
        iam.put_role_policy(RoleName=name, PolicyName="all-secrets", PolicyDocument=json.dumps(grant))
        creds = stack.client("sts").assume_role(RoleArn=arn, RoleSessionName="stray")["Credentials"]
        stray = stack.target.with_credentials(
            creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
        )
        try:
            stray.client("secretsmanager", max_attempts=1).get_secret_value(
                SecretId=stack.spec.token_signing_secret
            )
        except ClientError as exc:
            assert exc.response["Error"]["Code"] in DENIED
            assert "explicit deny in a resource-based policy" in exc.response["Error"]["Message"]
        else:
            pytest.fail("a role granted secretsmanager:* read the signing key")
    finally:
        iam.delete_role_policy(RoleName=name, PolicyName="all-secrets")
        iam.delete_role(RoleName=name)


def _key_material(stack: Stack) -> list[str]:
    """Fragments of the signing key that must never be printed (read as the stack admin)."""
    document = json.loads(
        stack.client("secretsmanager").get_secret_value(SecretId=stack.spec.token_signing_secret)[
            "SecretString"
        ]
    )
    fragments = ["PRIVATE KEY"]
    for key in document["keys"]:
        body = "".join(key["private_key_pem"].splitlines()[1:-1])
        fragments += [body[i : i + 40] for i in range(0, len(body) - 40, 200)]
    return fragments


def test_cli_output_never_carries_the_signing_key(stack: Stack) -> None:
    """``status``, ``status --json``, ``token issue`` (table and JSON) and ``token verify``
    print no private key material and not the stack admin's secret key."""
    issued = stack.cli("token", "issue", "--user", "printer", "--json", "--show-secrets")
    assert issued.returncode == 0, issued.stderr
    token = json.loads(issued.stdout)["token"]
    outputs = [
        stack.cli("status"),
        stack.cli("status", "--json"),
        stack.cli("token", "issue", "--user", "printer"),
        stack.cli("token", "issue", "--user", "printer", "--json"),
        stack.cli("token", "verify", token),
        stack.cli("token", "verify", token, "--json"),
    ]
    admin_secret = stack.target.secret_access_key
    for result in outputs:
        assert result.returncode == 0, result.stderr
        printed = result.stdout + result.stderr
        assert admin_secret not in printed
        for fragment in _key_material(stack):
            assert fragment not in printed


def test_the_functions_log_never_carries_keys_or_credentials(stack: Stack) -> None:
    """After issuing a token and refusing a bad body, the auth Lambda's log group holds no
    key material and not the issued credentials' secret or session token."""
    url = stack.up_report["endpoints"]["auth_url"]
    creds = issue_token(url, "logged", 15)["credentials"]
    http(url, b'{"user": "a", "user": "b"}', content_type="application/json")
    logs = stack.client("logs")
    events = logs.filter_log_events(logGroupName=stack.spec.lambda_log_group).get("events", [])
    text = "\n".join(e["message"] for e in events)
    assert "token_issued" in text
    for secret in [creds["SecretAccessKey"], creds["SessionToken"], *_key_material(stack)]:
        assert secret not in text


def test_token_errors_of_the_cli_are_one_line(iam_route: EdgeStack) -> None:
    """A refused /auth call surfaces as a one-line TokenError with the gateway's message."""
    with pytest.raises(TokenError, match="answered 403: Forbidden"):
        issue_token(iam_route.auth_url, "no-signature")
