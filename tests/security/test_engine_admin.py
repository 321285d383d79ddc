"""The engine's admin surface (``/_nexus/*`` and moto's ``/moto-api/*``) from the attacker's side.

Findings 1-3 and the health disclosure of issue 22: anything on the laptop could reset the
engine, read its model data, and record then replay every signed request (the auth
Lambda's ``GetSecretValue`` included) or make the engine send requests anywhere. Each test
plays a hostile local client against a real engine process and checks what it sees and
that nothing changed.
"""

from __future__ import annotations

import base64
import json
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.engine import EmbeddedEngine
from tests.helpers import (
    ADMIN_SECRET,
    EngineProcess,
    RawResponse,
    free_port,
    raw_request,
    sign_headers,
)

STREAM = "admin-surface-stream"
BUCKET = "admin-surface-bucket"
OBJECT_KEY = "kept.json"
SECRET_NAME = "nexus-dev/jwt-signing-key"
SECRET_VALUE = "-----BEGIN PRIVATE KEY-----not-for-anyone-----END PRIVATE KEY-----"
FOREIGN_ORIGIN = "http://evil.example"
DISABLED = "the moto API is disabled; start the engine with --moto-api (admin-signed requests only)"
MOTO_API_ROUTES = [
    ("POST", "/moto-api/reset"),
    ("POST", "/moto-api/reset-auth"),
    ("POST", "/moto-api/seed?a=42"),
    ("GET", "/moto-api/config"),
    ("POST", "/moto-api/config"),
    ("GET", "/moto-api/data.json"),
    ("POST", "/moto-api/recorder/start-recording"),
    ("POST", "/moto-api/recorder/stop-recording"),
    ("GET", "/moto-api/recorder/download-recording"),
    ("POST", "/moto-api/recorder/upload-recording"),
    ("POST", "/moto-api/recorder/replay-recording"),
    ("GET", "/moto-api/"),
]
NEXUS_ROUTES = [("POST", "/_nexus/reset"), ("POST", "/_nexus/snapshot"), ("GET", "/_nexus/health")]


def _provision(engine: EngineProcess) -> None:
    admin = engine.target()
    admin.client("kinesis").create_stream(StreamName=STREAM, ShardCount=1)
    s3 = admin.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket=BUCKET, Key=OBJECT_KEY, Body=b'{"kept": true}')
    admin.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)


def _assert_intact(engine: EngineProcess) -> None:
    """The stream, the object and the secret are all still there."""
    admin = engine.target()
    assert admin.client("kinesis").describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]
    body = admin.client("s3").get_object(Bucket=BUCKET, Key=OBJECT_KEY)["Body"].read()
    assert body == b'{"kept": true}'
    value = admin.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)["SecretString"]
    assert value == SECRET_VALUE


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """An engine as ``nexuskit up`` starts it (IAM enforced, moto API off), provisioned."""
    running = EngineProcess(tmp_path_factory.mktemp("admin-default")).start()
    try:
        _provision(running)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def debug_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """An engine started with ``--moto-api`` (debugging), provisioned."""
    running = EngineProcess(tmp_path_factory.mktemp("admin-debug"), "--moto-api").start()
    try:
        _provision(running)
        yield running
    finally:
        running.stop()


def _admin_signed(
    engine: EngineProcess, method: str, path: str, body: bytes = b"", **headers: str
) -> RawResponse:
    signed = sign_headers(engine.target(), method, engine.endpoint + path, "nexuskit", body, headers)
    return raw_request(engine.endpoint, method, path, body, signed)


def _recording_file() -> tuple[bool, float]:
    """moto's own recorder file in the engine's working directory (the tests' cwd)."""
    path = Path.cwd() / "moto_recording"
    return (True, path.stat().st_mtime) if path.exists() else (False, 0.0)


# -- /moto-api ----------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), MOTO_API_ROUTES)
def test_moto_api_is_off_by_default(engine: EngineProcess, method: str, path: str) -> None:
    """Every /moto-api route answers 404 "disabled" to an anonymous caller; state intact."""
    answer = raw_request(engine.endpoint, method, path, b"{}" if method == "POST" else b"")
    assert answer.status == 404
    assert answer.json() == {"message": DISABLED}
    _assert_intact(engine)


