"""A parsed view of one AWS request, as the extensions see it."""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_PRESIGNED_CREDENTIAL_RE = re.compile(r"^([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request$")
_HOST_REGION = re.compile(r"\.(?P<region>[^.]+)\.amazonaws\.com")
_AGENT_REGION = re.compile(r"region/(?P<region>[a-z]{2}-[a-z]+-\d{1})")
_MOTO_ACCESS_KEY = re.compile(r"^[A-Z0-9]{20}$")

#: the account moto files requests under when nothing names another (moto's default)
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


@dataclass
class AwsRequest:
    """One request to the engine, with the body read once and the environ rewound."""

    environ: dict[str, Any]
    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    access_key: str | None = None
    region: str | None = None
    signing_service: str | None = None
    target: str | None = None
    #: an extension that answered may set False to say the call changed no state
    changes_state: bool | None = None
    _json: Any = field(default=None, repr=False)
    #: what the extensions derived from the request (each under its own key)
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> AwsRequest:
        length = environ.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            size = 0
        if size > 0:
            body = environ["wsgi.input"].read(size)
        elif environ.get("wsgi.input_terminated") and "chunked" in str(
            environ.get("HTTP_TRANSFER_ENCODING", "")
        ):
            # A chunked upload: read it whole, so that what is verified is what moto reads.
            body = environ["wsgi.input"].read()
            environ["CONTENT_LENGTH"] = str(len(body))
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if "CONTENT_TYPE" in environ:
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        request = cls(
            environ=environ,
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            path=str(environ.get("PATH_INFO", "/")),
            query_string=str(environ.get("QUERY_STRING", "")),
            headers=headers,
            body=body,
            target=headers.get("x-amz-target"),
        )
        match = _CREDENTIAL_RE.search(headers.get("authorization", ""))
        if match:
            request.access_key, _, request.region, request.signing_service = match.groups()
        else:
            credential = request.query.get("X-Amz-Credential", [""])[0]
            presigned = _PRESIGNED_CREDENTIAL_RE.match(credential)
            if presigned:
                request.access_key, _, request.region, request.signing_service = presigned.groups()
        return request

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    @property
    def operation(self) -> str | None:
        """The API operation: ``X-Amz-Target``'s suffix, or the Query API ``Action``."""
        if self.target:
            return self.target.rsplit(".", 1)[-1]
        action = self.query.get("Action")
        if action:
            return action[0]
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = parse_qs(self.body.decode("utf-8", "replace"))
            if "Action" in form:
                return form["Action"][0]
        return None

    def json(self) -> Any:
        """The JSON body (None when the body is not JSON)."""
        if self._json is None and self.body:
            try:
                self._json = json.loads(self.body)
            except ValueError:
                return None
        return self._json

    def is_read_only(self) -> bool:
        """True for calls that cannot change state (used to skip snapshots)."""
        if self.method in {"GET", "HEAD", "OPTIONS"}:
            return True
        operation = self.operation or ""
        return operation.startswith(("Describe", "List", "Get")) and operation not in {
            "GetShardIterator",
        }


def account_of(request: AwsRequest) -> str:
    """The account moto files the request under (same precedence as moto's responses)."""
    account = os.environ.get("MOTO_ACCOUNT_ID")
    if account:
        return account
    account = request.headers.get("x-moto-account-id")
    if account:
        return account
    key = request.access_key
    if not key or not _MOTO_ACCESS_KEY.match(key):
        return DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(key))


def caller_account_and_region(request: AwsRequest, state_lock: Any | None) -> tuple[str, str]:
    """The caller's account (from its access key, as moto does: an IAM user's key names its
    account) and the request's signed region (``us-east-1`` when unsigned). ``state_lock`` is
    the engine's; without one (no engine yet) or without a key, the default account."""
    region = request.region or "us-east-1"
    if not request.access_key or state_lock is None:
        return DEFAULT_ACCOUNT_ID, region
    from moto.iam.models import get_account_id_from

    with state_lock.shared():
        return str(get_account_id_from(request.access_key)), region


def region_of(request: AwsRequest) -> str:
    """The region moto files the request under (host, user agent, then signature)."""
    match = _HOST_REGION.search(request.headers.get("host", ""))
    if match:
        return match.group("region")
    match = _AGENT_REGION.search(request.headers.get("user-agent", ""))
    if match:
        return match.group("region")
    return request.region or DEFAULT_REGION
