"""The local model: deterministic responders, chosen per model, tried in order.

A responder looks at a :class:`Prompt` and returns a :class:`Reply`, or None to let the
next one try. The default chain for Claude models is

1. :class:`ToolUseResponder` - calls the tool the request names (``tool_choice`` or a tool
   mentioned in the prompt) with arguments read from the prompt; after a tool result it
   answers with what the tool returned;
2. :class:`EntityResponder` - "extract the entities ..." prompts, answered as JSON;
3. :class:`TelemetryResponder` - prompts holding a JSON batch of events, answered with a
   JSON summary (counts, ranges, anomalies, severity, confidence);
4. :class:`TemplateResponder` - an honest, clearly marked placeholder.

Titan text models use the same chain without tool use. Every answer is a pure function
of the prompt: the same input gives the same output in every process.

Plug in your own: ``register("anthropic.claude-3-haiku*", MyResponder())`` puts a
responder at the head of the chain for matching models, and the engine loads
``NEXUSKIT_BEDROCK_RESPONDERS="pattern=module:factory;..."`` at start (``factory()``
returns a responder).
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
from typing import Any, Protocol

from emulation.bedrock import entities, telemetry
from emulation.bedrock.prompt import Prompt, Reply, ToolCall, count_tokens, digest

MARK = "[nexuskit local model]"


class Responder(Protocol):
    """Answers a prompt, or returns None to let the next responder try."""

    name: str

    def respond(self, prompt: Prompt) -> Reply | None: ...


# -- tool use ---------------------------------------------------------------------------------
def _name_pattern(name: str) -> str:
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ").split()
    variants = {re.escape(name), r"[\s_-]*".join(re.escape(word) for word in words)}
    return "(?:" + "|".join(sorted(variants, key=len, reverse=True)) + ")"


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` as the schema's type, or None when it cannot be."""
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    text = value if isinstance(value, str) else None
    try:
        if kind == "integer":
            return int(float(text)) if text is not None else int(value)
        if kind == "number":
            return float(text) if text is not None else float(value)
    except (TypeError, ValueError):
        return None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        lowered = str(value).lower()
        if lowered in {"true", "yes", "on", "enabled", "1"}:
            return True
        if lowered in {"false", "no", "off", "disabled", "0"}:
            return False
        return None
    if kind == "array":
        if isinstance(value, list):
            return value
        return [part.strip() for part in str(value).split(",") if part.strip()]
    if kind == "object":
        return value if isinstance(value, dict) else None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    result = str(value)
    if "enum" in schema and result not in schema["enum"]:
        return None
    return result


_SEPARATOR = r"(?:=|:|\bis\b|\bof\b|\bto\b|\bfor\b)?\s*"
_VALUE = _SEPARATOR + r"(?:\"([^\"]*)\"|'([^']*)'|(\[[^\]]*\])|([^\s,;]+))"
_LIST_VALUE = _SEPARATOR + r"(?:\"([^\"]*)\"|'([^']*)'|(\[[^\]]*\])|([^\s,;]+(?:,\s*[^\s,;]+)*))"


