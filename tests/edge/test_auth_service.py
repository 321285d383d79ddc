"""The auth token service over HTTP, through the HTTP API, as a producer calls it."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from typing import Any

import pytest

from nexuskit.edge.auth import token_audience, token_issuer
from nexuskit.edge.errors import TokenError
from nexuskit.edge.tokens import fetch_jwks, issue_token, verify_token
from tests.edge.conftest import EdgeStack, http, post_json


@pytest.mark.parametrize(("requested", "granted"), [(5, 15), (45, 45), (600, 60)])
def test_ttl_is_clamped_to_15_60_minutes(edge: EdgeStack, requested: int, granted: int) -> None:
    """The TTL asked for is clamped to 15..60 minutes and the clamped value is reported."""
    payload = issue_token(edge.auth_url, "ttl-tester", requested)
    assert payload["ttl_minutes"] == granted
    _, claims = _decode(payload["token"])
    assert claims["exp"] - claims["iat"] == granted * 60


def test_ttl_defaults_to_the_stack_parameter(edge: EdgeStack) -> None:
    """Without ttl_minutes the token lives token_ttl_default_minutes (30)."""
    payload = issue_token(edge.auth_url, "default-ttl")
    assert payload["ttl_minutes"] == edge.spec.params.token_ttl_default_minutes == 30


def test_payload_has_the_documented_shape(edge: EdgeStack) -> None:
    """Token, type, expiry, TTL, STS credentials and the three client streams with ARNs."""
    payload = issue_token(edge.auth_url, "alice@example.com", 20, {"device": "sensor-7"})
    assert set(payload) == {"token", "token_type", "expires_at", "ttl_minutes", "credentials", "streams"}
    assert payload["token_type"] == "Bearer"
    assert set(payload["credentials"]) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert payload["credentials"]["AccessKeyId"].startswith("ASIA")
    expires = datetime.fromisoformat(payload["expires_at"].replace("Z", "+00:00"))
    assert abs(expires.timestamp() - (time.time() + 20 * 60)) < 30
    streams = payload["streams"]
    spec = edge.spec
    assert streams["data_stream"]["name"] == spec.client_stream
    assert streams["data_stream"]["arn"].endswith(f":stream/{spec.client_stream}")
    assert streams["video_stream"]["name"] == spec.client_telemetry_video_stream
    assert f":stream/{spec.client_telemetry_video_stream}/" in streams["video_stream"]["arn"]
    assert streams["firehose"]["name"] == spec.client_firehose
    assert streams["firehose"]["arn"].endswith(f":deliverystream/{spec.client_firehose}")


def test_token_is_an_rs256_jwt_with_the_standard_claims(edge: EdgeStack) -> None:
    """The JWT names its key and carries iss, aud, sub, jti, iat and exp (and the metadata)."""
    payload = issue_token(edge.auth_url, "bob", 30, {"site": "north"})
    header, claims = _decode(payload["token"])
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["iss"] == token_issuer(edge.spec)
    assert claims["aud"] == token_audience(edge.spec)
    assert claims["sub"] == "bob"
    assert len(claims["jti"]) == 32
    assert claims["metadata"] == {"site": "north"}
    assert claims["akid"] == payload["credentials"]["AccessKeyId"]


def test_token_verifies_against_the_published_jwks(edge: EdgeStack) -> None:
    """The JWKS route publishes the key the token was signed with, and it verifies."""
    payload = issue_token(edge.auth_url, "carol", 15)
    result = verify_token(
        payload["token"],
        fetch_jwks(edge.jwks_url),
        issuer=token_issuer(edge.spec),
        audience=token_audience(edge.spec),
    )
    assert result["valid"] and result["claims"]["sub"] == "carol"
    assert 14 * 60 < result["expires_in_s"] <= 15 * 60


def test_tampered_token_fails_verification(edge: EdgeStack) -> None:
    """Changing a claim (here the subject) breaks the signature."""
    token = issue_token(edge.auth_url, "mallory", 15)["token"]
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "admin"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError, match="signature does not verify"):
        verify_token(
            f"{head}.{forged_body}.{signature}", fetch_jwks(edge.jwks_url), issuer=None, audience=None
        )


def test_expired_token_fails_verification(edge: EdgeStack) -> None:
    """Past its exp (plus the 30 s leeway) a token is refused."""
    token = issue_token(edge.auth_url, "dave", 15)["token"]
    _, claims = _decode(token)
    with pytest.raises(TokenError, match="expired"):
        verify_token(token, fetch_jwks(edge.jwks_url), issuer=None, audience=None, now=claims["exp"] + 31)


def test_token_of_another_audience_fails_verification(edge: EdgeStack) -> None:
    """A verifier expecting another audience refuses the token."""
    token = issue_token(edge.auth_url, "erin", 15)["token"]
    with pytest.raises(TokenError, match="audience"):
        verify_token(token, fetch_jwks(edge.jwks_url), issuer=None, audience="urn:someone-else")


def test_credentials_can_put_records_on_the_client_stream(edge: EdgeStack) -> None:
    """The STS credentials of the payload write to the client data stream."""
    creds = issue_token(edge.auth_url, "producer-1", 15)["credentials"]
    producer = edge.target.with_credentials(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    answer = producer.client("kinesis").put_record(
        StreamName=edge.spec.client_stream, Data=b'{"reading": 1}', PartitionKey="sensor-1"
    )
    assert answer["SequenceNumber"]


@pytest.mark.parametrize(
    ("body", "status", "field", "says"),
    [
        ({"user": "x", "role": "admin"}, 400, "role", "unknown field"),
        ({"user": 42}, 400, "user", "must be a string"),
        ({"ttl_minutes": 30}, 400, "user", "'user' is required"),
        ({"user": "x", "ttl_minutes": "30"}, 400, "ttl_minutes", "must be an integer"),
        ({"user": "x", "ttl_minutes": True}, 400, "ttl_minutes", "must be an integer"),
        ({"user": "x", "ttl_minutes": 0}, 400, "ttl_minutes", "from 1 to 1440, got 0"),
        ({"user": "x", "ttl_minutes": 1441}, 400, "ttl_minutes", "from 1 to 1440, got 1441"),
        ({"user": "x", "ttl_minutes": 10**30}, 400, "ttl_minutes", "a number of 31 digits"),
        ({"user": "x", "ttl_minutes": 15.0}, 400, "ttl_minutes", "got 15.0"),
        ({"user": "x", "metadata": {"n": 10**25}}, 400, "metadata", "a number of 26 digits"),
        ({"user": "x", "metadata": [1]}, 400, "metadata", "must be an object"),
        ({"user": ""}, 400, "user", "must not be empty"),
        ([{"user": "x"}], 400, None, "must be a JSON object"),
    ],
)
def test_malformed_body_gets_400_naming_the_field(
    edge: EdgeStack, body: object, status: int, field: str | None, says: str
) -> None:
    """Each validation failure is a 4xx with a message (and the field) and no traceback."""
    answer = post_json(edge.auth_url, body)
    doc = answer.json()
    assert answer.status == status
    assert says in doc["message"]
    assert doc.get("field") == field
    assert "Traceback" not in answer.body.decode()


def test_non_json_body_gets_400(edge: EdgeStack) -> None:
    """A body that is not JSON is refused with the parser's reason."""
    answer = http(edge.auth_url, b"user=alice&ttl=30", content_type="application/x-www-form-urlencoded")
    assert answer.status == 400
    assert "not valid JSON" in answer.json()["message"]


