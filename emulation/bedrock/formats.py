"""Each API's request shape to a :class:`Prompt`, and a :class:`Completion` to its answer.

Covers Anthropic's Messages API (``anthropic_version: bedrock-2023-05-31``), Amazon Titan
text, and the Converse API, with their streaming event sequences. Latency figures are
written as 0 here and stamped by :func:`emulation.bedrock.models.stamp_latency` once the
answer is known (so cassettes never hold a volatile number).
"""

from __future__ import annotations

import json
import re
from typing import Any

from emulation.bedrock.catalog import ModelSpec
from emulation.bedrock.prompt import Completion, Prompt, ToolCall, ToolSpec, Turn, digest

#: (event type, payload) pairs of a streamed answer
Events = list[tuple[str, Any]]

_TITAN_REASON = {
    "end_turn": "FINISH",
    "tool_use": "FINISH",
    "max_tokens": "LENGTH",
    "stop_sequence": "STOP_CRITERIA_MET",
}


def text_pieces(text: str, words: int = 4) -> list[str]:
    """``text`` in small pieces (a few words each), as a model streams it."""
    tokens = re.findall(r"\s*\S+", text)
    pieces = ["".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]
    return pieces or [""]


# -- Anthropic Messages -----------------------------------------------------------------------
def _claude_block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif isinstance(block, dict) and "json" in block:
            parts.append(json.dumps(block["json"]))
    return "\n".join(parts)


def claude_prompt(spec: ModelSpec, body: dict[str, Any]) -> Prompt:
    turns = []
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            turns.append(Turn(role=message["role"], text=content))
            continue
        texts, calls, results = [], [], []
        for block in content:
            kind = block.get("type")
            if kind == "text":
                texts.append(block["text"])
            elif kind == "tool_use":
                calls.append(ToolCall(block["id"], block["name"], block.get("input") or {}))
            elif kind == "tool_result":
                results.append((block["tool_use_id"], _claude_block_text(block.get("content", ""))))
        turns.append(Turn(message["role"], "\n".join(texts), tuple(calls), tuple(results)))
    system = body.get("system", "")
    if isinstance(system, list):
        system = _claude_block_text(system)
    choice = body.get("tool_choice") or {}
    tools = tuple(
        ToolSpec(tool["name"], tool.get("description", ""), tool.get("input_schema") or {})
        for tool in body.get("tools", [])
    )
    return Prompt(
        model_id=spec.model_id,
        turns=tuple(turns),
        system=system,
        tools=tools,
        tool_choice=choice.get("type", "auto"),
        forced_tool=choice.get("name"),
        max_tokens=int(body["max_tokens"]),
        stop_sequences=tuple(body.get("stop_sequences", [])),
    )


def _claude_content(completion: Completion) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if completion.text or not completion.tool_calls:
        content.append({"type": "text", "text": completion.text})
    for call in completion.tool_calls:
        content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.input})
    return content


def claude_message_id(prompt: Prompt) -> str:
    return "msg_bdrk_01" + digest(prompt.key(), 22)


def claude_body(spec: ModelSpec, prompt: Prompt, completion: Completion) -> dict[str, Any]:
    return {
        "id": claude_message_id(prompt),
        "type": "message",
        "role": "assistant",
        "model": spec.short_name,
        "content": _claude_content(completion),
        "stop_reason": completion.stop_reason,
        "stop_sequence": completion.stop_sequence,
        "usage": {"input_tokens": completion.input_tokens, "output_tokens": completion.output_tokens},
    }


def invocation_metrics(completion: Completion) -> dict[str, int]:
    return {
        "inputTokenCount": completion.input_tokens,
        "outputTokenCount": completion.output_tokens,
        "invocationLatency": 0,
        "firstByteLatency": 0,
    }


def claude_events(spec: ModelSpec, prompt: Prompt, completion: Completion) -> Events:
    """The chunks of InvokeModelWithResponseStream for a Claude model."""
    message = claude_body(spec, prompt, completion)
    message.update(content=[], stop_reason=None, stop_sequence=None)
    message["usage"] = {"input_tokens": completion.input_tokens, "output_tokens": 1}
    events: Events = [("chunk", {"type": "message_start", "message": message})]
    for index, block in enumerate(_claude_content(completion)):
        start: dict[str, Any]
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in text_pieces(block["text"])]
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            raw = json.dumps(block["input"])
            deltas = [
                {"type": "input_json_delta", "partial_json": raw[i : i + 24]} for i in range(0, len(raw), 24)
            ]
        events.append(("chunk", {"type": "content_block_start", "index": index, "content_block": start}))
        events.extend(
            ("chunk", {"type": "content_block_delta", "index": index, "delta": delta}) for delta in deltas
        )
        events.append(("chunk", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "chunk",
            {
                "type": "message_delta",
                "delta": {"stop_reason": completion.stop_reason, "stop_sequence": completion.stop_sequence},
                "usage": {"output_tokens": completion.output_tokens},
            },
        )
    )
    events.append(
        (
            "chunk",
            {"type": "message_stop", "amazon-bedrock-invocationMetrics": invocation_metrics(completion)},
        )
    )
    return events


