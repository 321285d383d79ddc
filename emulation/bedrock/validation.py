"""Request validation as Bedrock does it.

InvokeModel bodies are checked against each model family's JSON schema and violations are
worded the way Bedrock's validator words them (``#/max_tokens: 0 is not greater or equal
to 1``); several violations are only counted, as AWS does (nexuskit lists them in an
extra ``violations`` body field). Semantic checks that Anthropic's API makes after the
schema (roles, ``max_tokens`` bound) use Anthropic's wording, as Bedrock relays it.
Converse requests use the Converse API's own messages.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from emulation.bedrock.catalog import ModelSpec
from emulation.bedrock.exceptions import ValidationException

Schema = dict[str, Any]

_TYPE_NAMES = {
    "object": "JSONObject",
    "array": "JSONArray",
    "string": "String",
    "integer": "Integer",
    "number": "Number",
    "boolean": "Boolean",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "JSONArray"
    return "JSONObject"


def _matches(value: Any, type_name: str) -> bool:
    found = _json_type(value)
    if type_name == "number":
        return found in {"Integer", "Number"}
    if type_name == "integer" and isinstance(value, float):
        return value.is_integer()
    return found == _TYPE_NAMES[type_name]


def _num(value: Any) -> str:
    return json.dumps(value)


def violations(value: Any, schema: Schema, path: str = "#") -> list[str]:
    """Every violation of ``schema`` by ``value``, in the validator's wording."""
    found: list[str] = []
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_matches(value, name) for name in names):
            if len(names) == 1:
                expected = f"expected type: {_TYPE_NAMES[names[0]]}"
            else:
                expected = "expected type is one of " + ", ".join(_TYPE_NAMES[n] for n in names)
            return [f"{path}: {expected}, found: {_json_type(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value} is not a valid enum value")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: {_num(value)} is not greater or equal to {_num(schema['minimum'])}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: {_num(value)} is not less or equal to {_num(schema['maximum'])}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(f"{path}: expected minLength: {schema['minLength']}, actual: {len(value)}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path}: expected maxLength: {schema['maxLength']}, actual: {len(value)}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            found.append(f"{path}: expected minimum item count: {schema['minItems']}, found: {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(f"{path}: expected maximum item count: {schema['maxItems']}, found: {len(value)}")
        if "items" in schema:
            for index, item in enumerate(value):
                found.extend(violations(item, schema["items"], f"{path}/{index}"))
    if isinstance(value, dict):
        properties: dict[str, Schema] = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                found.append(f"{path}: required key [{key}] not found")
        if schema.get("additionalProperties") is False:
            for key in value:
                if key not in properties:
                    found.append(f"{path}: extraneous key [{key}] is not permitted")
        for key, sub in properties.items():
            if key in value:
                found.extend(violations(value[key], sub, f"{path}/{key}"))
    return found


# -- schemas ---------------------------------------------------------------------------------
_TEXT_BLOCK: Schema = {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}
_CONTENT_BLOCK: Schema = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "type": "string",
            "enum": ["text", "image", "document", "tool_use", "tool_result"],
        }
    },
}
_MESSAGE: Schema = {
    "type": "object",
    "required": ["role", "content"],
    "additionalProperties": False,
    "properties": {
        "role": {"type": "string", "enum": ["user", "assistant"]},
        "content": {"type": ["string", "array"], "items": _CONTENT_BLOCK},
    },
}
_TOOL: Schema = {
    "type": "object",
    "required": ["name", "input_schema"],
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string"},
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
        "description": {"type": "string"},
        "input_schema": {"type": "object"},
        "cache_control": {"type": "object"},
    },
}


def claude_schema() -> Schema:
    return {
        "type": "object",
        "required": ["anthropic_version", "max_tokens", "messages"],
        "additionalProperties": False,
        "properties": {
            "anthropic_version": {"type": "string", "enum": ["bedrock-2023-05-31"]},
            "anthropic_beta": {"type": "array", "items": {"type": "string"}},
            "max_tokens": {"type": "integer", "minimum": 1},
            "messages": {"type": "array", "items": _MESSAGE},
            "system": {"type": ["string", "array"], "items": _TEXT_BLOCK},
            "temperature": {"type": "number", "minimum": 0, "maximum": 1},
            "top_p": {"type": "number", "minimum": 0, "maximum": 1},
            "top_k": {"type": "integer", "minimum": 0, "maximum": 500},
            "stop_sequences": {"type": "array", "items": {"type": "string"}},
            "tools": {"type": "array", "items": _TOOL},
            "tool_choice": {
                "type": "object",
                "required": ["type"],
                "additionalProperties": False,
                "properties": {
                    "type": {"type": "string", "enum": ["auto", "any", "tool", "none"]},
                    "name": {"type": "string"},
                    "disable_parallel_tool_use": {"type": "boolean"},
                },
            },
            "metadata": {"type": "object"},
        },
    }