def test_moto_api_stays_off_for_the_admin_too(engine: EngineProcess) -> None:
    """Without --moto-api even an admin-signed reset is refused (404) and changes nothing."""
    answer = _admin_signed(engine, "POST", "/moto-api/reset")
    assert answer.status == 404 and answer.json() == {"message": DISABLED}
    _assert_intact(engine)


@pytest.mark.parametrize(("method", "path"), MOTO_API_ROUTES)
def test_moto_api_refuses_anonymous_callers_when_enabled(
    debug_engine: EngineProcess, method: str, path: str
) -> None:
    """With --moto-api, an unsigned call to any route is 403; state intact."""
    answer = raw_request(debug_engine.endpoint, method, path, b"{}" if method == "POST" else b"")
    assert answer.status == 403
    assert "admin" in answer.json()["message"]
    _assert_intact(debug_engine)


def test_moto_api_refuses_a_signature_of_another_identity(debug_engine: EngineProcess) -> None:
    """A valid SigV4 signature by an IAM user (not the admin) does not open /moto-api."""
    user = _iam_user(debug_engine, "moto-api-prober")
    signed = sign_headers(user, "POST", debug_engine.endpoint + "/moto-api/reset", "nexuskit")
    answer = raw_request(debug_engine.endpoint, "POST", "/moto-api/reset", b"", signed)
    assert answer.status == 403
    _assert_intact(debug_engine)


def test_moto_api_refuses_a_foreign_origin_even_signed_by_the_admin(debug_engine: EngineProcess) -> None:
    """An admin-signed request that carries an Origin (a browser's) is refused."""
    answer = _admin_signed(debug_engine, "GET", "/moto-api/data.json", Origin=FOREIGN_ORIGIN)
    assert answer.status == 403
    assert "access-control-allow-origin" not in answer.headers
    assert SECRET_VALUE.encode() not in answer.body


def test_key_theft_chain_is_refused(engine: EngineProcess) -> None:
    """Finding 1: start the recorder, let the auth Lambda read its key, download the
    recording - every step is refused and the secret never leaves the engine."""
    before = _recording_file()
    start = raw_request(engine.endpoint, "POST", "/moto-api/recorder/start-recording")
    engine.target().client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)
    download = raw_request(engine.endpoint, "GET", "/moto-api/recorder/download-recording")
    assert (start.status, download.status) == (404, 404)
    assert SECRET_VALUE.encode() not in download.body and b"Authorization" not in download.body
    assert _recording_file() == before


def test_a_recording_holds_no_credentials_and_no_secret_values(debug_engine: EngineProcess) -> None:
    """With --moto-api the admin may record, but a downloaded recording carries no
    Authorization, session token, presigned signature or secret value - nothing to replay."""
    assert _admin_signed(debug_engine, "POST", "/moto-api/recorder/start-recording").status == 200
    admin = debug_engine.target()
    session = admin.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    temporary = admin.with_credentials(
        session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
    )
    temporary.client("secretsmanager").put_secret_value(SecretId=SECRET_NAME, SecretString=SECRET_VALUE)
    temporary.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)
    url = admin.client("s3", signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": OBJECT_KEY}, ExpiresIn=300
    )
    presigned = urlsplit(url)
    assert raw_request(debug_engine.endpoint, "GET", f"{presigned.path}?{presigned.query}").status == 200
    url_signature = parse_qs(presigned.query)["X-Amz-Signature"][0]
    _admin_signed(debug_engine, "POST", "/moto-api/recorder/stop-recording")
    download = _admin_signed(debug_engine, "GET", "/moto-api/recorder/download-recording")
    assert download.status == 200
    entries = [json.loads(line) for line in download.body.decode().splitlines()]
    targets = [_header(e, "x-amz-target") for e in entries]
    assert "secretsmanager.GetSecretValue" in targets and "secretsmanager.PutSecretValue" in targets
    recorded = download.body.decode() + "".join(_body(e) for e in entries)
    for secret in (
        SECRET_VALUE,
        session["SessionToken"],
        session["SecretAccessKey"],
        ADMIN_SECRET,
        url_signature,
    ):
        assert secret not in recorded
    assert "X-Amz-Signature=REDACTED" in recorded
    assert {_header(e, "authorization") for e in entries} <= {"REDACTED", None}


