"""Record mode: forward each request to real Bedrock and keep the answer as a cassette.

Credentials come from the standard AWS configuration of the engine process (environment,
shared files, SSO...), or the profile named by ``NEXUSKIT_BEDROCK_RECORD_PROFILE``. The
endpoint is always given explicitly - real Bedrock in the request's region, or
``NEXUSKIT_BEDROCK_RECORD_ENDPOINT`` - so an ``AWS_ENDPOINT_URL`` that points at the
engine itself is never followed back into it.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from emulation.bedrock.cassettes import Answer
from emulation.bedrock.exceptions import RecordingFailedException

log = logging.getLogger(__name__)


class BedrockRecorder:
    """Calls real Bedrock with boto3 and returns its answers in :class:`Answer` form."""

    def __init__(self, endpoint: str | None = None, profile: str | None = None) -> None:
        self.endpoint = endpoint
        self.profile = profile
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def source(self, region: str) -> str:
        return self.endpoint or f"https://bedrock-runtime.{region}.amazonaws.com"

    def _client(self, region: str) -> Any:
        with self._lock:
            if region not in self._clients:
                import boto3
                from botocore.config import Config

                session = boto3.session.Session(profile_name=self.profile, region_name=region)
                self._clients[region] = session.client(
                    "bedrock-runtime",
                    endpoint_url=self.source(region),
                    config=Config(retries={"mode": "standard", "max_attempts": 2}, read_timeout=300),
                )
            return self._clients[region]

    def forward(self, operation: str, model_id: str, region: str, body: Any, raw: bytes) -> Answer:
        """The real answer to one request (errors come back as error answers)."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client(region)
        try:
            if operation == "InvokeModel":
                return self._invoke(client, model_id, raw)
            if operation == "InvokeModelWithResponseStream":
                return self._invoke_stream(client, model_id, raw)
            if operation == "Converse":
                response = client.converse(modelId=model_id, **body)
                return self._converse_answer(response)
            if operation == "ConverseStream":
                return self._converse_stream(client.converse_stream(modelId=model_id, **body))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            return Answer(status=status, error=(str(error.get("Code")), str(error.get("Message"))))
        except BotoCoreError as exc:
            raise RecordingFailedException(
                f"nexuskit record mode could not reach Bedrock at {self.source(region)}: {exc}"
            ) from exc
        raise RecordingFailedException(f"nexuskit record mode cannot forward {operation}")

    @staticmethod
    def _tokens(headers: dict[str, str]) -> tuple[int, int]:
        return (
            int(headers.get("x-amzn-bedrock-input-token-count", 0) or 0),
            int(headers.get("x-amzn-bedrock-output-token-count", 0) or 0),
        )

    def _invoke(self, client: Any, model_id: str, raw: bytes) -> Answer:
        response = client.invoke_model(
            modelId=model_id, body=raw, contentType="application/json", accept="application/json"
        )
        payload = response["body"].read()
        inputs, outputs = self._tokens(response["ResponseMetadata"].get("HTTPHeaders", {}))
        return Answer(body=json.loads(payload), input_tokens=inputs, output_tokens=outputs)

    def _invoke_stream(self, client: Any, model_id: str, raw: bytes) -> Answer:
        response = client.invoke_model_with_response_stream(
            modelId=model_id, body=raw, contentType="application/json", accept="application/json"
        )
        events: list[tuple[str, Any]] = []
        inputs = outputs = 0
        for event in response["body"]:
            if "chunk" not in event:
                code, detail = next(iter(event.items()))
                return Answer(status=400, error=(code[0].upper() + code[1:], str(detail.get("message"))))
            chunk = json.loads(event["chunk"]["bytes"])
            metrics = chunk.get("amazon-bedrock-invocationMetrics")
            if isinstance(metrics, dict):
                inputs = int(metrics.get("inputTokenCount", 0))
                outputs = int(metrics.get("outputTokenCount", 0))
                metrics["invocationLatency"] = metrics["firstByteLatency"] = 0
            events.append(("chunk", chunk))
        return Answer(events=events, input_tokens=inputs, output_tokens=outputs)

    @staticmethod
    def _converse_answer(response: dict[str, Any]) -> Answer:
        body = {key: value for key, value in response.items() if key != "ResponseMetadata"}
        if "metrics" in body:
            body["metrics"] = {"latencyMs": 0}
        usage = body.get("usage", {})
        return Answer(
            body=body,
            input_tokens=int(usage.get("inputTokens", 0)),
            output_tokens=int(usage.get("outputTokens", 0)),
        )

    @staticmethod
    def _converse_stream(response: dict[str, Any]) -> Answer:
        events: list[tuple[str, Any]] = []
        inputs = outputs = 0
        for event in response["stream"]:
            kind, payload = next(iter(event.items()))
            if kind == "metadata":
                usage = payload.get("usage", {})
                inputs, outputs = int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))
                payload["metrics"] = {"latencyMs": 0}
            events.append((kind, payload))
        return Answer(events=events, input_tokens=inputs, output_tokens=outputs)
