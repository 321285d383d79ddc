"""The local model's parts, in process: responders, validation wording, framing, cassettes."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from emulation.bedrock import embeddings, entities, eventstream, responders, telemetry
from emulation.bedrock.cassettes import first_difference, normalise_request, request_hash
from emulation.bedrock.catalog import resolve
from emulation.bedrock.config import parse_rpm
from emulation.bedrock.exceptions import ValidationException
from emulation.bedrock.prompt import Prompt, Reply, Turn, complete, count_tokens
from emulation.bedrock.responses import match_runtime_call
from emulation.bedrock.validation import check_invoke_body
from emulation.core.request import AwsRequest
from tests.emulation.bedrock.bedrock_support import EVENTS, SONNET, TITAN_TEXT


def _prompt(text: str, **extra: Any) -> Prompt:
    return Prompt(model_id=SONNET, turns=(Turn("user", text),), max_tokens=4096, **extra)


def test_summary_of_a_critical_batch() -> None:
    """A batch with a critical event is classified critical; counts are exact."""
    events = [{"level": "info", "latency_ms": 10 + i} for i in range(8)] + [
        {"level": "critical", "latency_ms": 12}
    ]
    summary = telemetry.summarise(events)
    assert summary["event_count"] == 9
    assert summary["categories"]["level"] == {"info": 8, "critical": 1}
    assert (summary["severity"], summary["classification"]) == ("critical", "critical")
    assert summary["error_count"] == 1


def test_quiet_batch_is_nominal() -> None:
    """A batch without outliers or errors is low severity and nominal."""
    summary = telemetry.summarise([{"value": 5 + (i % 3)} for i in range(20)])
    assert (summary["severity"], summary["classification"], summary["anomaly_count"]) == ("low", "nominal", 0)
    assert 0.5 < summary["confidence"] <= 1


def test_events_found_as_json_lines() -> None:
    """One JSON object per line counts as a batch."""
    text = "Classify these:\n" + "\n".join(json.dumps(event) for event in EVENTS)
    found = telemetry.find_events(text)
    assert found is not None and len(found) == len(EVENTS)


def test_entities_skip_sentence_openers() -> None:
    """A capitalised word that only opens a sentence is not taken for a name."""
    result = entities.extract("Yesterday Ada Lovelace met ops@nexus.example. Nothing else.")
    assert [(e["type"], e["text"]) for e in result["entities"]] == [
        ("name", "Ada Lovelace"),
        ("email", "ops@nexus.example"),
    ]


def test_tool_arguments_from_prompt_text() -> None:
    """Arguments come from key=value text, JSON, enum words and defaults, typed by the schema."""
    schema = {
        "type": "object",
        "properties": {
            "stream": {"type": "string"},
            "limit": {"type": "integer"},
            "tier": {"type": "string", "enum": ["bronze", "silver", "gold"]},
            "dry_run": {"type": "boolean", "default": False},
            "tags": {"type": "array"},
        },
        "required": ["stream"],
    }
    text = 'Read stream "nexus-dev-intake" into silver with limit 50 and tags=a,b'
    assert responders.arguments_from_text(schema, text) == {
        "stream": "nexus-dev-intake",
        "limit": 50,
        "tier": "silver",
        "dry_run": False,
        "tags": ["a", "b"],
    }


def test_template_fallback_is_marked_and_deterministic() -> None:
    """The fallback says it is the local model, and is the same for the same prompt."""
    first = responders.respond(_prompt("What is the meaning of life?"), "claude")
    second = responders.respond(_prompt("What is the meaning of life?"), "claude")
    assert first.responder == "template" and first.text == second.text
    assert first.text.startswith("[nexuskit local model]")


class _Echo:
    name = "echo"

    def respond(self, prompt: Prompt) -> Reply | None:
        return Reply(text=prompt.user_text.upper())


@pytest.fixture
def echo_plugin() -> Iterator[None]:
    responders.register("anthropic.claude-3-sonnet*", _Echo())
    yield
    responders.unregister_all()


def test_registered_responder_comes_first(echo_plugin: None) -> None:
    """A registered responder answers the models its pattern matches, and only those."""
    assert responders.respond(_prompt("hello"), "claude").text == "HELLO"
    titan = Prompt(model_id=TITAN_TEXT, turns=(Turn("user", "hello"),))
    assert responders.respond(titan, "titan-text").responder == "template"


def test_prefill_is_continued() -> None:
    """With an assistant prefill, the answer continues it instead of repeating it."""
    prompt = Prompt(
        model_id=SONNET,
        turns=(Turn("user", json.dumps(EVENTS)), Turn("assistant", "{")),
        max_tokens=4096,
    )
    completion = complete(prompt, responders.respond(prompt, "claude"))
    assert json.loads("{" + completion.text)["event_count"] == len(EVENTS)


def test_token_counter() -> None:
    """Words and punctuation are tokens; long words count one per four characters."""
    assert count_tokens("") == 0
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("internationalisation") == 4


def test_schema_wording() -> None:
    """Schema violations are worded like Bedrock's validator."""
    spec = resolve(TITAN_TEXT)
    assert spec is not None
    with pytest.raises(ValidationException) as excinfo:
        check_invoke_body(spec, {"inputText": "x", "textGenerationConfig": {"topP": 2}, "extra": 1})
    assert excinfo.value.extra["violations"] == [
        "#: extraneous key [extra] is not permitted",
        "#/textGenerationConfig/topP: 2 is not less or equal to 1",
    ]


