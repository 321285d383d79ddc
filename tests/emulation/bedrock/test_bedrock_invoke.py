"""InvokeModel against the engine with the real boto3 client: shapes, tokens, local model."""

from __future__ import annotations

import json
import math
from typing import Any

from tests.emulation.bedrock.bedrock_support import (
    EVENTS,
    HAIKU,
    SONNET,
    TELEMETRY_PROMPT,
    TITAN_EMBED_V1,
    TITAN_EMBED_V2,
    TITAN_TEXT,
    claude_body,
    invoke_json,
)


def test_claude_messages_round_trip(runtime: Any) -> None:
    """A Claude 3 Messages body gets a message with text content, usage and token headers."""
    body, headers = invoke_json(runtime, SONNET, claude_body("Hello, what can you do?", system="Be brief."))
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["id"].startswith("msg_bdrk_")
    assert body["model"] == "claude-3-sonnet-20240229"
    assert body["content"][0]["type"] == "text"
    assert body["content"][0]["text"].startswith("[nexuskit local model]")
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    usage = body["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert headers["x-amzn-bedrock-input-token-count"] == str(usage["input_tokens"])
    assert headers["x-amzn-bedrock-output-token-count"] == str(usage["output_tokens"])
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 1
    assert headers["content-type"] == "application/json"


def test_titan_text_round_trip(runtime: Any) -> None:
    """A Titan text body gets inputTextTokenCount and one result with its token count."""
    request = {
        "inputText": "User: write a haiku about streams\nBot:",
        "textGenerationConfig": {"maxTokenCount": 200},
    }
    body, headers = invoke_json(runtime, TITAN_TEXT, json.dumps(request))
    assert set(body) == {"inputTextTokenCount", "results"}
    (result,) = body["results"]
    assert result["completionReason"] == "FINISH"
    assert result["outputText"]
    assert headers["x-amzn-bedrock-input-token-count"] == str(body["inputTextTokenCount"])
    assert headers["x-amzn-bedrock-output-token-count"] == str(result["tokenCount"])


def test_titan_embeddings_v1_and_v2(runtime: Any) -> None:
    """Titan embeddings: 1536 floats for v1, the requested size (unit length) for v2."""
    v1, _ = invoke_json(runtime, TITAN_EMBED_V1, json.dumps({"inputText": "kinesis shard throttled"}))
    assert len(v1["embedding"]) == 1536 and v1["inputTextTokenCount"] > 0
    v2, _ = invoke_json(
        runtime, TITAN_EMBED_V2, json.dumps({"inputText": "kinesis shard throttled", "dimensions": 256})
    )
    assert len(v2["embedding"]) == 256
    assert math.isclose(math.sqrt(sum(x * x for x in v2["embedding"])), 1.0, rel_tol=1e-4)
    assert v2["embeddingsByType"]["float"] == v2["embedding"]
    assert v2["inputTextTokenCount"] == v1["inputTextTokenCount"]


def test_similar_texts_have_closer_embeddings(runtime: Any) -> None:
    """The hashing embedding keeps related texts closer than unrelated ones."""

    def vector(text: str) -> list[float]:
        body, _ = invoke_json(runtime, TITAN_EMBED_V2, json.dumps({"inputText": text}))
        return list(body["embedding"])

    base = vector("temperature sensor reports overheating in zone four")
    near = vector("sensor in zone four reports high temperature")
    far = vector("quarterly revenue grew in the retail segment")

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(base, near) > cosine(base, far) + 0.2


def test_same_prompt_same_answer(runtime: Any) -> None:
    """The local model is deterministic: the same request gets the same body twice."""
    request = claude_body("Describe the intake pipeline in one sentence.")
    first, _ = invoke_json(runtime, HAIKU, request)
    second, _ = invoke_json(runtime, HAIKU, request)
    assert first == second


def test_telemetry_summary_counts_match_the_input(runtime: Any) -> None:
    """A telemetry batch in the prompt is summarised as JSON whose counts match the batch."""
    body, _ = invoke_json(runtime, SONNET, claude_body(TELEMETRY_PROMPT))
    summary = json.loads(body["content"][0]["text"])
    assert summary["event_count"] == len(EVENTS)
    assert summary["categories"]["status"] == {"ok": 9, "error": 1}
    assert summary["categories"]["device_id"] == {"sensor-1": 10}
    temperature = summary["fields"]["temperature"]
    assert temperature["min"] == 20.8 and temperature["max"] == 88.5 and temperature["count"] == 10
    assert summary["time_range"] == {
        "field": "timestamp",
        "start": "2026-11-01T10:00:00Z",
        "end": "2026-11-01T10:09:00Z",
    }
    flagged = {(item["index"], item["field"]) for item in summary["anomalies"]}
    assert flagged == {(5, "temperature"), (7, "status")}
    assert summary["severity"] in {"medium", "high"} and summary["classification"] == "anomalous"
    assert 0 <= summary["confidence"] <= 1


def test_titan_summarises_telemetry_too(runtime: Any) -> None:
    """Titan text answers the same telemetry prompt with the same statistics."""
    body, _ = invoke_json(runtime, TITAN_TEXT, json.dumps({"inputText": TELEMETRY_PROMPT}))
    summary = json.loads(body["results"][0]["outputText"])
    assert summary["event_count"] == len(EVENTS)


def test_entity_extraction(runtime: Any) -> None:
    """'Extract the entities' prompts get typed spans as JSON."""
    prompt = (
        "Extract the entities from: Operator Jane Doe (jane@nexus.example) saw sensor-42 fail at "
        "2026-11-01T10:05:00Z in us-west-2, writing to s3://nexus-dev-bronze-us-west-2/client/."
    )
    body, _ = invoke_json(runtime, SONNET, claude_body(prompt))
    found = {(item["type"], item["text"]) for item in json.loads(body["content"][0]["text"])["entities"]}
    assert {
        ("name", "Jane Doe"),
        ("email", "jane@nexus.example"),
        ("device_id", "sensor-42"),
        ("timestamp", "2026-11-01T10:05:00Z"),
        ("aws_region", "us-west-2"),
        ("s3_uri", "s3://nexus-dev-bronze-us-west-2/client/."),
    } <= found


def test_tool_use_calls_the_named_tool_with_prompt_arguments(runtime: Any) -> None:
    """With tools, the model calls the tool the prompt names, arguments read from the prompt."""
    tools = [
        {
            "name": "scale_stream",
            "description": "Change the shard count of a Kinesis stream",
            "input_schema": {
                "type": "object",
                "properties": {"stream_name": {"type": "string"}, "shards": {"type": "integer"}},
                "required": ["stream_name", "shards"],
            },
        },
        {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}},
    ]
    prompt = "Please call scale_stream with stream_name=nexus-dev-intake and shards: 4."
    body, _ = invoke_json(runtime, SONNET, claude_body(prompt, tools=tools))
    assert body["stop_reason"] == "tool_use"
    (call,) = [block for block in body["content"] if block["type"] == "tool_use"]
    assert call["name"] == "scale_stream"
    assert call["input"] == {"stream_name": "nexus-dev-intake", "shards": 4}
    assert call["id"].startswith("toolu_bdrk_")


