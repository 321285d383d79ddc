"""moto's ``/moto-api``: off by default, the admin's alone when on, and never a way out.

moto serves a debugging API on every port it listens on: reset, seeding, configuration,
a dashboard of every model's data, and a request recorder that can replay what it
recorded. On a laptop that is a way to wipe or read the stack, and (with the recorder)
to steal signed requests or make the engine send requests anywhere. So:

* the engine answers ``/moto-api/*`` only when started with ``--moto-api`` and only to
  its admin (:mod:`emulation.core.admin`); otherwise ``404`` (disabled) or ``403``;
* ``POST /moto-api/reset`` is the engine's own reset (extensions and persisted state
  too, like ``/_nexus/reset``), so the two never disagree;
* the recorder is the engine's :class:`RedactingRecorder`, installed in place of moto's
  (by :func:`emulation.core.moto_compat.install_recorder`). It keeps its entries in
  memory - nothing is written to the working directory - and removes, before anything is
  kept: ``Authorization``, ``X-Amz-Security-Token`` and cookies; presigned URLs'
  signatures, credentials and tokens; secret values in JSON and form bodies
  (``SecretString``, ``SecretBinary``, passwords, secret keys, SecureString values...).
  Download returns moto's format (one JSON object per line);
* ``upload-recording`` and ``replay-recording`` are always refused: no endpoint of the
  engine sends a request a client chose.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Response

from emulation.core.exceptions import engine_refusal
from emulation.core.moto_compat import install_recorder
from emulation.core.request import AwsRequest

PREFIX = "/moto-api"
DISABLED = "the moto API is disabled; start the engine with --moto-api (admin-signed requests only)"
NO_REPLAY = (
    "refused: the engine never sends requests a client chose, nor writes uploads to disk "
    "(recorder upload and replay are not available)"
)
REDACTED = "REDACTED"
#: entries the recorder keeps (the oldest go first)
RECORDER_LIMIT = 10_000
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-amz-security-token", "cookie"})
SECRET_QUERY = frozenset(
    {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid"}
)
#: request fields whose values are secrets (JSON keys, or the last part of a form key)
SECRET_FIELDS = frozenset(
    {
        "SecretString",
        "SecretBinary",
        "Password",
        "OldPassword",
        "NewPassword",
        "ProposedPassword",
        "PreviousPassword",
        "SecretAccessKey",
        "SessionToken",
        "PrivateKey",
        "ClientSecret",
        "SecretHash",
        "Plaintext",
        "AuthParameters",
        "ChallengeResponses",
    }
)


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        secure = str(value.get("Type", "")) == "SecureString"
        return {
            key: REDACTED if key in SECRET_FIELDS or (secure and key == "Value") else _redact_json(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(item) for item in value]
    return value


def redact_body(body: bytes, content_type: str) -> bytes:
    """The body with secret values replaced (JSON and form bodies; others as they are)."""
    if not body:
        return body
    if "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        secure = any(k == "Type" and v == "SecureString" for k, v in pairs)
        cleaned = [
            (k, REDACTED if k.rsplit(".", 1)[-1] in SECRET_FIELDS or (secure and k == "Value") else v)
            for k, v in pairs
        ]
        return urlencode(cleaned).encode()
    if body.lstrip()[:1] in (b"{", b"["):
        try:
            return json.dumps(_redact_json(json.loads(body))).encode()
        except ValueError:
            return body
    return body


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    cleaned = [(k, REDACTED if k.lower() in SECRET_QUERY else v) for k, v in pairs]
    return urlunsplit(parts._replace(query=urlencode(cleaned)))


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: REDACTED if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


class RedactingRecorder:
    """Stands in for moto's ``Recorder``: in memory, redacted, never replays.

    moto calls ``_record_request(request)`` for every request its apps serve.
    """

    def __init__(self, limit: int = RECORDER_LIMIT) -> None:
        self._entries: deque[str] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self.recording = False

    def _record_request(self, request: Any, body: bytes | None = None) -> None:
        if not self.recording or str(getattr(request, "path", "")).startswith(PREFIX):
            return
        if body is None:
            body = _read_body(request.environ)
        headers = {str(k): str(v) for k, v in dict(request.headers).items()}
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        cleaned = redact_body(body, content_type)
        entry = {
            "headers": redact_headers(headers),
            "method": request.method,
            "url": redact_url(str(getattr(request, "raw_url", None) or request.url)),
            "body": base64.b64encode(cleaned).decode("ascii") if cleaned else "",
            "body_encoded": bool(cleaned),
        }
        with self._lock:
            self._entries.append(json.dumps(entry))

    def start(self) -> None:
        self.recording = True

    def stop(self) -> None:
        self.recording = False

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def download(self) -> str:
        with self._lock:
            return "".join(line + "\n" for line in self._entries)


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size <= 0:
        return b""
    stream = environ["wsgi.input"]
    data = stream.read(size)
    environ["wsgi.input"] = io.BytesIO(data)  # moto reads it again
    return bytes(data)


class MotoApi:
    """The engine's front of ``/moto-api`` (authentication is the caller's, see EngineApp)."""

    def __init__(self, enabled: bool, reset: Callable[[], None]) -> None:
        self.enabled = enabled
        self.recorder = RedactingRecorder()
        self._reset = reset
        install_recorder(self.recorder)

    def answer(self, request: AwsRequest) -> Response | None:
        """The engine's own answer to an admin's /moto-api request; None: moto answers."""
        route = request.path[len(PREFIX) :].strip("/")
        if route == "reset":
            if request.method != "POST":
                return engine_refusal("Need to POST to reset Moto", status=400)
            self._reset()
            return Response(json.dumps({"status": "ok"}), mimetype="application/json")
        if not route.startswith("recorder/"):
            return None
        action = route[len("recorder/") :]
        if action in {"upload-recording", "replay-recording"}:
            return engine_refusal(NO_REPLAY)
        if action == "start-recording":
            self.recorder.start()
            return Response("Recording is set to True")
        if action == "stop-recording":
            self.recorder.stop()
            return Response("Recording is set to False")
        if action == "reset-recording":
            self.recorder.clear()
            return Response("")
        if action == "download-recording":
            return Response(self.recorder.download(), mimetype="application/x-ndjson")
        return engine_refusal(f"no such moto API route: {request.path}", status=404)