def test_event_stream_frames_parse_with_botocore() -> None:
    """Encoded chunks are valid event stream messages (prelude and message CRCs)."""
    buffer = EventStreamBuffer()
    buffer.add_data(
        eventstream.encode_chunk({"type": "message_stop"}) + eventstream.encode_event("x", {"a": 1})
    )
    first, second = list(buffer)
    assert first.headers[":event-type"] == "chunk"
    assert json.loads(base64.b64decode(json.loads(first.payload)["bytes"])) == {"type": "message_stop"}
    assert json.loads(second.payload) == {"a": 1}


def test_embedding_is_stable() -> None:
    """The hashing embedding of a text does not change between calls."""
    assert embeddings.embed("nexus intake", 64) == embeddings.embed("nexus intake", 64)
    assert embeddings.to_binary([0.5, -0.1, 0.0]) == [1, 0, 0]


def test_request_normalisation() -> None:
    """Profile ids resolve and volatile fields drop out before hashing."""
    a = normalise_request("Converse", "us." + SONNET, {"messages": [], "requestMetadata": {"run": "1"}})
    b = normalise_request("Converse", SONNET, {"messages": []})
    assert request_hash(a) == request_hash(b)
    assert first_difference({"x": [1, {"y": 2}]}, {"x": [1, {"y": 3}]}) == "x[1].y"


def test_rpm_setting() -> None:
    """NEXUSKIT_BEDROCK_RPM accepts one number or per-model entries."""
    assert parse_rpm("") == {} and parse_rpm("0") == {}
    assert parse_rpm("60") == {"*": 60}
    assert parse_rpm(f"{SONNET}=5,*=50") == {SONNET: 5, "*": 50}


def test_runtime_calls_are_recognisable() -> None:
    """A runtime request maps to its operation, IAM action and model ARN (for IAM)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/model/{SONNET}/converse-stream",
        "RAW_URI": "/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse-stream",
        "wsgi.input": io.BytesIO(b""),
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKIA/20261126/us-west-2/bedrock/aws4_request, x",
    }
    call = match_runtime_call(AwsRequest.from_environ(environ))
    assert call is not None
    assert (call.operation, call.iam_action) == ("ConverseStream", "bedrock:InvokeModelWithResponseStream")
    assert call.resource_arn == f"arn:aws:bedrock:us-west-2::foundation-model/{SONNET}"