def test_forced_tool_choice(runtime: Any) -> None:
    """tool_choice {type: tool} calls that tool even when the prompt does not name it."""
    tools = [
        {
            "name": "lookup_device",
            "input_schema": {"type": "object", "properties": {"device": {"type": "string"}}},
        }
    ]
    body, _ = invoke_json(
        runtime,
        HAIKU,
        claude_body(
            "Where is device sensor-7?", tools=tools, tool_choice={"type": "tool", "name": "lookup_device"}
        ),
    )
    call = body["content"][-1]
    assert call["type"] == "tool_use" and call["name"] == "lookup_device"
    assert call["input"] == {"device": "sensor-7?"}


def test_max_tokens_truncates(runtime: Any) -> None:
    """An answer longer than max_tokens is cut there and ends with stop_reason max_tokens."""
    body, _ = invoke_json(runtime, SONNET, claude_body("Tell me everything.", max_tokens=5))
    assert body["stop_reason"] == "max_tokens"
    assert body["usage"]["output_tokens"] <= 5


def test_stop_sequences(runtime: Any) -> None:
    """A stop sequence in the answer ends it there, and is reported."""
    body, _ = invoke_json(runtime, SONNET, claude_body("Hi", stop_sequences=["deterministic"]))
    assert body["stop_reason"] == "stop_sequence" and body["stop_sequence"] == "deterministic"
    assert "deterministic" not in body["content"][0]["text"]


def test_inference_profile_and_arn_identifiers(runtime: Any) -> None:
    """Cross-region inference profile ids and model ARNs name the same model."""
    request = claude_body("Same model?")
    plain, _ = invoke_json(runtime, HAIKU, request)
    profile, _ = invoke_json(runtime, "us." + HAIKU, request)
    arn, _ = invoke_json(runtime, f"arn:aws:bedrock:us-west-2::foundation-model/{HAIKU}", request)
    assert plain == profile == arn


def test_foundation_models_are_listed(engine: Any) -> None:
    """The control plane lists the served models (moto answers 500 there)."""
    bedrock = engine.target().client("bedrock")
    ids = {model["modelId"] for model in bedrock.list_foundation_models()["modelSummaries"]}
    assert {SONNET, HAIKU, TITAN_TEXT, TITAN_EMBED_V1} <= ids
    details = bedrock.get_foundation_model(modelIdentifier=TITAN_EMBED_V2)["modelDetails"]
    assert details["outputModalities"] == ["EMBEDDING"]
