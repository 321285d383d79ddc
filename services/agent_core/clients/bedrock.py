"""Bedrock inference with agent-core's own role (spec §3.3.3): the Converse API, any text model.

Converse gives one request and answer shape for Claude and Titan, with token counts in
``usage``. boto3 is synchronous, so calls run on a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.agent_core.metrics import AgentMetrics

log = logging.getLogger(__name__)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class BedrockCallError(RuntimeError):
    """Bedrock refused or failed; the message has the AWS error code."""


class ReplyFormatError(ValueError):
    """The model answered, but not in the asked format (a real model may do better next time)."""


@dataclass
class BedrockReply:
    model_id: str
    text: str
    input_tokens: int
    output_tokens: int
    stop_reason: str | None


def parse_json_reply(text: str) -> Any:
    """The JSON value in a model's answer (bare, or in a ``` fence, or the first {...})."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start : text.rfind("}") + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ReplyFormatError(f"the model's answer is not JSON: {text[:200]!r}")


class BedrockClient:
    """Converse calls with the process's AWS configuration, counted in the metrics."""

    def __init__(self, runtime: Any, models: dict[str, str], metrics: AgentMetrics) -> None:
        self.runtime = runtime
        self.models = models
        self.metrics = metrics

    def model_id(self, model: str) -> str:
        return self.models.get(model, model)

    def _converse(
        self, model_id: str, prompt: str, system: str | None, max_tokens: int, temperature: float
    ) -> BedrockReply:
        kwargs: dict[str, Any] = {
            "modelId": model_id,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
        }
        if system:
            kwargs["system"] = [{"text": system}]
        try:
            answer = self.runtime.converse(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
            raise BedrockCallError(f"bedrock {model_id}: {code}: {message}") from None
        content = answer.get("output", {}).get("message", {}).get("content", [])
        usage = answer.get("usage", {})
        return BedrockReply(
            model_id=model_id,
            text="".join(part.get("text", "") for part in content),
            input_tokens=int(usage.get("inputTokens", 0)),
            output_tokens=int(usage.get("outputTokens", 0)),
            stop_reason=answer.get("stopReason"),
        )

    async def converse(
        self,
        model: str,
        prompt: str,
        system: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> BedrockReply:
        model_id = self.model_id(model)
        self.metrics.bedrock_invocations.labels(model_id).inc()
        try:
            reply = await asyncio.to_thread(self._converse, model_id, prompt, system, max_tokens, temperature)
        except BedrockCallError:
            self.metrics.bedrock_errors.labels(model_id).inc()
            raise
        self.metrics.bedrock_tokens.labels(model_id, "in").inc(reply.input_tokens)
        self.metrics.bedrock_tokens.labels(model_id, "out").inc(reply.output_tokens)
        return reply