def arguments_from_text(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """Tool arguments for ``schema`` read from ``text`` (JSON, ``key=value``, enums)."""
    properties: dict[str, dict[str, Any]] = schema.get("properties", {}) or {}
    required = list(schema.get("required", []) or [])
    provided: dict[str, Any] = {}
    for value in telemetry.json_values(text):
        if isinstance(value, dict):
            for key, item in value.items():
                provided.setdefault(key, item)
    arguments: dict[str, Any] = {}
    for name, prop in properties.items():
        found: Any = None
        if name in provided:
            found = _coerce(provided[name], prop)
        if found is None:
            value_pattern = _LIST_VALUE if prop.get("type") == "array" else _VALUE
            pattern = re.compile(r"(?i)(?<![\w.])" + _name_pattern(name) + r"\b\s*" + value_pattern)
            for match in pattern.finditer(text):
                raw = next(group for group in match.groups() if group is not None)
                if raw.startswith("["):
                    try:
                        raw = json.loads(raw)
                    except ValueError:
                        raw = raw.strip("[]")
                found = _coerce(raw.rstrip(".") if isinstance(raw, str) else raw, prop)
                if found is not None:
                    break
        if found is None and "enum" in prop:
            lowered = text.lower()
            hits = [(lowered.find(str(v).lower()), v) for v in prop["enum"] if str(v).lower() in lowered]
            if hits:
                found = min(hits)[1]
        if found is None and "default" in prop:
            found = prop["default"]
        if found is not None:
            arguments[name] = found
    missing = [name for name in required if name not in arguments]
    numbers = [n for n in re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", text)]
    quoted = re.findall(r"\"([^\"]+)\"", text)
    for name in missing:
        prop = properties.get(name, {})
        kind = prop.get("type", "string")
        if kind in {"integer", "number"} and numbers:
            arguments[name] = _coerce(numbers.pop(0), prop)
        elif kind == "string":
            arguments[name] = quoted.pop(0) if quoted else text.strip()[:500]
    return arguments


class ToolUseResponder:
    """Calls the tool the request names, with arguments read from the prompt."""

    name = "tool-use"

    def respond(self, prompt: Prompt) -> Reply | None:
        if not prompt.tools or prompt.tool_choice == "none":
            return None
        results = prompt.pending_tool_results
        if results and prompt.tool_choice == "auto":
            parts = [f"{MARK} The tool returned:"]
            parts.extend(text.strip()[:2000] for _, text in results)
            return Reply(text="\n".join(parts), responder=self.name)
        tool = self._choose(prompt)
        if tool is None:
            return None
        call = ToolCall(
            id="toolu_bdrk_" + digest([prompt.key(), tool.name], 24),
            name=tool.name,
            input=arguments_from_text(tool.input_schema, prompt.user_text),
        )
        return Reply(tool_calls=[call], responder=self.name)

    @staticmethod
    def _choose(prompt: Prompt) -> Any:
        by_name = {tool.name: tool for tool in prompt.tools}
        if prompt.tool_choice == "tool" and prompt.forced_tool in by_name:
            return by_name[prompt.forced_tool]
        text = prompt.user_text
        mentions = []
        for tool in prompt.tools:
            match = re.search(r"(?i)(?<![\w])" + _name_pattern(tool.name) + r"(?![\w])", text)
            if match:
                mentions.append((match.start(), tool.name))
        if mentions:
            return by_name[min(mentions)[1]]
        if prompt.tool_choice == "any":
            words = set(re.findall(r"\w+", text.lower()))

            def overlap(tool: Any) -> int:
                return len(words & set(re.findall(r"\w+", f"{tool.name} {tool.description}".lower())))

            return max(prompt.tools, key=overlap)
        return None


# -- JSON answers -----------------------------------------------------------------------------
class EntityResponder:
    """Answers "extract the entities" prompts with typed spans, as JSON."""

    name = "entities"
    _ASK = re.compile(r"(?i)\bentit(?:y|ies)\b|\bextract\s+(?:all\s+|the\s+)?(?:names|people|emails)\b")

    def respond(self, prompt: Prompt) -> Reply | None:
        text = prompt.user_text
        if not self._ASK.search(text):
            return None
        result = entities.extract(entities.focus(text))
        return Reply(text=json.dumps(result, indent=2), responder=self.name)


class TelemetryResponder:
    """Summarises and classifies a JSON batch of events found in the prompt."""

    name = "telemetry"

    def respond(self, prompt: Prompt) -> Reply | None:
        events = telemetry.find_events(prompt.user_text)
        if events is None:
            return None
        return Reply(text=json.dumps(telemetry.summarise(events), indent=2), responder=self.name)


class TemplateResponder:
    """The honest fallback: says plainly that no model answered."""

    name = "template"

    def respond(self, prompt: Prompt) -> Reply | None:
        text = prompt.user_text or prompt.all_text
        opening = " ".join(text.split())[:120]
        answer = (
            f"{MARK} No model was called: this is nexuskit's deterministic local answer for "
            f"{prompt.model_id}. Your prompt ({count_tokens(prompt.all_text)} tokens, digest "
            f'{prompt.key()[:12]}) begins: "{opening}". The local model answers JSON event '
            "batches (summary and classification), entity extraction and tool-use requests; "
            "for real answers record cassettes with NEXUSKIT_BEDROCK=record."
        )
        return Reply(text=answer, responder=self.name)


# -- the registry -----------------------------------------------------------------------------
CLAUDE_CHAIN: tuple[Responder, ...] = (
    ToolUseResponder(),
    EntityResponder(),
    TelemetryResponder(),
    TemplateResponder(),
)
TITAN_CHAIN: tuple[Responder, ...] = (EntityResponder(), TelemetryResponder(), TemplateResponder())

_PLUGINS: list[tuple[str, Responder]] = []


def register(pattern: str, responder: Responder) -> None:
    """Put ``responder`` first in the chain of models matching ``pattern`` (fnmatch)."""
    _PLUGINS.insert(0, (pattern, responder))


def unregister_all() -> None:
    """Forget every registered responder (tests)."""
    _PLUGINS.clear()


def load_plugins(spec: str) -> list[str]:
    """Register ``pattern=module:factory`` entries separated by ``;``; returns patterns."""
    loaded = []
    for entry in filter(None, (part.strip() for part in spec.split(";"))):
        pattern, _, target = entry.partition("=")
        module_name, _, attr = target.partition(":")
        if not (pattern and module_name and attr):
            raise ValueError(f"bad responder plugin {entry!r}: expected pattern=module:factory")
        factory = getattr(importlib.import_module(module_name), attr)
        register(pattern, factory())
        loaded.append(pattern)
    return loaded


def chain_for(model_id: str, family: str) -> list[Responder]:
    """The responders that answer ``model_id``, in the order they are tried."""
    chain = [responder for pattern, responder in _PLUGINS if fnmatch.fnmatchcase(model_id, pattern)]
    chain.extend(CLAUDE_CHAIN if family == "claude" else TITAN_CHAIN)
    return chain


def respond(prompt: Prompt, family: str) -> Reply:
    """The first answer of the model's chain (the template always answers)."""
    for responder in chain_for(prompt.model_id, family):
        reply = responder.respond(prompt)
        if reply is not None:
            reply.responder = reply.responder or responder.name
            return reply
    raise AssertionError("the template responder always answers")
