"""The engine serves moto's services without Flask: these tests hold its dispatcher and its
service apps to moto's own, request by request.

* the service each request goes to: the engine's :class:`EngineDispatcher` against moto's
  ``DomainDispatcherApplication``, for every service moto knows and every endpoint prefix
  botocore knows, signed and unsigned, with the paths and headers moto reads;
* the answers: the same requests through moto's Flask app of a service and through the
  engine's :class:`ServiceApp` give the same status, headers and body (request ids aside).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.test import Client, EnvironBuilder

from emulation.core.moto_compat import routing

REGIONS = ("us-east-1", "us-west-2", "eu-central-1")


def _auth(service: str, region: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261206/{region}/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )


def _environ(method: str = "GET", path: str = "/", **headers: str) -> Callable[[], dict[str, Any]]:
    """A maker of the request's environ (each dispatcher reads its own body stream)."""
    body = headers.pop("body", None)
    content_type = headers.pop("content_type", None)
    sent = {"Host": "127.0.0.1:4566", **headers}
    return lambda: EnvironBuilder(
        method=method, path=path, headers=sent, data=body, content_type=content_type
    ).get_environ()


def _signing_names() -> set[str]:
    """Every backend moto has, its signing aliases and every endpoint prefix botocore has."""
    from botocore.loaders import create_loader
    from moto.backend_index import backend_url_patterns
    from moto.moto_server.werkzeug_app import SIGNING_ALIASES

    names = {backend for backend, _pattern in backend_url_patterns}
    names |= set(SIGNING_ALIASES)
    for partition in create_loader().load_data("endpoints")["partitions"]:
        names |= set(partition["services"])
    return names


def _corpus() -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    for service in sorted(_signing_names()):
        for region in REGIONS:
            for path in ("/", "/v2/apis", "/v20180820/accesspoint", "/2015-03-31/functions/"):
                headers = {"Authorization": _auth(service, region)}
                if service.startswith("dynamodb"):
                    headers["X-Amz-Target"] = "DynamoDB_20120810.ListTables"
                yield f"{service} {region} {path}", _environ(path=path, **headers)
    for target in (
        "DynamoDBStreams_20120810.ListStreams",
        "DynamoDB_20111205.ListTables",
        "DynamoDB_20120810.GetItem",
    ):
        yield (
            target,
            _environ(method="POST", Authorization=_auth("dynamodb", "us-west-2"), **{"X-Amz-Target": target}),
        )
    s3_control = {
        "Authorization": _auth("s3", "us-west-2"),
        "Host": "123456789012.s3-control.us-west-2.amazonaws.com",
    }
    yield "s3 control host", _environ(**s3_control)
    yield "unsigned", _environ()
    yield "moto api", _environ(path="/moto-api/data.json", Authorization=_auth("s3", "us-east-1"))
    yield "instance metadata", _environ(path="/latest/meta-data/iam/")
    yield (
        "api gateway management",
        _environ(path="/@connections/abc", Authorization=_auth("execute-api", "us-east-1")),
    )
    yield "sigv2", _environ(Authorization="AWS AKIAEXAMPLE:c2lnbmF0dXJl")
    yield "malformed scope", _environ(Authorization="AWS4-HMAC-SHA256 Credential=AKIA/x/y, Signature=0")
    yield "cognito target", _environ(method="POST", **{"X-Amz-Target": "AWSCognitoIdentityService.GetId"})
    yield (
        "web identity",
        _environ(
            method="POST",
            body="Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
            content_type="application/x-www-form-urlencoded",
        ),
    )
    yield (
        "simpledb version",
        _environ(
            method="POST",
            body="Action=ListDomains&Version=2009-04-15",
            content_type="application/x-www-form-urlencoded",
        ),
    )
    yield "self call", _environ(path="/sqs_us-west-2/")


def test_every_request_goes_to_the_service_moto_would_serve_it_with() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    motos = DomainDispatcherApplication(lambda name: name)  # its "app" is the backend's name
    engine = routing.EngineDispatcher()
    checked = mismatched = 0
    for label, environ in _corpus():
        expected = motos.get_application(environ())
        if expected == "apigateway" and environ()["PATH_INFO"].startswith("/v2/"):
            expected = "apigatewayv2"  # the engine's one change (see routing.EngineDispatcher)
        got = engine.backend_name(environ())
        checked += 1
        if got != expected:
            mismatched += 1
            print(f"{label}: engine {got!r}, moto {expected!r}")
    assert checked > 1000 and mismatched == 0