def test_recorder_upload_and_replay_are_refused_even_for_the_admin(debug_engine: EngineProcess) -> None:
    """Finding 3: an uploaded recording pointing at a loopback listener is refused, replay
    is refused, no connection reaches the listener and nothing is written to the cwd."""
    before = _recording_file()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        target = f"http://127.0.0.1:{listener.getsockname()[1]}/steal"
        line = json.dumps(
            {"method": "POST", "url": target, "headers": {}, "body": "x", "body_encoded": False}
        )
        upload = _admin_signed(debug_engine, "POST", "/moto-api/recorder/upload-recording", line.encode())
        replay = _admin_signed(debug_engine, "POST", "/moto-api/recorder/replay-recording")
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # no connection is waiting
    assert (upload.status, replay.status) == (403, 403)
    assert _recording_file() == before


def test_moto_api_reset_works_for_the_admin(engine_factory: Callable[..., EngineProcess]) -> None:
    """With --moto-api an admin-signed POST /moto-api/reset resets the engine (the feature
    still works for the one it is meant for)."""
    debug = engine_factory("--moto-api")
    _provision(debug)
    assert _admin_signed(debug, "POST", "/moto-api/reset").status == 200
    with pytest.raises(ClientError):
        debug.target().client("kinesis").describe_stream_summary(StreamName=STREAM)


# -- /_nexus --------------------------------------------------------------------------------
def test_anonymous_health_says_only_ok(engine: EngineProcess) -> None:
    """An unauthenticated GET /_nexus/health is exactly {"status": "ok"}: no pid, no path."""
    answer = raw_request(engine.endpoint, "GET", "/_nexus/health")
    assert answer.status == 200
    assert answer.json() == {"status": "ok"}


@pytest.mark.parametrize(("method", "path"), NEXUS_ROUTES[:2])
def test_nexus_refuses_anonymous_callers(engine: EngineProcess, method: str, path: str) -> None:
    """POST /_nexus/reset and /_nexus/snapshot without credentials: 403, state intact."""
    answer = raw_request(engine.endpoint, method, path)
    assert answer.status == 403 and "admin" in answer.json()["message"]
    _assert_intact(engine)


@pytest.mark.parametrize(("method", "path"), NEXUS_ROUTES)
def test_nexus_refuses_text_plain_simple_requests(engine: EngineProcess, method: str, path: str) -> None:
    """A web page's simple request (text/plain body, foreign Origin) is refused; state intact."""
    headers = {"Content-Type": "text/plain", "Origin": FOREIGN_ORIGIN}
    answer = raw_request(engine.endpoint, method, path, b"reset please", headers)
    assert answer.status == 403
    assert "access-control-allow-origin" not in answer.headers
    _assert_intact(engine)


@pytest.mark.parametrize(("method", "path"), NEXUS_ROUTES)
def test_nexus_refuses_a_foreign_origin_even_with_admin_credentials(
    engine: EngineProcess, method: str, path: str
) -> None:
    """An Origin header closes /_nexus even to a valid admin signature."""
    answer = _admin_signed(engine, method, path, Origin=FOREIGN_ORIGIN)
    assert answer.status == 403
    assert b"pid" not in answer.body
    _assert_intact(engine)


@pytest.mark.parametrize(("method", "path"), NEXUS_ROUTES)
def test_nexus_refuses_a_wrong_bearer_token(engine: EngineProcess, method: str, path: str) -> None:
    """A bearer token that is not the engine's: 403 (health included); state intact."""
    headers = {"Authorization": "Bearer " + "x" * 43}
    answer = raw_request(engine.endpoint, method, path, b"", headers)
    assert answer.status == 403 and b"pid" not in answer.body
    _assert_intact(engine)


@pytest.mark.parametrize(("method", "path"), NEXUS_ROUTES)
def test_nexus_refuses_a_signature_of_another_identity(engine: EngineProcess, method: str, path: str) -> None:
    """A valid SigV4 signature by an IAM user of the engine is not the admin's: 403."""
    user = _iam_user(engine, "nexus-prober")
    signed = sign_headers(user, method, engine.endpoint + path, "nexuskit")
    answer = raw_request(engine.endpoint, method, path, b"", signed)
    assert answer.status == 403 and b"pid" not in answer.body
    _assert_intact(engine)


