"""Bedrock runtime state and logic: the local model, quotas, record and replay.

:class:`BedrockRuntime` answers the four runtime operations with an :class:`Answer`, from
one of three sources chosen at engine start by ``NEXUSKIT_BEDROCK``:

``local`` (default)
    the deterministic local model (:mod:`emulation.bedrock.responders`), after the
    request is validated the way Bedrock validates it;
``replay``
    the cassette recorded for the normalised request (a miss fails loudly);
``record``
    real Bedrock (:mod:`emulation.bedrock.recorder`); each answer is also written as a
    cassette.

A per-model requests-per-minute quota (``NEXUSKIT_BEDROCK_RPM``; off by default) answers
``ThrottlingException`` in every mode.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

from emulation.bedrock import embeddings, formats, responders, validation
from emulation.bedrock.cassettes import Answer, CassetteStore, normalise_request
from emulation.bedrock.catalog import ModelSpec, resolve
from emulation.bedrock.config import BedrockConfig, health_of
from emulation.bedrock.exceptions import ResourceNotFoundException, ThrottlingException, ValidationException
from emulation.bedrock.prompt import Prompt, complete, count_tokens
from emulation.bedrock.recorder import BedrockRecorder

log = logging.getLogger(__name__)

OPERATIONS = ("InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream")
STREAMING = {"InvokeModelWithResponseStream", "ConverseStream"}


class RequestQuota:
    """Requests per minute per (account, region, model), over a sliding 60 s window."""

    WINDOW = 60.0

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str, str], collections.deque[float]] = {}
        self.throttled = 0

    def check(self, account: str, region: str, model_id: str) -> None:
        limit = self.limits.get(model_id, self.limits.get("*"))
        if not limit:
            return
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault((account, region, model_id), collections.deque())
            while calls and now - calls[0] >= self.WINDOW:
                calls.popleft()
            if len(calls) >= limit:
                self.throttled += 1
                raise ThrottlingException("Too many requests, please wait before trying again.")
            calls.append(now)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


def stamp_latency(answer: Answer, latency_ms: int) -> None:
    """Write the measured latency into the answer's latency fields (never stored)."""
    if isinstance(answer.body, dict) and isinstance(answer.body.get("metrics"), dict):
        answer.body["metrics"]["latencyMs"] = latency_ms
    for _, payload in answer.events or []:
        if not isinstance(payload, dict):
            continue
        metrics = payload.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):
            metrics["invocationLatency"] = latency_ms
            metrics["firstByteLatency"] = min(latency_ms, metrics.get("firstByteLatency") or latency_ms)
        if isinstance(payload.get("metrics"), dict) and "latencyMs" in payload["metrics"]:
            payload["metrics"]["latencyMs"] = latency_ms


class BedrockRuntime:
    """The runtime operations, by mode."""

    def __init__(self, config: BedrockConfig) -> None:
        self.config = config
        self.quota = RequestQuota(config.rpm)
        self.store = CassetteStore(config.cassettes) if config.mode != "local" else None
        self.recorder = (
            BedrockRecorder(config.record_endpoint, config.record_profile)
            if config.mode == "record"
            else None
        )
        self.invocations: collections.Counter[str] = collections.Counter()
        if config.responder_plugins:
            responders.load_plugins(config.responder_plugins)

    def answer(self, operation: str, model_identifier: str, region: str, account: str, raw: bytes) -> Answer:
        """The answer to one runtime request (raises BedrockError for AWS's errors)."""
        spec = resolve(model_identifier)
        if spec is None and self.config.mode == "local":
            raise ResourceNotFoundException.unknown_model(model_identifier)
        self.quota.check(account, region, spec.model_id if spec else model_identifier)
        self.invocations[operation] += 1
        if self.config.mode == "local":
            assert spec is not None
            return self._local(operation, spec, raw)
        body = validation.parse_json_body(raw) if raw else {}
        request = normalise_request(operation, model_identifier, body)
        assert self.store is not None
        if self.config.mode == "replay":
            return self.store.load(request)
        assert self.recorder is not None
        answer = self.recorder.forward(operation, model_identifier, region, body, raw)
        path = self.store.save(request, answer, self.recorder.source(region))
        log.info("recorded %s %s as %s", operation, model_identifier, path.name)
        return answer

    # -- the local model ------------------------------------------------------------------
    def _local(self, operation: str, spec: ModelSpec, raw: bytes) -> Answer:
        body = validation.parse_json_body(raw)
        if operation in {"Converse", "ConverseStream"}:
            if not isinstance(body, dict):
                raise ValidationException.malformed(
                    ["#: expected type: JSONObject, found: " + type(body).__name__]
                )
            validation.check_converse(spec, body)
            prompt = formats.converse_prompt(spec, body)
            completion = complete(prompt, responders.respond(prompt, spec.family))
            if operation == "Converse":
                return self._done(formats.converse_body(completion), None, completion)
            return self._done(None, formats.converse_events(completion), completion)
        validation.check_invoke_body(spec, body)
        if spec.family == "titan-embed":
            if operation in STREAMING:
                raise ValidationException("The model is unsupported for streaming.")
            return self._embed(spec, body)
        if operation in STREAMING and not spec.streaming:
            raise ValidationException("The model is unsupported for streaming.")
        prompt = self._prompt(spec, body)
        completion = complete(prompt, responders.respond(prompt, spec.family))
        if spec.family == "claude":
            if operation in STREAMING:
                return self._done(None, formats.claude_events(spec, prompt, completion), completion)
            return self._done(formats.claude_body(spec, prompt, completion), None, completion)
        if operation in STREAMING:
            return self._done(None, formats.titan_events(completion), completion)
        return self._done(formats.titan_body(completion), None, completion)

    @staticmethod
    def _prompt(spec: ModelSpec, body: dict[str, Any]) -> Prompt:
        if spec.family == "claude":
            return formats.claude_prompt(spec, body)
        return formats.titan_prompt(spec, body)

    @staticmethod
    def _done(body: Any, events: Any, completion: Any) -> Answer:
        return Answer(
            body=body,
            events=events,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            responder=completion.responder,
        )

    @staticmethod
    def _embed(spec: ModelSpec, body: dict[str, Any]) -> Answer:
        text = body["inputText"]
        dimensions = int(body.get("dimensions", spec.dimensions[0]))
        vector = embeddings.embed(text, dimensions, normalize=bool(body.get("normalize", True)))
        tokens = count_tokens(text)
        result: dict[str, Any] = {"embedding": vector, "inputTextTokenCount": tokens}
        if len(spec.dimensions) > 1:  # Titan v2 also answers by type
            types = body.get("embeddingTypes", ["float"])
            by_type: dict[str, Any] = {}
            if "float" in types:
                by_type["float"] = vector
            if "binary" in types:
                by_type["binary"] = embeddings.to_binary(vector)
            result["embeddingsByType"] = by_type
        return Answer(body=result, input_tokens=tokens, output_tokens=0, responder="hashing-embedding")

    def health(self) -> dict[str, Any]:
        return health_of(
            self.config,
            len(self.store) if self.store is not None else None,
            dict(self.invocations),
            self.quota.throttled,
        )
