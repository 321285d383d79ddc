"""Routes with ``AWS_IAM`` authorization: SigV4 for execute-api and execute-api:Invoke.

The ``edge`` engine runs with ``--iam off``: the route's authorization is the API's
configuration and is enforced all the same (with the authorizer's own view of IAM).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from nexuskit.aws import AwsTarget
from nexuskit.edge.tokens import signed_headers
from tests.edge.conftest import EdgeStack, HttpAnswer, http

ECHO = "def handler(event, context):\n    return {'statusCode': 200, 'body': event['rawPath']}\n"


@dataclass
class SecureApi:
    url: str
    api_id: str
    region: str

    def arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{self.region}:123456789012:{self.api_id}/s/{method}/{path}"


@pytest.fixture(scope="module")
def api(edge: EdgeStack, make_function: Callable[..., str]) -> Iterator[SecureApi]:
    """``GET /items/{id}`` with AWS_IAM, ``GET /jwt`` with a JWT authorizer, stage ``s``."""
    arn = make_function("iam-echo", {"app.py": ECHO})
    apis = edge.client("apigatewayv2")
    api_id = apis.create_api(Name="secure", ProtocolType="HTTP")["ApiId"]
    integration = apis.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    target = f"integrations/{integration}"
    apis.create_route(ApiId=api_id, RouteKey="GET /items/{id}", Target=target, AuthorizationType="AWS_IAM")
    apis.create_route(ApiId=api_id, RouteKey="GET /jwt", Target=target, AuthorizationType="JWT")
    apis.create_stage(ApiId=api_id, StageName="s")
    edge.client("lambda").add_permission(
        FunctionName="iam-echo",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{edge.spec.region}:{edge.target.account_id}:{api_id}/*/*",
    )
    yield SecureApi(f"{edge.engine.endpoint}/_aws/execute-api/{api_id}/s", api_id, edge.spec.region)
    apis.delete_api(ApiId=api_id)


def _get(url: str, signer: AwsTarget | None = None) -> HttpAnswer:
    headers = signed_headers(url, b"", {}, signer, method="GET") if signer else {}
    return http(url, method="GET", **{k.replace("-", "_"): v for k, v in headers.items()})


def _user(edge: EdgeStack, name: str, *statements: dict[str, str]) -> AwsTarget:
    iam = edge.client("iam")
    iam.create_user(UserName=name)
    if statements:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return edge.target.with_credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _message(answer: HttpAnswer) -> str:
    return str(json.loads(answer.body)["message"])


def test_unsigned_request_is_forbidden(api: SecureApi) -> None:
    """No signature: 403 ``{"message":"Forbidden"}``; the function is not called."""
    answer = _get(f"{api.url}/items/1")
    assert (answer.status, json.loads(answer.body)) == (403, {"message": "Forbidden"})
    assert answer.headers["x-amzn-errortype"] == "ForbiddenException"


def test_the_stack_admin_may_invoke(edge: EdgeStack, api: SecureApi) -> None:
    """The engine's admin keys sign for execute-api: the request reaches the function."""
    answer = _get(f"{api.url}/items/1", edge.target)
    assert (answer.status, answer.body) == (200, b"/s/items/1")


def test_invoke_is_authorized_on_the_requested_path(edge: EdgeStack, api: SecureApi) -> None:
    """A user allowed execute-api:Invoke on .../GET/items/1 gets item 1, not item 2, and
    the refusal names the action and the resource as AWS does."""
    caller = _user(
        edge,
        "item-one",
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": api.arn("GET", "items/1")},
    )
    assert _get(f"{api.url}/items/1", caller).status == 200
    refused = _get(f"{api.url}/items/2", caller)
    assert refused.status == 403
    assert _message(refused) == (
        f"User: arn:aws:iam::123456789012:user/item-one is not authorized to perform: "
        f"execute-api:Invoke on resource: {api.arn('GET', 'items/2')}"
    )


def test_an_explicit_deny_is_named(edge: EdgeStack, api: SecureApi) -> None:
    """Allow on every route but an explicit deny on one: the refusal says so."""
    caller = _user(
        edge,
        "denied-items",
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
        {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": api.arn("GET", "items/*")},
    )
    refused = _get(f"{api.url}/items/3", caller)
    assert refused.status == 403
    assert _message(refused).endswith("with an explicit deny")


def test_unknown_keys_are_refused(edge: EdgeStack, api: SecureApi) -> None:
    """A signature with keys the engine does not know: the security token is invalid."""
    stranger = edge.target.with_credentials("AKIAUNKNOWNKEY000000", "not-a-secret")
    answer = _get(f"{api.url}/items/1", stranger)
    assert answer.status == 403
    assert _message(answer) == "The security token included in the request is invalid."


def test_a_wrong_secret_is_refused(edge: EdgeStack, api: SecureApi) -> None:
    """The admin's key id with another secret: the signature does not match."""
    forger = edge.target.with_credentials(edge.target.access_key_id, "guessed-secret")
    answer = _get(f"{api.url}/items/1", forger)
    assert answer.status == 403
    assert "signature we calculated does not match" in _message(answer)


def test_a_signature_for_another_region_is_refused(edge: EdgeStack, api: SecureApi) -> None:
    """Credentials scoped to another region than the API's: refused."""
    elsewhere = AwsTarget(
        region="eu-west-1",
        access_key_id=edge.target.access_key_id,
        secret_access_key=edge.target.secret_access_key,
        endpoint_url=edge.target.endpoint_url,
    )
    answer = _get(f"{api.url}/items/1", elsewhere)
    assert answer.status == 403
    assert "valid region" in _message(answer)


def test_authorizers_that_are_not_emulated_stay_forbidden(edge: EdgeStack, api: SecureApi) -> None:
    """A JWT-authorized route answers 403 Forbidden even to the admin (not emulated)."""
    answer = _get(f"{api.url}/jwt", edge.target)
    assert (answer.status, json.loads(answer.body)) == (403, {"message": "Forbidden"})