def test_the_engine_token_opens_the_full_health(engine: EngineProcess) -> None:
    """The bearer token in <state_dir>/engine-token (0600) gets the full document."""
    token_file = engine.state_dir / "engine-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    answer = raw_request(engine.endpoint, "GET", "/_nexus/health", b"", {"Authorization": f"Bearer {token}"})
    assert answer.status == 200 and answer.json()["pid"] > 0


def test_health_and_logs_hold_no_secrets(engine: EngineProcess) -> None:
    """The admin's health document, the engine log and the IAM denial log carry no secret
    key, engine token, session token or signature - also after a denied call."""
    user = _iam_user(engine, "log-prober")
    session = engine.target().client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    url = engine.endpoint + "/"
    body = b"{}"
    headers = {"X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1"}
    signed = sign_headers(user, "POST", url, "kinesis", body, headers)
    assert raw_request(engine.endpoint, "POST", "/", body, signed).status == 400  # denied
    signature = signed["Authorization"].rsplit("Signature=", 1)[1]
    health = json.dumps(engine.health())
    logs = "".join(p.read_text(errors="replace") for p in engine.state_dir.rglob("*.log*") if p.is_file())
    logs += (engine.state_dir / "logs" / "iam-denials.jsonl").read_text()
    token = (engine.state_dir / "engine-token").read_text().strip()
    for secret in (ADMIN_SECRET, token, session["SessionToken"], user.secret_access_key, signature):
        assert secret not in health
        assert secret not in logs


def test_stack_files_are_the_owners_alone(tmp_path: Path) -> None:
    """`nexuskit up`'s engine: state dir and folders 0700; credentials.json, engine.json,
    engine.pid, the log, engine-token and every snapshot file 0600; the token goes at stop."""
    engine = EmbeddedEngine(KitSettings(port=free_port(), state_dir=tmp_path / "stack"))
    engine.start()
    try:
        s3 = engine.target("us-west-2").client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        assert engine.admin_request("POST", "/_nexus/snapshot")[0] == 200
        health = engine.health()
        assert health is not None and health["pid"] > 0
        root = engine.state_dir
        for path in [root, *root.rglob("*")]:
            if path.name == ".nexuskit-state":
                continue
            expected = 0o700 if path.is_dir() else 0o600
            assert stat.S_IMODE(path.stat().st_mode) == expected, path
        assert (root / "engine-token").exists() and (root / "credentials.json").exists()
    finally:
        engine.stop()
    assert not (engine.state_dir / "engine-token").exists()


def test_up_with_moto_api_serves_it_to_the_stacks_admin_only(tmp_path: Path) -> None:
    """KitSettings(moto_api=True) (``up --moto-api``, NEXUSKIT_MOTO_API) starts the engine
    with the moto API: the stack's admin reads it, an anonymous caller gets 403."""
    engine = EmbeddedEngine(KitSettings(port=free_port(), state_dir=tmp_path / "stack", moto_api=True))
    engine.start()
    try:
        status, _ = engine.admin_request("GET", "/moto-api/data.json")
        anonymous = raw_request(engine.endpoint, "GET", "/moto-api/data.json")
        health = engine.health()
    finally:
        engine.stop()
    assert (status, anonymous.status) == (200, 403)
    assert health is not None and health["settings"]["moto_api"] is True


# -- helpers --------------------------------------------------------------------------------
_USERS: dict[tuple[int, str], AwsTarget] = {}


def _iam_user(engine: EngineProcess, name: str) -> AwsTarget:
    """An IAM user of the engine with no permissions at all (one per engine and name)."""
    if (engine.port, name) not in _USERS:
        iam = engine.target().client("iam")
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        user = engine.target().with_credentials(key["AccessKeyId"], key["SecretAccessKey"])
        _USERS[engine.port, name] = user
    return _USERS[engine.port, name]


def _header(entry: dict[str, Any], name: str) -> str | None:
    return next((v for k, v in entry["headers"].items() if k.lower() == name), None)


def _body(entry: dict[str, Any]) -> str:
    raw = entry.get("body") or ""
    return base64.b64decode(raw).decode("utf-8", "replace") if entry.get("body_encoded") else str(raw)
