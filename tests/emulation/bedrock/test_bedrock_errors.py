"""AWS's errors: unknown model, malformed bodies, bounds, quota, unsupported operations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulation.bedrock.bedrock_support import (
    HAIKU,
    SONNET,
    TITAN_EMBED_V1,
    TITAN_TEXT,
    claude_body,
    start_engine,
)


def _error(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_unknown_model(runtime: Any) -> None:
    """An unknown model id is ResourceNotFoundException (404)."""
    code, message, status = _error(
        runtime.invoke_model, modelId="anthropic.claude-9-giant-v1:0", body=claude_body("hi")
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == "Could not resolve the foundation model from the provided model identifier."


def test_missing_max_tokens(runtime: Any) -> None:
    """A Claude body without max_tokens is a malformed input request, worded as AWS does."""
    body = json.dumps(
        {"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "hi"}]}
    )
    code, message, status = _error(runtime.invoke_model, modelId=SONNET, body=body)
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "Malformed input request: #: required key [max_tokens] not found, "
        "please reformat your input and try again."
    )


def test_several_violations_are_counted(runtime: Any) -> None:
    """Two schema violations are reported as a count, as AWS does."""
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens_to_sample": 5})
    _, message, _ = _error(runtime.invoke_model, modelId=SONNET, body=body)
    assert (
        message
        == "Malformed input request: 3 schema violations found, please reformat your input and try again."
    )


def test_wrong_type_and_extraneous_key(runtime: Any) -> None:
    """Type errors name the JSON pointer and both types."""
    _, message, _ = _error(runtime.invoke_model, modelId=HAIKU, body=claude_body("hi", max_tokens="ten"))
    assert message == (
        "Malformed input request: #/max_tokens: expected type: Integer, found: String, "
        "please reformat your input and try again."
    )


def test_body_that_is_not_json(runtime: Any) -> None:
    """A body that is not JSON is a ValidationException."""
    code, message, _ = _error(runtime.invoke_model, modelId=SONNET, body=b"max_tokens=5")
    assert code == "ValidationException" and message.startswith("Malformed input request: ")


def test_max_tokens_bound(runtime: Any) -> None:
    """max_tokens above the model's output limit is refused with Anthropic's message."""
    _, message, _ = _error(runtime.invoke_model, modelId=SONNET, body=claude_body("hi", max_tokens=4097))
    assert message == (
        "max_tokens: 4097 > 4096, which is the maximum allowed number of output tokens "
        "for claude-3-sonnet-20240229"
    )
    _, low, _ = _error(runtime.invoke_model, modelId=SONNET, body=claude_body("hi", max_tokens=0))
    assert "#/max_tokens: 0 is not greater or equal to 1" in low


def test_titan_bounds(runtime: Any) -> None:
    """Titan's maxTokenCount and temperature bounds are schema violations."""
    body = json.dumps({"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 9000}})
    _, message, _ = _error(runtime.invoke_model, modelId=TITAN_TEXT, body=body)
    assert "#/textGenerationConfig/maxTokenCount: 9000 is not less or equal to 8192" in message


def test_roles_must_alternate(runtime: Any) -> None:
    """Two user messages in a row are refused with Anthropic's wording."""
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
        }
    )
    _, message, _ = _error(runtime.invoke_model, modelId=SONNET, body=body)
    assert message.startswith('messages: roles must alternate between "user" and "assistant"')


def test_converse_refuses_embedding_models(runtime: Any) -> None:
    """Converse on an embeddings model is a ValidationException."""
    code, message, _ = _error(
        runtime.converse, modelId=TITAN_EMBED_V1, messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    assert code == "ValidationException" and "doesn't support the model" in message


def test_streaming_an_embeddings_model(runtime: Any) -> None:
    """Embedding models do not stream."""
    code, _, _ = _error(
        runtime.invoke_model_with_response_stream, modelId=TITAN_EMBED_V1, body=json.dumps({"inputText": "x"})
    )
    assert code == "ValidationException"


def test_requests_per_minute_quota(tmp_path: Path) -> None:
    """Over the per-model requests/minute quota, calls get ThrottlingException (429)."""
    engine = start_engine(tmp_path, NEXUSKIT_BEDROCK_RPM=f"{HAIKU}=2,*=100")
    try:
        runtime = engine.target().client("bedrock-runtime", max_attempts=0)
        for _ in range(2):
            runtime.invoke_model(modelId=HAIKU, body=claude_body("hi"))
        code, message, status = _error(runtime.invoke_model, modelId=HAIKU, body=claude_body("hi"))
        assert (code, status) == ("ThrottlingException", 429)
        assert message == "Too many requests, please wait before trying again."
        runtime.invoke_model(modelId=SONNET, body=claude_body("hi"))  # other models keep their own quota
        assert engine.health()["extensions"]["bedrock"]["throttled"] == 1  # type: ignore[index]
    finally:
        engine.stop()


def test_the_runtime_loads_on_its_first_call_and_bad_settings_still_fail_the_start(tmp_path: Path) -> None:
    """The local runtime is made on the first Bedrock request (health reads the same
    before it), and a bad setting is still refused when the engine starts."""
    with pytest.raises(RuntimeError, match="NEXUSKIT_BEDROCK must be local, replay or record, not 'bogus'"):
        start_engine(tmp_path / "bad", NEXUSKIT_BEDROCK="bogus")
    engine = start_engine(tmp_path / "good")
    try:
        before = engine.health()["extensions"]["bedrock"]  # type: ignore[index]
        assert before == {
            "mode": "local",
            "cassettes": None,
            "cassette_count": None,
            "rpm": None,
            "invocations": {},
            "throttled": 0,
        }
        runtime = engine.target().client("bedrock-runtime", max_attempts=0)
        runtime.invoke_model(modelId=HAIKU, body=claude_body("hi"))
        after = engine.health()["extensions"]["bedrock"]  # type: ignore[index]
        assert after == {**before, "invocations": {"InvokeModel": 1}}
    finally:
        engine.stop()
