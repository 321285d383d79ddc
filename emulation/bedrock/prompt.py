"""The model-independent view of one inference request, and the local token counter.

Every API (Claude Messages, Titan text, Converse) is turned into a :class:`Prompt`; the
responders answer a Prompt with a :class:`Reply`; the API then renders the reply in its
own shape. Token counts come from :func:`count_tokens`, a deterministic approximation of
a BPE tokenizer (a word or punctuation mark is one token, long words about one token per
4.5 characters): close to real counts for English, good enough for quotas and dashboards.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

ToolChoice = Literal["auto", "any", "tool", "none"]

_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _piece_tokens(piece: str) -> int:
    return max(1, round(len(piece) / 4.5))


def count_tokens(text: str) -> int:
    """Tokens in ``text`` by nexuskit's approximation (0 for empty text)."""
    return sum(_piece_tokens(piece) for piece in _TOKEN_RE.findall(text))


def truncate_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` with at most ``limit`` tokens."""
    used = 0
    for match in _TOKEN_RE.finditer(text):
        used += _piece_tokens(match.group())
        if used > limit:
            return text[: match.start()].rstrip()
    return text


def digest(value: Any, size: int = 24) -> str:
    """A stable hex digest of a JSON-able value (the same in every process)."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:size]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the caller offers the model."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolCall:
    """The model's request to call a tool."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Turn:
    """One message of the conversation, flattened to text plus tool traffic."""

    role: str
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    #: (tool_use_id, result text) pairs
    tool_results: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Prompt:
    """One inference request, whatever API it came through."""

    model_id: str
    turns: tuple[Turn, ...]
    system: str = ""
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = "auto"
    forced_tool: str | None = None
    max_tokens: int = 512
    stop_sequences: tuple[str, ...] = ()

    @property
    def user_text(self) -> str:
        """The text of the last user turn (what the model is asked)."""
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.text
        return ""

    @property
    def all_text(self) -> str:
        """System prompt and every turn's text, in order."""
        return "\n".join([self.system, *(turn.text for turn in self.turns)]).strip()

    @property
    def prefill(self) -> str:
        """Text of a trailing assistant turn: the answer must continue it."""
        if self.turns and self.turns[-1].role == "assistant":
            return self.turns[-1].text
        return ""

    @property
    def pending_tool_results(self) -> tuple[tuple[str, str], ...]:
        """Tool results in the last user turn (the model asked, the caller answered)."""
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.tool_results
        return ()

    def input_tokens(self) -> int:
        tokens = count_tokens(self.system)
        for turn in self.turns:
            tokens += 3 + count_tokens(turn.text)
            tokens += sum(count_tokens(json.dumps(call.input)) + 5 for call in turn.tool_calls)
            tokens += sum(count_tokens(text) + 3 for _, text in turn.tool_results)
        for tool in self.tools:
            tokens += count_tokens(tool.name + " " + tool.description) + count_tokens(
                json.dumps(tool.input_schema)
            )
        return tokens

    def key(self) -> str:
        """A digest of everything that determines the answer."""
        return digest(
            {
                "model": self.model_id,
                "system": self.system,
                "turns": [
                    [t.role, t.text, [[c.name, c.input] for c in t.tool_calls], list(t.tool_results)]
                    for t in self.turns
                ],
                "tools": [[t.name, t.description, t.input_schema] for t in self.tools],
                "choice": [self.tool_choice, self.forced_tool],
            }
        )


@dataclass
class Reply:
    """A responder's answer: text, tool calls, or both."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    #: the responder that produced it (for logs and health)
    responder: str = ""


@dataclass(frozen=True)
class Completion:
    """A reply with the limits of the request applied: what the API renders."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    stop_reason: Literal["end_turn", "max_tokens", "stop_sequence", "tool_use"]
    stop_sequence: str | None
    input_tokens: int
    output_tokens: int
    responder: str


def complete(prompt: Prompt, reply: Reply) -> Completion:
    """Apply prefill, stop sequences and ``max_tokens`` to a reply."""
    text = reply.text
    prefill = prompt.prefill
    if prefill and text.startswith(prefill):
        text = text[len(prefill) :]
    stop_reason: Literal["end_turn", "max_tokens", "stop_sequence", "tool_use"] = "end_turn"
    stop_sequence: str | None = None
    hits = [(text.find(seq), seq) for seq in prompt.stop_sequences if seq and seq in text]
    if hits:
        position, stop_sequence = min(hits)
        text = text[:position]
        stop_reason = "stop_sequence"
    tool_calls = tuple(reply.tool_calls)
    if count_tokens(text) > prompt.max_tokens:
        text = truncate_tokens(text, prompt.max_tokens)
        stop_reason, stop_sequence, tool_calls = "max_tokens", None, ()
    elif tool_calls:
        stop_reason = "tool_use"
    output = count_tokens(text) + sum(count_tokens(json.dumps(c.input)) + 5 for c in tool_calls)
    return Completion(
        text=text,
        tool_calls=tool_calls,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_tokens=prompt.input_tokens(),
        output_tokens=max(output, 1),
        responder=reply.responder,
    )