def test_the_scope_rule_covers_none_of_the_services_moto_treats_apart() -> None:
    """The fast rule (service from the scope, host ``<service>.<region>.amazonaws.com``)
    must leave to moto every service moto's inference names, and use moto's aliases."""
    import inspect

    from moto.moto_server.werkzeug_app import SIGNING_ALIASES, DomainDispatcherApplication

    source = inspect.getsource(DomainDispatcherApplication.infer_service_region_host)
    named = set(re.findall(r'service(?:\.lower\(\))? == "([^"]+)"', source))
    for group in re.findall(r"service in \[([^\]]+)\]", source):
        named |= set(re.findall(r'"([^"]+)"', group))
    assert named, "moto's inference names no service: the scan needs updating"
    # s3 and ses are special only for some paths, execute-api for /@connections: routing
    # checks those paths itself; DynamoDB goes by its target (routing._dynamodb_backend)
    handled = {"s3", "ses", "execute-api", "dynamodb"}
    assert named - handled <= routing.SPECIAL_SERVICES, named - routing.SPECIAL_SERVICES
    assert routing.SIGNING_ALIASES == SIGNING_ALIASES


def test_dynamodb_is_routed_by_its_target_without_motos_dispatcher() -> None:
    engine = routing.EngineDispatcher()
    for target, expected in (
        ("DynamoDB_20120810.PutItem", "dynamodb"),
        ("DynamoDBStreams_20120810.GetRecords", "dynamodbstreams"),
        ("DynamoDB_20111205.GetItem", "dynamodb_v20111205"),
    ):
        environ = _environ(
            method="POST", Authorization=_auth("dynamodb", "us-east-1"), **{"X-Amz-Target": target}
        )
        assert engine.backend_name(environ()) == expected
    assert engine._motos is None  # moto's dispatcher (and Flask) never needed


def test_an_unknown_scope_is_left_to_moto() -> None:
    engine = routing.EngineDispatcher()
    environ = _environ(Authorization=_auth("no-such-service", "us-east-1"))
    assert routing._signed_scope(environ(), "/") == ("no-such-service", "us-east-1")
    assert routing._backend_for_scope("no-such-service", "us-east-1") is None
    assert engine.backend_name(environ()) is None  # as moto: no backend (its app then fails)


# -- the answers ---------------------------------------------------------------------------------
_VOLATILE = re.compile(
    rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9]{52}|[A-Z0-9]{16}"
)
_VOLATILE_HEADERS = {"x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "date", "x-amzn-trace-id"}


def _answer(app: Any, method: str, path: str, service: str, **kwargs: Any) -> tuple[Any, ...]:
    """Status, headers and body (request ids masked), or the exception the app raised."""
    headers = {"Authorization": _auth(service, "us-east-1"), **kwargs.pop("headers", {})}
    try:
        response = Client(app).open(path, method=method, headers=headers, **kwargs)
    except Exception as exc:  # Flask in debug mode (as moto runs it) raises to the server
        return "raised", type(exc), str(exc)
    kept = sorted(
        (name.lower(), _VOLATILE.sub(b"~", value.encode()).decode()) for name, value in response.headers
    )
    return (
        response.status_code,
        [h for h in kept if h[0] not in _VOLATILE_HEADERS],
        _VOLATILE.sub(b"~", response.data),
    )


def _target(name: str) -> dict[str, str]:
    return {"X-Amz-Target": name, "Content-Type": "application/x-amz-json-1.1"}


REQUESTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("s3", "GET", "/", {}),
    ("s3", "GET", "/parity-no-such-bucket/key", {}),
    ("s3", "HEAD", "/parity-no-such-bucket/key", {}),
    ("s3", "HEAD", "/parity-bucket/object", {}),
    ("s3", "GET", "/parity-bucket/object", {}),
    ("s3", "GET", "/parity-bucket?list-type=2", {}),
    ("s3", "PUT", "/parity-bucket", {"data": b"<not-xml"}),
    (
        "sts",
        "POST",
        "/",
        {
            "data": "Action=GetCallerIdentity&Version=2011-06-15",
            "content_type": "application/x-www-form-urlencoded",
        },
    ),
    (
        "sts",
        "POST",
        "/",
        {
            "data": "Action=NoSuchAction&Version=2011-06-15",
            "content_type": "application/x-www-form-urlencoded",
        },
    ),
    ("kinesis", "POST", "/", {"data": "{}", "headers": _target("Kinesis_20131202.ListStreams")}),
    (
        "kinesis",
        "POST",
        "/",
        {"data": json.dumps({"StreamName": "absent"}), "headers": _target("Kinesis_20131202.DescribeStream")},
    ),
    ("lambda", "GET", "/2015-03-31/functions/", {}),
    ("lambda", "GET", "/2015-03-31/functions/absent", {}),
    ("lambda", "GET", "/no/such/route", {}),
    (
        "iam",
        "POST",
        "/",
        {
            "data": "Action=GetRole&RoleName=absent&Version=2010-05-08",
            "content_type": "application/x-www-form-urlencoded",
        },
    ),
]