def test_deeply_nested_body_gets_400(edge: EdgeStack) -> None:
    """JSON nested deeper than the parser goes is a client error, not a crash."""
    answer = http(edge.auth_url, b"[" * 8_000 + b"]" * 8_000, content_type="application/json")
    assert answer.status == 400
    assert "nested too deeply" in answer.json()["message"]


def test_empty_body_gets_400(edge: EdgeStack) -> None:
    """POST /auth without a body says what the body must be."""
    answer = http(edge.auth_url, b"")
    assert answer.status == 400
    assert "request body is required" in answer.json()["message"]


def test_oversized_body_gets_413_from_the_service(edge: EdgeStack) -> None:
    """Over 16 KiB the service refuses the body with 413 and says the limit."""
    answer = post_json(edge.auth_url, {"user": "x", "metadata": {"blob": "a" * 20_000}})
    assert answer.status == 413
    assert "the limit is 16384" in answer.json()["message"]


def test_body_over_10mb_gets_413_from_the_gateway(edge: EdgeStack) -> None:
    """Over API Gateway's 10 MB payload limit the gateway answers 413 itself."""
    answer = http(edge.auth_url, b"x" * (10 * 1024 * 1024 + 1), content_type="application/json")
    assert answer.status == 413
    assert answer.json() == {"message": "Request Entity Too Large"}


