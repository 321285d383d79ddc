"""What a web page in the developer's browser can get out of the engine: CORS and DNS rebinding.

moto's apps echoed any ``Origin`` in ``Access-Control-Allow-Origin``, so every page could
read the engine's answers; and the engine answered any ``Host``, so a name rebound to
127.0.0.1 made the page same-origin with it. Now CORS is AWS's (S3 per bucket
configuration, nothing elsewhere) and foreign host names are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.helpers import REGION, EngineProcess, RawResponse, raw_request, sign_headers

APP_ORIGIN = "http://app.example.test"
FOREIGN_ORIGIN = "http://evil.example"
OPEN_BUCKET = "cors-configured-bucket"
CLOSED_BUCKET = "cors-free-bucket"
KEY = "data.json"
RULE = {
    "AllowedOrigins": [APP_ORIGIN],
    "AllowedMethods": ["GET", "PUT"],
    "AllowedHeaders": ["authorization", "x-amz-*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 600,
}
REBOUND = "rebind.attacker.example"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """An enforcing engine with a bucket that has CORS rules and one that has none."""
    running = EngineProcess(tmp_path_factory.mktemp("cors")).start()
    try:
        s3 = running.target().client("s3")
        for bucket in (OPEN_BUCKET, CLOSED_BUCKET):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_object(Bucket=bucket, Key=KEY, Body=b'{"private": true}')
        s3.put_bucket_cors(Bucket=OPEN_BUCKET, CORSConfiguration={"CORSRules": [RULE]})
        running.target().client("kinesis").create_stream(StreamName="cors-stream", ShardCount=1)
        yield running
    finally:
        running.stop()


def _cors(answer: RawResponse) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.startswith("access-control-")}


def _signed(engine: EngineProcess, method: str, path: str, service: str, **headers: str) -> RawResponse:
    body = headers.pop("body", "").encode()
    signed = sign_headers(engine.target(), method, engine.endpoint + path, service, body, headers)
    return raw_request(engine.endpoint, method, path, body, signed)


def _preflight(engine: EngineProcess, path: str, origin: str, method: str, headers: str = "") -> RawResponse:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return raw_request(engine.endpoint, "OPTIONS", path, b"", asked)


# -- services other than S3 never echo an origin -------------------------------------------
def test_kinesis_answers_carry_no_cors_headers(engine: EngineProcess) -> None:
    """A Kinesis call with a foreign Origin succeeds without any Access-Control-* header."""
    answer = _signed(
        engine,
        "POST",
        "/",
        "kinesis",
        body='{"StreamName": "cors-stream"}',
        Origin=FOREIGN_ORIGIN,
        **{
            "X-Amz-Target": "Kinesis_20131202.DescribeStreamSummary",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert answer.status == 200
    assert _cors(answer) == {}


def test_sts_answers_carry_no_cors_headers(engine: EngineProcess) -> None:
    """An STS call with a foreign Origin gets no Access-Control-Allow-Origin."""
    answer = _signed(
        engine,
        "POST",
        "/",
        "sts",
        body="Action=GetCallerIdentity&Version=2011-06-15",
        Origin=FOREIGN_ORIGIN,
        **{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert answer.status == 200
    assert _cors(answer) == {}


def test_a_preflight_to_another_service_gets_no_allow_headers(engine: EngineProcess) -> None:
    """OPTIONS addressed to Kinesis by its AWS host name: no Access-Control-* header."""
    answer = raw_request(
        engine.endpoint,
        "OPTIONS",
        "/",
        b"",
        {
            "Host": f"kinesis.{REGION}.amazonaws.com:{engine.port}",
            "Origin": FOREIGN_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,authorization",
        },
    )
    assert _cors(answer) == {}


def test_a_preflight_to_the_engine_root_is_refused(engine: EngineProcess) -> None:
    """A page's preflight to http://127.0.0.1:<port>/ (no bucket) is 403, no allow headers."""
    answer = _preflight(engine, "/", FOREIGN_ORIGIN, "POST", "content-type,x-amz-target")
    assert answer.status == 403
    assert _cors(answer) == {}


# -- S3 without CORS configuration ----------------------------------------------------------
def test_s3_without_cors_configuration_echoes_no_origin(engine: EngineProcess) -> None:
    """A GET with a foreign Origin on a bucket without CORS rules: 200, no CORS headers."""
    answer = _signed(engine, "GET", f"/{CLOSED_BUCKET}/{KEY}", "s3", Origin=FOREIGN_ORIGIN)
    assert answer.status == 200
    assert _cors(answer) == {}