@pytest.fixture(scope="module")
def apps() -> dict[str, tuple[Any, Any]]:
    """Per service: moto's Flask app (CORS off, as in the engine) and the engine's app, over
    the same backends."""
    from moto.moto_server import werkzeug_app

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(werkzeug_app, "DISABLE_GLOBAL_CORS", True)
        made = {
            name: (werkzeug_app.create_backend_app(name), routing.ServiceApp(name))
            for name in {r[0] for r in REQUESTS}
        }
    flask_s3, _ = made["s3"]
    _answer(flask_s3, "PUT", "/parity-bucket", "s3")
    _answer(
        flask_s3,
        "PUT",
        "/parity-bucket/object",
        "s3",
        data=b"a body",
        headers={"Content-Type": "text/x-parity"},
    )
    return made


@pytest.mark.parametrize(("service", "method", "path", "kwargs"), REQUESTS, ids=lambda v: str(v)[:40])
def test_the_engine_answers_as_motos_flask_app(
    apps: dict[str, tuple[Any, Any]], service: str, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    flask_app, engine_app = apps[service]
    motos = _answer(flask_app, method, path, service, **dict(kwargs))
    ours = _answer(engine_app, method, path, service, **dict(kwargs))
    assert ours == motos


def test_head_keeps_the_length_the_handler_gave(apps: dict[str, tuple[Any, Any]]) -> None:
    status, headers, body = _answer(apps["s3"][1], "HEAD", "/parity-bucket/object", "s3")
    assert status == 200 and ("content-length", "6") in headers and body == b""
    assert ("content-type", "text/x-parity") in headers


def test_an_error_outside_moto_reaches_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flask in debug mode (as moto runs it) lets an unexpected exception through to the
    server; so does the engine's app: the engine answers it (500, InternalError)."""
    app = routing.ServiceApp("sts")

    def broken(*_args: Any) -> Any:
        raise RuntimeError("the handler broke")

    monkeypatch.setattr(app, "handlers", [broken] * len(app.handlers))
    assert _answer(app, "POST", "/", "sts", data="Action=GetCallerIdentity") == (
        "raised",
        RuntimeError,
        "the handler broke",
    )


def test_every_request_reaches_the_installed_recorder() -> None:
    """moto's recorder is looked up per request, as moto's Flask wrapper does: the engine's
    redacting recorder sees the request, signature removed."""
    import moto.moto_api

    from emulation.core.motoapi import RedactingRecorder

    recorder = RedactingRecorder()
    previous = moto.moto_api.recorder
    routing.install_recorder(recorder)
    try:
        recorder.start()
        _answer(
            routing.ServiceApp("sts"),
            "POST",
            "/",
            "sts",
            data="Action=GetCallerIdentity&Version=2011-06-15",
            content_type="application/x-www-form-urlencoded",
        )
    finally:
        moto.moto_api.recorder = previous
    entries = [json.loads(line) for line in recorder.download().splitlines()]
    assert len(entries) == 1
    assert base64.b64decode(entries[0]["body"]).startswith(b"Action=GetCallerIdentity")
    assert entries[0]["headers"]["Authorization"] == "REDACTED" and "0" * 64 not in json.dumps(entries[0])
