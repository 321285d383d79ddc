"""Record and replay: committed cassettes answer identically; a miss fails loudly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulation.bedrock.bedrock_support import (
    CASSETTES,
    SONNET,
    TELEMETRY_PROMPT,
    call_and_read,
    cassette_calls,
    claude_body,
    start_engine,
    without_latency,
)
from tests.helpers import EngineProcess


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An engine replaying the committed cassettes."""
    engine = start_engine(
        tmp_path_factory.mktemp("replay"),
        NEXUSKIT_BEDROCK="replay",
        NEXUSKIT_BEDROCK_CASSETTES=str(CASSETTES),
    )
    yield engine.target().client("bedrock-runtime", max_attempts=0)
    engine.stop()


@pytest.mark.parametrize("index", range(len(cassette_calls())))
def test_replay_answers_like_the_recording(replay: Any, runtime: Any, index: int) -> None:
    """Each committed cassette's call is answered exactly as it was recorded."""
    method, kwargs = cassette_calls()[index]
    replayed = call_and_read(replay, method, kwargs)
    assert without_latency(replayed) == without_latency(call_and_read(runtime, method, kwargs))
    if method == "invoke_model":
        recorded = [json.loads(path.read_text()) for path in CASSETTES.glob("*.json")]
        bodies = [doc["response"].get("body") for doc in recorded]
        assert replayed in bodies


def test_replay_miss_names_the_request_and_the_closest(replay: Any) -> None:
    """A request without a cassette fails with its hash and the closest recorded one."""
    with pytest.raises(ClientError) as excinfo:
        replay.invoke_model(modelId=SONNET, body=claude_body(TELEMETRY_PROMPT + " Be terse."))
    error = excinfo.value.response["Error"]
    assert error["Code"] == "CassetteNotFoundException"
    message = error["Message"]
    assert message.startswith("nexuskit replay: no cassette for request ")
    assert "(InvokeModel anthropic.claude-3-sonnet-20240229-v1:0)" in message
    assert "closest recorded: 10e059063761fc87c107" in message
    assert "first difference at body.messages[0].content" in message
    assert "NEXUSKIT_BEDROCK=record" in message


def test_record_then_replay(tmp_path: Path, engine: EngineProcess) -> None:
    """Record mode forwards to Bedrock (here: a local engine), writes a cassette, and a
    replaying engine then answers the same call identically."""
    cassettes = tmp_path / "cassettes"
    recorder = start_engine(
        tmp_path / "record",
        NEXUSKIT_BEDROCK="record",
        NEXUSKIT_BEDROCK_CASSETTES=str(cassettes),
        NEXUSKIT_BEDROCK_RECORD_ENDPOINT=engine.endpoint,
        AWS_ACCESS_KEY_ID="recording",
        AWS_SECRET_ACCESS_KEY="recording",
    )
    try:
        client = recorder.target().client("bedrock-runtime", max_attempts=0)
        kwargs = {"modelId": SONNET, "messages": [{"role": "user", "content": [{"text": "Record me."}]}]}
        recorded = call_and_read(client, "converse", kwargs)
        with pytest.raises(ClientError) as excinfo:  # errors are recorded too
            client.invoke_model(modelId="anthropic.claude-0", body=claude_body("x"))
        assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    finally:
        recorder.stop()
    files = sorted(cassettes.glob("*.json"))
    assert len(files) == 2
    assert all(json.loads(f.read_text())["recorded"]["from"] == engine.endpoint for f in files)
    replayer = start_engine(
        tmp_path / "replay", NEXUSKIT_BEDROCK="replay", NEXUSKIT_BEDROCK_CASSETTES=str(cassettes)
    )
    try:
        client = replayer.target().client("bedrock-runtime", max_attempts=0)
        assert without_latency(call_and_read(client, "converse", kwargs)) == without_latency(recorded)
        with pytest.raises(ClientError) as excinfo:
            client.invoke_model(modelId="anthropic.claude-0", body=claude_body("x"))
        assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    finally:
        replayer.stop()
