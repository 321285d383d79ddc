"""Records from a producer that is not nexuskit's, end to end and exactly counted.

Plain boto3 ``put_records`` (no ``run_id``, half the records without ``id``, telemetry sent
without a trailing newline so Firehose concatenates it) -> Kinesis -> Firehose -> bronze ->
silver -> gold -> vibranium; then a re-run, a producer retry and a hand-put backfill.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nexuskit.lake.access import Lake
from nexuskit.lake.query import arrow_table, run_query
from nexuskit.lake.tiers import promote
from tests.helpers import EngineProcess
from tests.lake.conftest import new_lake, silver_count

DEVICES = 12
HOT = 4
SAMPLES = 25
EVENTS = 60


def telemetry() -> list[dict[str, Any]]:
    """Another tool's telemetry: its own field set, a firmware field we do not declare."""
    found = []
    for device in range(DEVICES):
        for sample in range(SAMPLES):
            record: dict[str, Any] = {
                "type": "telemetry",
                "device_id": f"acme-{device:02d}",
                "ts": f"2026-11-26T10:{sample * 2:02d}:{device:02d}Z",
                "lat": 45.5 + device * 0.01 + sample * 0.0001,
                "lon": -122.6 + device * 0.01,
                "speed_mps": 3.0,
                "battery_pct": 70.0,
                "readings": {"temperature_c": 55.0 if device < HOT else 20.0, "humidity_pct": 40.0},
                "fw": "2.1",
            }
            if (device * SAMPLES + sample) % 2 == 0:
                record["id"] = f"acme-{device}-{sample}"
            found.append(record)
    return found


def events() -> list[dict[str, Any]]:
    found = []
    for number in range(EVENTS):
        record: dict[str, Any] = {
            "type": "event",
            "event_id": f"e-{number}",
            "source": f"gw-{number % 3}",
            "ts": 1795687200 + number,  # epoch seconds
            "severity": "ERROR" if number % 2 else "warn",
            "category": "power",
        }
        if number % 2:
            record["id"] = f"event-{number}"
        found.append(record)
    return found


def put_records(lake: Lake, payloads: list[bytes], key: str) -> None:
    """What a plain boto3 producer does: ``put_records`` in batches of 500."""
    kinesis = lake.client("kinesis")
    for start in range(0, len(payloads), 500):
        batch = [{"Data": data, "PartitionKey": key} for data in payloads[start : start + 500]]
        answer = kinesis.put_records(StreamName=lake.spec.primary_stream, Records=batch)
        assert answer["FailedRecordCount"] == 0


def bronze_values(lake: Lake) -> int:
    """JSON values in every bronze object (counted without the lake's reader)."""
    s3 = lake.client("s3")
    decoder = json.JSONDecoder()
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=lake.bucket("bronze")):
        for entry in page.get("Contents", []):
            body = s3.get_object(Bucket=lake.bucket("bronze"), Key=entry["Key"])["Body"].read()
            text = (gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body).decode()
            position = 0
            while True:
                while position < len(text) and text[position].isspace():
                    position += 1
                if position >= len(text):
                    break
                _value, position = decoder.raw_decode(text, position)
                total += 1
    return total


def wait_for_bronze(lake: Lake, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        found = bronze_values(lake)
        if found >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"bronze holds {found} records, waited for {count}")


def produce(lake: Lake) -> None:
    put_records(lake, [json.dumps(r).encode() for r in telemetry()], "acme-telemetry")
    put_records(lake, [json.dumps(r).encode() + b"\n" for r in events()], "acme-events")


