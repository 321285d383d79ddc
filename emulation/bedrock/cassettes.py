"""Cassettes: recorded Bedrock request/response pairs, for ``NEXUSKIT_BEDROCK=replay``.

One JSON file per interaction, ``<request hash>.json``, in the cassette directory
(``NEXUSKIT_BEDROCK_CASSETTES``, default ``scenarios/cassettes/bedrock``). The request is
normalised before it is hashed: the operation, the model (inference profile ids and ARNs
resolve to the model id), and the body as parsed JSON with sorted keys, minus fields that
do not change the answer (``requestMetadata``, ``metadata``). Responses are stored with
volatile fields normalised (latencies are 0, request ids and dates are not kept); the
engine stamps the latency it measured when it replays them.

A replay that finds no cassette fails with the request hash and the closest recorded one,
and the first place where the two requests differ.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulation.bedrock.catalog import resolve
from emulation.bedrock.exceptions import CassetteNotFoundException

log = logging.getLogger(__name__)

FORMAT = 1
_VOLATILE_REQUEST_FIELDS = ("requestMetadata", "metadata")


@dataclass
class Answer:
    """A model's answer in API form: a JSON body, a list of stream events, or an error."""

    status: int = 200
    body: Any = None
    #: (event type, payload) for streamed answers; InvokeModel stream chunks hold the
    #: model's decoded JSON (framing and base64 are added when the answer is sent)
    events: list[tuple[str, Any]] | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    #: (code, message) of an error answer
    error: tuple[str, str] | None = None
    responder: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "status": self.status,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
        }
        if self.error:
            doc["error"] = {"code": self.error[0], "message": self.error[1]}
        if self.body is not None:
            doc["body"] = self.body
        if self.events is not None:
            doc["events"] = [{"type": kind, "payload": payload} for kind, payload in self.events]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Answer:
        error = doc.get("error")
        events = doc.get("events")
        return cls(
            status=int(doc.get("status", 200)),
            body=doc.get("body"),
            events=[(e["type"], e["payload"]) for e in events] if events is not None else None,
            input_tokens=int(doc.get("inputTokens", 0)),
            output_tokens=int(doc.get("outputTokens", 0)),
            error=(error["code"], error["message"]) if error else None,
            responder="cassette",
        )


def normalise_request(operation: str, model_identifier: str, body: Any) -> dict[str, Any]:
    """The parts of a request that decide its answer, in a canonical form."""
    spec = resolve(model_identifier)
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key not in _VOLATILE_REQUEST_FIELDS}
    return {"operation": operation, "modelId": spec.model_id if spec else model_identifier, "body": body}


def _canonical(request: dict[str, Any]) -> str:
    return json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(request).encode("utf-8")).hexdigest()[:20]


def first_difference(left: Any, right: Any, path: str = "") -> str | None:
    """The JSON path where two documents first differ (None when equal)."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                return f"{path}.{key}".lstrip(".")
            found = first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        for index, (a, b) in enumerate(zip(left, right, strict=False)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return f"{path}[{min(len(left), len(right))}]" if len(left) != len(right) else None
    return None if left == right else (path.lstrip(".") or "<root>")


class CassetteStore:
    """The cassettes of one directory, indexed by request hash."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._requests: dict[str, dict[str, Any]] = {}
        self._scanned_at = 0.0
        self.rescan()

    def rescan(self) -> None:
        found: dict[str, dict[str, Any]] = {}
        if self.root.is_dir():
            for path in sorted(self.root.glob("*.json")):
                try:
                    doc = json.loads(path.read_text(encoding="utf-8"))
                    found[path.stem] = doc["request"]
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("skipping unreadable cassette %s: %s", path, exc)
        with self._lock:
            self._requests = found
            self._scanned_at = time.monotonic()

    def __len__(self) -> int:
        return len(self._requests)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def load(self, request: dict[str, Any]) -> Answer:
        """The recorded answer to ``request``; CassetteNotFoundException when none."""
        key = request_hash(request)
        path = self.path(key)
        if not path.exists():
            self.rescan()
            raise self._miss(key, request)
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Answer.from_json(doc["response"])

    def save(self, request: dict[str, Any], answer: Answer, source: str) -> Path:
        """Write the cassette for ``request`` (atomically) and index it."""
        key = request_hash(request)
        doc = {
            "format": FORMAT,
            "hash": key,
            "request": request,
            "response": answer.to_json(),
            "recorded": {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "from": source},
        }
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        with self._lock:
            self._requests[key] = request
        return path

    def _miss(self, key: str, request: dict[str, Any]) -> CassetteNotFoundException:
        what = f"{request['operation']} {request['modelId']}"
        message = f"nexuskit replay: no cassette for request {key} ({what}) in {self.root}"
        closest = self.closest(request)
        extra: dict[str, Any] = {"requestHash": key, "cassettes": str(self.root)}
        if closest is None:
            message += "; no cassettes are recorded there"
        else:
            other, ratio = closest
            where = first_difference(self._requests[other], request) or "<nowhere>"
            message += f"; closest recorded: {other} ({ratio:.0%} similar, first difference at {where})"
            extra["closestHash"] = other
        message += ". Record it with NEXUSKIT_BEDROCK=record, or use NEXUSKIT_BEDROCK=local."
        return CassetteNotFoundException(message, extra)

    def closest(self, request: dict[str, Any]) -> tuple[str, float] | None:
        """The recorded request most like ``request`` (same operation and model first)."""
        with self._lock:
            candidates = dict(self._requests)
        if not candidates:
            return None
        text = _canonical(request)

        def score(item: tuple[str, dict[str, Any]]) -> tuple[int, float]:
            other = item[1]
            same = int(other.get("operation") == request["operation"]) + int(
                other.get("modelId") == request["modelId"]
            )
            return same, difflib.SequenceMatcher(None, _canonical(other), text).ratio()

        key, best = max(candidates.items(), key=score)
        return key, score((key, best))[1]
