"""A PutMedia client: GetDataEndpoint, then SigV4-signed POSTs of MKV to ``/putMedia``.

The AWS SDKs have no PutMedia (it lives in the Kinesis Video producer SDKs), so this
client does what they do: ask the control plane for the stream's ``PUT_MEDIA`` data
endpoint, sign each request with SigV4 for the service ``kinesisvideo`` (with the
session token of temporary credentials), send the stream name and timecode headers, and
read the acknowledgements (one JSON object per line).

Each request carries complete fragments. AWS recommends one long-lived chunked PutMedia
connection; the local engine reads request bodies whole (``Content-Length``), so a
connection per fragment is used there, which AWS accepts too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from nexuskit.aws import AwsTarget
from nexuskit.producers.credentials import EXPIRED_CODES, CredentialSource
from nexuskit.producers.errors import VideoError

log = logging.getLogger(__name__)

SERVICE = "kinesisvideo"


@dataclass
class PutMediaAnswer:
    status: int
    acks: list[dict[str, Any]]


def data_endpoint(target: AwsTarget, stream: str, api: str = "PUT_MEDIA") -> str:
    """The stream's data endpoint for ``api`` (VideoError with AWS's message when refused)."""
    try:
        answer = target.client("kinesisvideo", max_attempts=1).get_data_endpoint(
            StreamName=stream, APIName=api
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise VideoError(
            f"GetDataEndpoint for {stream} was refused: {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise VideoError(f"GetDataEndpoint for {stream} failed: {exc}") from None
    return str(answer["DataEndpoint"]).rstrip("/")


def parse_acks(body: bytes) -> list[dict[str, Any]]:
    acks = []
    for raw in body.splitlines():
        line = raw.strip()
        if line:
            try:
                acks.append(json.loads(line))
            except ValueError:
                raise VideoError(f"PutMedia answered a line that is not JSON: {line[:80]!r}") from None
    return acks


class PutMediaClient:
    """Sends MKV to one stream's data endpoint as the current credentials."""

    def __init__(
        self, credentials: CredentialSource, stream: str, endpoint: str, *, timeout: float = 30.0
    ) -> None:
        self.credentials = credentials
        self.stream = stream
        self.endpoint = endpoint
        self.timeout = timeout

    def _signed(self, target: AwsTarget, body: bytes, producer_start: float) -> urllib.request.Request:
        request = AWSRequest(
            method="POST",
            url=f"{self.endpoint}/putMedia",
            data=body,
            headers={
                "x-amzn-stream-name": self.stream,
                "x-amzn-fragment-timecode-type": "RELATIVE",
                "x-amzn-producer-start-timestamp": f"{producer_start:.3f}",
                "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
                "content-type": "application/octet-stream",
            },
        )
        credentials = Credentials(target.access_key_id, target.secret_access_key, target.session_token)
        SigV4Auth(credentials, SERVICE, target.region).add_auth(request)
        return urllib.request.Request(
            request.url, data=body, headers=dict(request.headers.items()), method="POST"
        )

    def put(self, body: bytes, producer_start: float) -> PutMediaAnswer:
        """PutMedia ``body``; the acknowledgements (VideoError when the call is refused)."""
        for attempt in range(2):
            target = self.credentials.target()
            try:
                with urllib.request.urlopen(
                    self._signed(target, body, producer_start), timeout=self.timeout
                ) as answer:
                    return PutMediaAnswer(answer.status, parse_acks(answer.read()))
            except urllib.error.HTTPError as exc:
                raw = exc.read()
                code = exc.headers.get("x-amzn-ErrorType", "") or ""
                try:
                    doc = json.loads(raw)
                    message = doc.get("Message") or doc.get("message") or raw.decode("utf-8", "replace")
                    code = code or str(doc.get("__type", ""))
                except ValueError:
                    message = raw.decode("utf-8", "replace")[:200]
                code = code.split(":", 1)[0]
                if code in EXPIRED_CODES and attempt == 0:
                    self.credentials.expired(target)
                    continue
                raise VideoError(
                    f"PutMedia to {self.stream} was refused ({exc.code} {code}): {message}"
                ) from None
            except (urllib.error.URLError, OSError) as exc:
                raise VideoError(f"PutMedia to {self.endpoint} failed: {exc}") from None
        raise VideoError(f"PutMedia to {self.stream} was refused twice as expired")