@pytest.fixture(scope="module")
def streamed(lake_engine: EngineProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """A stack with streams and Firehose; the foreign records delivered to bronze and promoted once."""
    lake = new_lake(lake_engine, tmp_path_factory.mktemp("cache"), streaming=True)
    produce(lake)
    wait_for_bronze(lake, DEVICES * SAMPLES + EVENTS)
    report = promote(lake, to="vibranium")
    assert report.skipped == []
    yield lake


def test_every_foreign_record_reaches_silver(streamed: Lake) -> None:
    """All 300 telemetry records and 60 events are silver rows; nothing is quarantined."""
    assert silver_count(streamed, "silver.telemetry") == DEVICES * SAMPLES
    assert silver_count(streamed, "silver.event") == EVENTS
    assert silver_count(streamed, "silver.quarantine") == 0


def test_missing_provenance_and_identity_are_derived(streamed: Lake) -> None:
    """run_id is null; records without an id get a stable content id; given ids are kept."""
    rows = arrow_table(streamed, "silver", "telemetry").to_pylist()
    assert all(r["run_id"] is None for r in rows)
    given = {r["id"] for r in rows if not r["id"].startswith("sha256:")}
    derived = {r["id"] for r in rows if r["id"].startswith("sha256:")}
    assert len(given) == len(derived) == DEVICES * SAMPLES // 2
    assert all(len(i) == len("sha256:") + 32 for i in derived)


def test_undeclared_fields_are_kept_in_extra(streamed: Lake) -> None:
    """The producer's firmware field, which no dataset declares, is in every row's extra JSON."""
    extras = {r["extra"] for r in arrow_table(streamed, "silver", "telemetry").to_pylist()}
    assert extras == {'{"fw":"2.1"}'}


def test_gold_and_vibranium_count_exactly(streamed: Lake) -> None:
    """Gold aggregates every telemetry row once; each hot device is one vibranium insight."""
    hourly = run_query(streamed, "SELECT count(*), sum(records) FROM gold.device_hourly").rows[0]
    assert hourly == (DEVICES, DEVICES * SAMPLES)
    severity = run_query(streamed, "SELECT sum(events) FROM gold.event_severity").rows[0][0]
    assert severity == EVENTS
    insights = run_query(
        streamed, "SELECT subject_id FROM vibranium.insights WHERE kind = 'overheat' ORDER BY subject_id"
    )
    assert [r[0] for r in insights.rows] == [f"acme-{d:02d}" for d in range(HOT)]


def test_rerun_and_producer_retry_add_nothing(streamed: Lake) -> None:
    """A second promote writes nothing; the producer sending everything again adds no row."""
    assert not promote(streamed, to="vibranium").wrote_anything
    produce(streamed)
    wait_for_bronze(streamed, 2 * (DEVICES * SAMPLES + EVENTS))
    report = promote(streamed, to="vibranium")
    assert report.steps[0]["duplicates"] == DEVICES * SAMPLES + EVENTS
    assert silver_count(streamed, "silver.telemetry") == DEVICES * SAMPLES
    assert silver_count(streamed, "silver.event") == EVENTS
    hourly = run_query(streamed, "SELECT sum(records) FROM gold.device_hourly").rows[0][0]
    assert hourly == DEVICES * SAMPLES
    assert silver_count(streamed, "vibranium.insights", "WHERE kind = 'overheat'") == HOT


def test_hand_put_backfill_outside_the_layout_is_read(streamed: Lake) -> None:
    """A JSON array put by hand under backfill/ (not Firehose's layout) is promoted like the rest."""
    records = [
        {
            "type": "telemetry",
            "device_id": "acme-backfill",
            "ts": f"2026-11-25T08:{n:02d}:00Z",
            "lat": 45.0,
            "lon": -122.0,
        }
        for n in range(20)
    ]
    bronze = streamed.bucket("bronze")
    streamed.client("s3").put_object(
        Bucket=bronze, Key="backfill/acme-2026-11-25.json", Body=json.dumps(records)
    )
    before = silver_count(streamed, "silver.telemetry")
    step = promote(streamed, to="gold").steps[0]
    assert step["inputs"] == 1
    assert silver_count(streamed, "silver.telemetry") == before + 20
    assert silver_count(streamed, "gold.device_hourly", "WHERE device_id = 'acme-backfill'") == 1
