"""Helpers shared by the Bedrock runtime tests: engines with Bedrock settings, bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import EngineProcess

REPO = Path(__file__).resolve().parents[3]
CASSETTES = REPO / "scenarios" / "cassettes" / "bedrock"
SONNET = "anthropic.claude-3-sonnet-20240229-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN_TEXT = "amazon.titan-text-express-v1"
TITAN_EMBED_V1 = "amazon.titan-embed-text-v1"
TITAN_EMBED_V2 = "amazon.titan-embed-text-v2:0"
_SETTINGS = (
    "NEXUSKIT_BEDROCK",
    "NEXUSKIT_BEDROCK_CASSETTES",
    "NEXUSKIT_BEDROCK_RPM",
    "NEXUSKIT_BEDROCK_RECORD_ENDPOINT",
    "NEXUSKIT_BEDROCK_RECORD_PROFILE",
    "NEXUSKIT_BEDROCK_RESPONDERS",
)

#: a batch of sensor events with one temperature spike (index 5) and one error (index 7)
EVENTS: list[dict[str, Any]] = [
    {"device_id": "sensor-1", "timestamp": f"2026-11-01T10:0{i}:00Z", "temperature": t, "status": s}
    for i, (t, s) in enumerate(
        [
            (21.0, "ok"),
            (21.4, "ok"),
            (20.9, "ok"),
            (21.2, "ok"),
            (21.1, "ok"),
            (88.5, "ok"),
            (21.3, "ok"),
            (21.0, "error"),
            (20.8, "ok"),
            (21.2, "ok"),
        ]
    )
]
TELEMETRY_PROMPT = "Summarise and classify this telemetry batch. Reply with JSON only.\n" + json.dumps(
    {"events": EVENTS}
)


@contextmanager
def bedrock_env(**values: str) -> Iterator[None]:
    """The process environment with only the given NEXUSKIT_BEDROCK* settings."""
    with pytest.MonkeyPatch.context() as patch:
        for name in _SETTINGS:
            patch.delenv(name, raising=False)
        for name, value in values.items():
            patch.setenv(name, value)
        yield


def start_engine(state_dir: Path, *args: str, **env: str) -> EngineProcess:
    """A started engine (Bedrock only, unless ``args`` say otherwise) with these settings."""
    with bedrock_env(**env):
        return EngineProcess(state_dir, *(args or ("--extensions", "bedrock"))).start()


def claude_body(prompt: str, max_tokens: Any = 1024, **extra: Any) -> str:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }
    return json.dumps(body)


def invoke_json(client: Any, model_id: str, body: str) -> tuple[dict[str, Any], dict[str, str]]:
    """InvokeModel's decoded body and its HTTP headers."""
    response = client.invoke_model(modelId=model_id, body=body)
    return json.loads(response["body"].read()), response["ResponseMetadata"]["HTTPHeaders"]


def stream_chunks(client: Any, model_id: str, body: str) -> list[dict[str, Any]]:
    """InvokeModelWithResponseStream's chunks, decoded."""
    response = client.invoke_model_with_response_stream(modelId=model_id, body=body)
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


def cassette_calls() -> list[tuple[str, dict[str, Any]]]:
    """The calls whose cassettes are committed under scenarios/cassettes/bedrock."""
    telemetry_messages = [{"role": "user", "content": [{"text": TELEMETRY_PROMPT}]}]
    return [
        ("invoke_model", {"modelId": SONNET, "body": claude_body(TELEMETRY_PROMPT)}),
        (
            "invoke_model",
            {
                "modelId": TITAN_TEXT,
                "body": json.dumps({"inputText": "User: status of the intake stream?\nBot:"}),
            },
        ),
        ("invoke_model_with_response_stream", {"modelId": HAIKU, "body": claude_body("Say hello to Nexus.")}),
        ("converse", {"modelId": SONNET, "messages": telemetry_messages}),
        ("converse_stream", {"modelId": HAIKU, "messages": telemetry_messages}),
    ]


def call_and_read(client: Any, method: str, kwargs: dict[str, Any]) -> Any:
    """The decoded answer of one call (bodies parsed, streams collected)."""
    response = getattr(client, method)(**kwargs)
    if method == "invoke_model":
        return json.loads(response["body"].read())
    if method == "invoke_model_with_response_stream":
        return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    if method == "converse_stream":
        return list(response["stream"])
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def without_latency(answer: Any) -> Any:
    """An answer with its measured latencies blanked (they differ call to call)."""
    text = json.dumps(answer, sort_keys=True)
    for key in ("latencyMs", "invocationLatency", "firstByteLatency"):
        text = re.sub(rf'"{key}": \d+', f'"{key}": 0', text)
    return json.loads(text)