def test_unknown_route_gets_404_not_found(edge: EdgeStack) -> None:
    """A path no route matches gets API Gateway's 404."""
    answer = http(edge.auth_url.removesuffix("/auth") + "/tokens", b"{}")
    assert answer.status == 404
    assert answer.json() == {"message": "Not Found"}


def test_wrong_method_gets_404_not_found(edge: EdgeStack) -> None:
    """GET /auth matches no route (only POST /auth exists): 404 as in AWS."""
    answer = http(edge.auth_url, method="GET")
    assert answer.status == 404
    assert answer.json() == {"message": "Not Found"}


def test_unknown_stage_gets_404(edge: EdgeStack) -> None:
    """A stage that does not exist is not found either."""
    answer = http(edge.auth_url.replace("/prod/", "/staging/"), b"{}")
    assert answer.status == 404


def test_jwks_is_cacheable_and_lists_rsa_keys(edge: EdgeStack) -> None:
    """GET /.well-known/jwks.json: public RSA keys only, cacheable."""
    answer = http(edge.jwks_url)
    assert answer.status == 200
    assert "max-age" in answer.headers["cache-control"]
    keys = answer.json()["keys"]
    assert keys and all(k["kty"] == "RSA" and k["alg"] == "RS256" and "d" not in k for k in keys)


def test_access_logs_land_in_the_stage_log_group(edge: EdgeStack) -> None:
    """Each request is one line in /aws/apigateway/<api> in the stage's format."""
    answer = post_json(edge.auth_url, {"user": "logged", "ttl_minutes": 15})
    request_id = answer.headers["apigw-requestid"]
    lines = [json.loads(m) for m in edge.log_messages(edge.spec.api_log_group)]
    mine = [line for line in lines if line["requestId"] == request_id]
    assert len(mine) == 1
    assert mine[0]["routeKey"] == "POST /auth"
    assert mine[0]["status"] == "200"
    assert mine[0]["httpMethod"] == "POST"


def test_issuance_is_logged_by_the_function(edge: EdgeStack) -> None:
    """The function's log group holds START/END/REPORT and the issuance record."""
    issue_token(edge.auth_url, "audited-user", 15)
    messages = edge.log_messages(edge.spec.lambda_log_group)
    assert any("audited-user" in m and "token_issued" in m for m in messages)
    assert any(m.startswith("REPORT RequestId: ") for m in messages)


def test_second_deploy_changes_nothing(edge: EdgeStack) -> None:
    """The first deploy created every resource; deploying again finds them all in place."""
    from nexuskit.edge.auth import deploy_edge

    assert {s["state"] for s in edge.deploy_states} == {"created"}
    again = deploy_edge(edge.spec, edge.target)
    assert [(s["type"], s["name"]) for s in again] == [(s["type"], s["name"]) for s in edge.deploy_states]
    assert {s["state"] for s in again} == {"exists"}


def _decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, body, _ = token.split(".")

    def part(segment: str) -> dict[str, Any]:
        return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))

    return part(head), part(body)


def test_inventory_reports_the_edge_ready(edge: EdgeStack) -> None:
    """inventory_edge (for nexuskit status) finds the function, the API and its stage."""
    from nexuskit.edge.auth import inventory_edge

    states = {s["type"]: s for s in inventory_edge(edge.spec, edge.target)}
    assert {s["state"] for s in states.values()} == {"ready"}
    assert states["apigatewayv2.stage"]["detail"] + "/auth" == edge.auth_url


def test_auth_url_is_none_when_the_api_is_not_deployed(edge: EdgeStack) -> None:
    """A stack whose HTTP API does not exist has no auth URL (status shows null)."""
    from nexuskit.edge.auth import auth_url
    from tests.edge.conftest import edge_spec

    assert auth_url(edge_spec(environment="absent"), edge.target) is None


def test_local_auth_url_finds_the_stack_by_its_settings(edge: EdgeStack) -> None:
    """The lead's status wiring: KitSettings of the running stack -> its auth URL."""
    from nexuskit.config import KitSettings
    from nexuskit.edge.auth import local_auth_url

    settings = KitSettings(port=edge.engine.port, state_dir=edge.engine.state_dir)
    assert local_auth_url(settings) == edge.auth_url
    assert local_auth_url(KitSettings(port=1, state_dir=edge.engine.state_dir)) is None