def titan_text_schema(spec: ModelSpec) -> Schema:
    return {
        "type": "object",
        "required": ["inputText"],
        "additionalProperties": False,
        "properties": {
            "inputText": {"type": "string", "minLength": 1},
            "textGenerationConfig": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "temperature": {"type": "number", "minimum": 0, "maximum": 1},
                    "topP": {"type": "number", "minimum": 0, "maximum": 1},
                    "maxTokenCount": {"type": "integer", "minimum": 0, "maximum": spec.max_output_tokens},
                    "stopSequences": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    }


def titan_embed_schema(spec: ModelSpec) -> Schema:
    properties: dict[str, Schema] = {"inputText": {"type": "string", "minLength": 1}}
    if len(spec.dimensions) > 1:  # v2 takes options
        properties["dimensions"] = {"type": "integer", "enum": list(spec.dimensions)}
        properties["normalize"] = {"type": "boolean"}
        properties["embeddingTypes"] = {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "enum": ["float", "binary"]},
        }
    return {
        "type": "object",
        "required": ["inputText"],
        "additionalProperties": False,
        "properties": properties,
    }


def parse_json_body(body: bytes) -> Any:
    """The body as JSON, or the ValidationException Bedrock answers for a non-JSON body."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationException.malformed([f"#: expected a JSON document ({exc})"]) from exc


def check_invoke_body(spec: ModelSpec, body: Any) -> None:
    """Raise ValidationException when an InvokeModel body is not what ``spec`` accepts."""
    if spec.family == "claude":
        schema = claude_schema()
    elif spec.family == "titan-text":
        schema = titan_text_schema(spec)
    else:
        schema = titan_embed_schema(spec)
    found = violations(body, schema)
    if found:
        raise ValidationException.malformed(found)
    if spec.family == "claude":
        _check_claude_semantics(spec, body)


def _check_claude_semantics(spec: ModelSpec, body: dict[str, Any]) -> None:
    max_tokens = int(body["max_tokens"])
    if max_tokens > spec.max_output_tokens:
        raise ValidationException(
            f"max_tokens: {max_tokens} > {spec.max_output_tokens}, which is the maximum allowed "
            f"number of output tokens for {spec.short_name}"
        )
    messages: list[dict[str, Any]] = body["messages"]
    if not messages:
        raise ValidationException("messages: at least one message is required")
    if messages[0]["role"] != "user":
        raise ValidationException('messages: first message must use the "user" role')
    for previous, current in itertools.pairwise(messages):
        if previous["role"] == current["role"]:
            raise ValidationException(
                'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{current["role"]}" roles in a row'
            )
    for index, message in enumerate(messages):
        content = message["content"]
        if isinstance(content, str):
            continue
        if not content:
            raise ValidationException(f"messages.{index}.content: at least one content block is required")
        for block_index, block in enumerate(content):
            where = f"messages.{index}.content.{block_index}"
            kind = block["type"]
            if kind == "text" and not isinstance(block.get("text"), str):
                raise ValidationException(f"{where}.text: Field required")
            if kind == "tool_use":
                for field in ("id", "name", "input"):
                    if field not in block:
                        raise ValidationException(f"{where}.{field}: Field required")
            if kind == "tool_result" and "tool_use_id" not in block:
                raise ValidationException(f"{where}.tool_use_id: Field required")
    choice = body.get("tool_choice")
    if choice and choice["type"] == "tool":
        name = choice.get("name")
        if not name:
            raise ValidationException("tool_choice.name: Field required")
        names = {tool["name"] for tool in body.get("tools", [])}
        if name not in names:
            raise ValidationException(f"tool_choice.name: tool {name!r} is not among the request's tools")


# -- Converse ---------------------------------------------------------------------------------
UNSUPPORTED_ACTION = (
    "This action doesn't support the model that you provided. Try again with a supported text or chat model."
)


def check_converse(spec: ModelSpec, request: dict[str, Any]) -> None:
    """Raise ValidationException for a Converse request this model refuses."""
    if not spec.is_text:
        raise ValidationException(UNSUPPORTED_ACTION)
    messages = request.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        raise ValidationException(
            "A conversation must start with a user message. "
            "Try again with a conversation that starts with a user message."
        )
    for previous, current in itertools.pairwise(messages):
        if previous.get("role") == current.get("role"):
            raise ValidationException(
                "A conversation must alternate between user and assistant roles. Make sure the "
                "conversation alternates between user and assistant roles and try again."
            )
    config = request.get("inferenceConfig") or {}
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and max_tokens > spec.max_output_tokens:
        limit = spec.max_output_tokens
        raise ValidationException(
            f"The maximum tokens you requested exceeds the model limit of {limit}. "
            f"Try again with a maximum tokens value that is lower than {limit}."
        )
    for key in ("temperature", "topP"):
        value = config.get(key)
        if value is not None and not 0 <= value <= 1:
            raise ValidationException(f"The value at inferenceConfig.{key} must be between 0 and 1.")
    if request.get("toolConfig") and not spec.tools:
        raise ValidationException("This model doesn't support tool use.")
    if request.get("system") and not spec.system_prompts:
        raise ValidationException("This model doesn't support system messages.")