def test_s3_preflight_without_cors_configuration_is_refused(engine: EngineProcess) -> None:
    """Preflight on a bucket without CORS rules: 403 AccessForbidden, as S3 answers it."""
    answer = _preflight(engine, f"/{CLOSED_BUCKET}/{KEY}", APP_ORIGIN, "GET")
    assert answer.status == 403
    assert b"<Code>AccessForbidden</Code>" in answer.body and b"CORS is not enabled" in answer.body
    assert _cors(answer) == {}


# -- S3 with CORS rules ------------------------------------------------------------------------
def test_s3_preflight_gets_exactly_the_buckets_rule(engine: EngineProcess) -> None:
    """An allowed preflight gets the rule's origin, methods, headers, expose and max-age."""
    answer = _preflight(engine, f"/{OPEN_BUCKET}/{KEY}", APP_ORIGIN, "PUT", "authorization,x-amz-date")
    assert answer.status == 200
    assert _cors(answer) == {
        "access-control-allow-origin": APP_ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",
        "access-control-allow-headers": "authorization, x-amz-date",
        "access-control-expose-headers": "ETag",
        "access-control-max-age": "600",
    }


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        (FOREIGN_ORIGIN, "GET", ""),
        (APP_ORIGIN, "DELETE", ""),
        (APP_ORIGIN, "GET", "x-custom-header"),
    ],
)
def test_s3_preflight_outside_the_rules_is_refused(
    engine: EngineProcess, origin: str, method: str, headers: str
) -> None:
    """A foreign origin, a method or a header the rule does not allow: 403, no CORS headers."""
    answer = _preflight(engine, f"/{OPEN_BUCKET}/{KEY}", origin, method, headers)
    assert answer.status == 403
    assert b"CORSResponse" in answer.body
    assert _cors(answer) == {}


def test_s3_actual_request_from_an_allowed_origin_gets_the_rule(engine: EngineProcess) -> None:
    """A GET from the rule's origin carries the rule's CORS headers."""
    answer = _signed(engine, "GET", f"/{OPEN_BUCKET}/{KEY}", "s3", Origin=APP_ORIGIN)
    assert answer.status == 200
    assert _cors(answer) == {
        "access-control-allow-origin": APP_ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",
        "access-control-expose-headers": "ETag",
        "access-control-max-age": "600",
    }


def test_s3_actual_request_from_a_foreign_origin_gets_nothing(engine: EngineProcess) -> None:
    """The same GET from a foreign origin: no CORS headers (the browser hides the answer)."""
    answer = _signed(engine, "GET", f"/{OPEN_BUCKET}/{KEY}", "s3", Origin=FOREIGN_ORIGIN)
    assert _cors(answer) == {}


# -- DNS rebinding -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/_nexus/health", b""),
        ("GET", f"/{OPEN_BUCKET}/{KEY}", b""),
        ("POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15"),
    ],
)
def test_a_rebound_host_name_is_refused(engine: EngineProcess, method: str, path: str, body: bytes) -> None:
    """Requests for a name the attacker rebound to 127.0.0.1 get 403 naming the host."""
    headers = {"Host": f"{REBOUND}:{engine.port}", "Content-Type": "application/x-www-form-urlencoded"}
    answer = raw_request(engine.endpoint, method, path, body, headers)
    assert answer.status == 403
    message = answer.json()["message"]
    assert REBOUND in message and "--allowed-hosts" in message
    assert b"private" not in answer.body


def test_the_engines_own_names_are_answered(engine: EngineProcess) -> None:
    """localhost, LocalStack's name and a virtual-host S3 name keep working."""
    for host in ("localhost", "localhost.localstack.cloud", f"{OPEN_BUCKET}.s3.localhost.localstack.cloud"):
        answer = raw_request(engine.endpoint, "GET", "/_nexus/health", b"", {"Host": f"{host}:{engine.port}"})
        assert (host, answer.status) == (host, 200)


def test_allowed_hosts_adds_a_name(engine_factory: Callable[..., EngineProcess]) -> None:
    """--allowed-hosts admits a name the user chose (and only that one)."""
    allowing = engine_factory("--allowed-hosts", "dev.example.test")
    ok = raw_request(
        allowing.endpoint, "GET", "/_nexus/health", b"", {"Host": f"dev.example.test:{allowing.port}"}
    )
    refused = raw_request(
        allowing.endpoint, "GET", "/_nexus/health", b"", {"Host": f"{REBOUND}:{allowing.port}"}
    )
    assert (ok.status, refused.status) == (200, 403)
