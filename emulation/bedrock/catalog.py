"""The foundation models the engine serves, and how a model identifier resolves to one.

A model identifier may be a model id (``anthropic.claude-3-haiku-20240307-v1:0``), a
cross-region inference profile id (``us.anthropic.claude-3-haiku-20240307-v1:0``), or a
foundation-model / inference-profile ARN. All of them resolve to one :class:`ModelSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["claude", "titan-text", "titan-embed"]

_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "global.")


@dataclass(frozen=True)
class ModelSpec:
    """What the engine knows about one foundation model."""

    model_id: str
    name: str
    provider: str
    family: Family
    #: the largest ``max_tokens`` / ``maxTokenCount`` the model accepts
    max_output_tokens: int = 4096
    #: ``maxTokenCount`` when the body does not say (Titan)
    default_output_tokens: int = 512
    streaming: bool = True
    tools: bool = False
    system_prompts: bool = True
    #: embedding sizes the model can return (first one is the default)
    dimensions: tuple[int, ...] = ()

    @property
    def short_name(self) -> str:
        """The name Anthropic's responses carry in ``model`` (``claude-3-haiku-20240307``)."""
        base = self.model_id.split(".", 1)[-1]
        return base.rsplit("-v", 1)[0] if "-v" in base else base

    def arn(self, region: str) -> str:
        return f"arn:aws:bedrock:{region}::foundation-model/{self.model_id}"

    @property
    def is_text(self) -> bool:
        return self.family != "titan-embed"


def _claude(model_id: str, name: str, max_output: int = 4096) -> ModelSpec:
    return ModelSpec(model_id, name, "Anthropic", "claude", max_output_tokens=max_output, tools=True)


MODELS: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        _claude("anthropic.claude-3-sonnet-20240229-v1:0", "Claude 3 Sonnet"),
        _claude("anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku"),
        _claude("anthropic.claude-3-opus-20240229-v1:0", "Claude 3 Opus"),
        _claude("anthropic.claude-3-5-sonnet-20240620-v1:0", "Claude 3.5 Sonnet", 8192),
        _claude("anthropic.claude-3-5-sonnet-20241022-v2:0", "Claude 3.5 Sonnet v2", 8192),
        _claude("anthropic.claude-3-5-haiku-20241022-v1:0", "Claude 3.5 Haiku", 8192),
        ModelSpec(
            "amazon.titan-text-express-v1",
            "Titan Text G1 - Express",
            "Amazon",
            "titan-text",
            max_output_tokens=8192,
            system_prompts=False,
        ),
        ModelSpec(
            "amazon.titan-text-lite-v1",
            "Titan Text G1 - Lite",
            "Amazon",
            "titan-text",
            max_output_tokens=4096,
            system_prompts=False,
        ),
        ModelSpec(
            "amazon.titan-text-premier-v1:0",
            "Titan Text G1 - Premier",
            "Amazon",
            "titan-text",
            max_output_tokens=3072,
            system_prompts=False,
        ),
        ModelSpec(
            "amazon.titan-embed-text-v1",
            "Titan Embeddings G1 - Text",
            "Amazon",
            "titan-embed",
            streaming=False,
            system_prompts=False,
            dimensions=(1536,),
        ),
        ModelSpec(
            "amazon.titan-embed-text-v2:0",
            "Titan Text Embeddings V2",
            "Amazon",
            "titan-embed",
            streaming=False,
            system_prompts=False,
            dimensions=(1024, 512, 256),
        ),
    )
}


def resolve(identifier: str) -> ModelSpec | None:
    """The model an identifier names (id, inference profile id or ARN), or None."""
    model_id = identifier
    if model_id.startswith("arn:"):
        model_id = model_id.rsplit("/", 1)[-1]
    if model_id not in MODELS:
        for prefix in _PROFILE_PREFIXES:
            if model_id.startswith(prefix):
                model_id = model_id[len(prefix) :]
                break
    return MODELS.get(model_id)


def model_arn(identifier: str, region: str) -> str:
    """The ARN IAM checks ``bedrock:InvokeModel`` against for this identifier."""
    if identifier.startswith("arn:"):
        return identifier
    spec = resolve(identifier)
    model_id = spec.model_id if spec else identifier
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"
