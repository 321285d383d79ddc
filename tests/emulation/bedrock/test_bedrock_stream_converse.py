"""Streaming (event stream framing parsed by boto3) and the Converse API, both families."""

from __future__ import annotations

import json
from typing import Any

from tests.emulation.bedrock.bedrock_support import (
    SONNET,
    TELEMETRY_PROMPT,
    TITAN_TEXT,
    claude_body,
    invoke_json,
    stream_chunks,
)


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def test_claude_stream_chunks_rebuild_the_answer(runtime: Any) -> None:
    """InvokeModelWithResponseStream sends Messages-API chunks whose deltas are the answer."""
    request = claude_body(TELEMETRY_PROMPT)
    whole, _ = invoke_json(runtime, SONNET, request)
    chunks = stream_chunks(runtime, SONNET, request)
    kinds = [chunk["type"] for chunk in chunks]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("content_block_delta") > 1
    text = "".join(c["delta"]["text"] for c in chunks if c["type"] == "content_block_delta")
    assert text == whole["content"][0]["text"]
    delta = next(c for c in chunks if c["type"] == "message_delta")
    assert delta["delta"]["stop_reason"] == "end_turn"
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == whole["usage"]["input_tokens"]
    assert metrics["outputTokenCount"] == whole["usage"]["output_tokens"]


def test_claude_stream_tool_use(runtime: Any) -> None:
    """A streamed tool call arrives as input_json_delta pieces that join to the input."""
    tools = [
        {
            "name": "get_stream_status",
            "input_schema": {"type": "object", "properties": {"stream": {"type": "string"}}},
        }
    ]
    chunks = stream_chunks(
        runtime, SONNET, claude_body("Use get_stream_status for stream=nexus-dev-intake", tools=tools)
    )
    start = next(c for c in chunks if c["type"] == "content_block_start")
    assert start["content_block"]["type"] == "tool_use"
    raw = "".join(c["delta"]["partial_json"] for c in chunks if c["type"] == "content_block_delta")
    assert json.loads(raw) == {"stream": "nexus-dev-intake"}


def test_titan_stream(runtime: Any) -> None:
    """Titan streaming chunks carry outputText pieces and the final completionReason."""
    request = json.dumps({"inputText": TELEMETRY_PROMPT})
    whole, _ = invoke_json(runtime, TITAN_TEXT, request)
    chunks = stream_chunks(runtime, TITAN_TEXT, request)
    assert "".join(chunk["outputText"] for chunk in chunks) == whole["results"][0]["outputText"]
    assert chunks[-1]["completionReason"] == "FINISH"
    assert chunks[0]["inputTextTokenCount"] == whole["inputTextTokenCount"]


def test_converse_claude(runtime: Any) -> None:
    """Converse on Claude returns the assistant message, stop reason, usage and latency."""
    response = runtime.converse(
        modelId=SONNET,
        messages=_user(TELEMETRY_PROMPT),
        system=[{"text": "You are a telemetry analyst."}],
        inferenceConfig={"maxTokens": 2000, "temperature": 0.2},
    )
    message = response["output"]["message"]
    assert message["role"] == "assistant"
    assert json.loads(message["content"][0]["text"])["event_count"] == 10
    assert response["stopReason"] == "end_turn"
    usage = response["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert response["metrics"]["latencyMs"] >= 1


def test_converse_titan(runtime: Any) -> None:
    """Converse works for Titan text too, with the same local model."""
    response = runtime.converse(modelId=TITAN_TEXT, messages=_user("Hello Titan"))
    text = response["output"]["message"]["content"][0]["text"]
    assert text.startswith("[nexuskit local model]") and TITAN_TEXT in text


def test_converse_tool_use_round_trip(runtime: Any) -> None:
    """Converse tool use: a toolUse block first, then an answer built from the tool result."""
    tool_config = {
        "tools": [
            {
                "toolSpec": {
                    "name": "count_records",
                    "description": "Count records in a bucket prefix",
                    "inputSchema": {
                        "json": {
                            "type": "object",
                            "properties": {"bucket": {"type": "string"}, "prefix": {"type": "string"}},
                            "required": ["bucket"],
                        }
                    },
                }
            }
        ],
        "toolChoice": {"any": {}},
    }
    messages = _user('Count the records: {"bucket": "nexus-dev-bronze-us-west-2", "prefix": "client/"}')
    first = runtime.converse(modelId=SONNET, messages=messages, toolConfig=tool_config)
    assert first["stopReason"] == "tool_use"
    use = first["output"]["message"]["content"][0]["toolUse"]
    assert use["name"] == "count_records"
    assert use["input"] == {"bucket": "nexus-dev-bronze-us-west-2", "prefix": "client/"}
    result = {"toolResult": {"toolUseId": use["toolUseId"], "content": [{"json": {"count": 42}}]}}
    messages += [first["output"]["message"], {"role": "user", "content": [result]}]
    tool_config["toolChoice"] = {"auto": {}}
    second = runtime.converse(modelId=SONNET, messages=messages, toolConfig=tool_config)
    assert second["stopReason"] == "end_turn"
    assert '{"count": 42}' in second["output"]["message"]["content"][0]["text"]


def test_converse_stream_matches_converse(runtime: Any) -> None:
    """ConverseStream's text deltas join to Converse's text; metadata carries the usage."""
    whole = runtime.converse(modelId=SONNET, messages=_user(TELEMETRY_PROMPT))
    events = list(runtime.converse_stream(modelId=SONNET, messages=_user(TELEMETRY_PROMPT))["stream"])
    assert "messageStart" in events[0] and "metadata" in events[-1]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert events[-1]["metadata"]["usage"] == whole["usage"]
    assert next(e for e in events if "messageStop" in e)["messageStop"]["stopReason"] == "end_turn"