# -- Amazon Titan text ------------------------------------------------------------------------
def titan_prompt(spec: ModelSpec, body: dict[str, Any]) -> Prompt:
    config = body.get("textGenerationConfig") or {}
    max_tokens = config.get("maxTokenCount", spec.default_output_tokens)
    return Prompt(
        model_id=spec.model_id,
        turns=(Turn(role="user", text=body["inputText"]),),
        max_tokens=int(max_tokens),
        stop_sequences=tuple(config.get("stopSequences", [])),
    )


def titan_body(completion: Completion) -> dict[str, Any]:
    return {
        "inputTextTokenCount": completion.input_tokens,
        "results": [
            {
                "tokenCount": completion.output_tokens,
                "outputText": completion.text,
                "completionReason": _TITAN_REASON[completion.stop_reason],
            }
        ],
    }


def titan_events(completion: Completion) -> Events:
    pieces = text_pieces(completion.text, words=8)
    events: Events = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        chunk: dict[str, Any] = {
            "outputText": piece,
            "index": 0,
            "totalOutputTextTokenCount": completion.output_tokens if last else None,
            "completionReason": _TITAN_REASON[completion.stop_reason] if last else None,
            "inputTextTokenCount": completion.input_tokens if index == 0 else None,
        }
        if last:
            chunk["amazon-bedrock-invocationMetrics"] = invocation_metrics(completion)
        events.append(("chunk", chunk))
    return events


# -- Converse ---------------------------------------------------------------------------------
def _converse_result_text(content: list[dict[str, Any]]) -> str:
    parts = []
    for block in content or []:
        if "text" in block:
            parts.append(str(block["text"]))
        elif "json" in block:
            parts.append(json.dumps(block["json"], sort_keys=True))
    return "\n".join(parts)


def converse_prompt(spec: ModelSpec, request: dict[str, Any]) -> Prompt:
    turns = []
    for message in request.get("messages", []):
        texts, calls, results = [], [], []
        for block in message.get("content", []):
            if "text" in block:
                texts.append(str(block["text"]))
            elif "toolUse" in block:
                use = block["toolUse"]
                calls.append(ToolCall(use.get("toolUseId", ""), use.get("name", ""), use.get("input") or {}))
            elif "toolResult" in block:
                result = block["toolResult"]
                results.append(
                    (result.get("toolUseId", ""), _converse_result_text(result.get("content", [])))
                )
        turns.append(Turn(message.get("role", "user"), "\n".join(texts), tuple(calls), tuple(results)))
    system = "\n".join(str(block.get("text", "")) for block in request.get("system", []) if "text" in block)
    config = request.get("inferenceConfig") or {}
    tool_config = request.get("toolConfig") or {}
    tools = tuple(
        ToolSpec(
            tool["toolSpec"]["name"],
            tool["toolSpec"].get("description", ""),
            (tool["toolSpec"].get("inputSchema") or {}).get("json") or {},
        )
        for tool in tool_config.get("tools", [])
        if "toolSpec" in tool
    )
    choice = tool_config.get("toolChoice") or {}
    tool_choice: Any = "auto"
    forced = None
    if "any" in choice:
        tool_choice = "any"
    elif "tool" in choice:
        tool_choice, forced = "tool", choice["tool"].get("name")
    default_max = spec.max_output_tokens if spec.family == "claude" else spec.default_output_tokens
    return Prompt(
        model_id=spec.model_id,
        turns=tuple(turns),
        system=system,
        tools=tools,
        tool_choice=tool_choice,
        forced_tool=forced,
        max_tokens=int(config.get("maxTokens", default_max)),
        stop_sequences=tuple(config.get("stopSequences", [])),
    )


def _converse_content(completion: Completion) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if completion.text or not completion.tool_calls:
        content.append({"text": completion.text})
    for call in completion.tool_calls:
        content.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.input}})
    return content


def _usage(completion: Completion) -> dict[str, int]:
    return {
        "inputTokens": completion.input_tokens,
        "outputTokens": completion.output_tokens,
        "totalTokens": completion.input_tokens + completion.output_tokens,
    }


def converse_body(completion: Completion) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": _converse_content(completion)}},
        "stopReason": completion.stop_reason,
        "usage": _usage(completion),
        "metrics": {"latencyMs": 0},
    }


def converse_events(completion: Completion) -> Events:
    events: Events = [("messageStart", {"role": "assistant"})]
    for index, block in enumerate(_converse_content(completion)):
        if "text" in block:
            events.extend(
                ("contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": index})
                for piece in text_pieces(block["text"])
            )
        else:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            events.append(("contentBlockStart", {"start": start, "contentBlockIndex": index}))
            raw = json.dumps(use["input"])
            events.extend(
                (
                    "contentBlockDelta",
                    {"delta": {"toolUse": {"input": raw[i : i + 24]}}, "contentBlockIndex": index},
                )
                for i in range(0, len(raw), 24)
            )
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
    events.append(("messageStop", {"stopReason": completion.stop_reason}))
    events.append(("metadata", {"usage": _usage(completion), "metrics": {"latencyMs": 0}}))
    return events
