"""Re-record the cassettes under scenarios/cassettes/bedrock (run by hand, not a test).

    .venv/bin/python -m tests.emulation.bedrock.record_cassettes

With no real Bedrock here, the committed cassettes are recorded through record mode from
a second engine in local mode (``NEXUSKIT_BEDROCK_RECORD_ENDPOINT``): the same code path
as recording from AWS, with local-model answers. To record from AWS instead, run an
engine with ``NEXUSKIT_BEDROCK=record`` and real credentials and make the same calls.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.emulation.bedrock.bedrock_support import CASSETTES, call_and_read, cassette_calls, start_engine

SOURCE = "nexuskit engine in local mode, through record mode (tests/emulation/bedrock/record_cassettes.py)"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        local = start_engine(Path(tmp) / "local")
        recorder = start_engine(
            Path(tmp) / "record",
            NEXUSKIT_BEDROCK="record",
            NEXUSKIT_BEDROCK_CASSETTES=str(CASSETTES),
            NEXUSKIT_BEDROCK_RECORD_ENDPOINT=local.endpoint,
            AWS_ACCESS_KEY_ID="recording",
            AWS_SECRET_ACCESS_KEY="recording",
        )
        try:
            client = recorder.target().client("bedrock-runtime")
            for method, kwargs in cassette_calls():
                call_and_read(client, method, kwargs)
        finally:
            recorder.stop()
            local.stop()
    for path in sorted(CASSETTES.glob("*.json")):
        doc = json.loads(path.read_text())
        doc["recorded"]["from"] = SOURCE
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        print(path.relative_to(CASSETTES.parents[2]))


if __name__ == "__main__":
    main()
