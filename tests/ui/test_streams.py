"""The live map's stream reader against a real engine: LATEST only, bounded, stops when unwatched."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from services.nexus_ui.streams import StreamTap
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def tap(ui_stack: Stack) -> Iterator[StreamTap]:
    """A reader of the internal stream keeping at most five points, idle after half a second."""
    reader = StreamTap(
        {"internal": ui_stack.spec.primary_stream},
        lambda: ui_stack.client("kinesis"),
        poll_s=0.2,
        idle_s=0.5,
        max_points=5,
    )
    yield reader
    reader.stop()


def _put(stack: Stack, device: str, n: int) -> None:
    event = {"type": "ui-tap-test", "device_id": device, "lat": 10.0 + n, "lon": 20.0, "run_id": "tap-run"}
    stack.client("kinesis").put_record(
        StreamName=stack.spec.primary_stream, Data=json.dumps(event).encode() + b"\n", PartitionKey="ui-tap"
    )  # one partition key: one shard, so the records' order is the order they were put


def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        time.sleep(0.05)


def test_reader_keeps_only_the_newest_points_and_stops_when_unwatched(
    ui_stack: Stack, tap: StreamTap
) -> None:
    """Twelve events after the reader started: it saw twelve, keeps the last five, then stops by itself."""
    prefix = f"tap-{uuid.uuid4().hex[:6]}"
    tap.watch()
    _until(lambda: tap.summaries()["internal"]["state"] == "reading")
    for n in range(12):
        _put(ui_stack, f"{prefix}-{n:02d}", n)
        tap.watch()
    _until(lambda: tap.summaries()["internal"]["records_seen"] >= 12)
    kept = [p["device_id"] for p in tap.points()]
    assert kept == [f"{prefix}-{n:02d}" for n in range(7, 12)]
    summary = tap.summaries()["internal"]
    assert summary["producers"][0]["run_id"] == "tap-run" and summary["producers"][0]["records"] == 12
    _until(lambda: not tap.reading)  # nobody asked for half a second
    assert tap.summaries()["internal"]["state"] == "idle"
