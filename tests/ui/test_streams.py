"""The live map's stream reader against a real engine: LATEST only, bounded, stops when unwatched."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from services.nexus_ui.streams import StreamTap
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def tap(ui_stack: Stack) -> Iterator[StreamTap]:
    """A reader of the internal stream keeping at most five points, idle two seconds after the
    last watch."""
    reader = StreamTap(
        {"internal": ui_stack.spec.primary_stream},
        lambda: ui_stack.client("kinesis"),
        poll_s=0.2,
        idle_s=2.0,
        max_points=5,
    )
    yield reader
    reader.stop()


@contextmanager
def _watching(tap: StreamTap) -> Iterator[None]:
    """A page that keeps asking for live data (every 0.1 s) while the block runs, as the map does:
    the reader never goes idle in between, however slow the engine answers on a busy machine."""
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            tap.watch()
            stop.wait(0.1)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    try:
        yield
    finally:
        stop.set()
        asker.join()


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
    with _watching(tap):
        _until(lambda: tap.summaries()["internal"]["state"] == "reading")
        for n in range(12):
            _put(ui_stack, f"{prefix}-{n:02d}", n)
        _until(lambda: tap.summaries()["internal"]["records_seen"] >= 12)
    kept = [p["device_id"] for p in tap.points()]
    assert kept == [f"{prefix}-{n:02d}" for n in range(7, 12)]
    summary = tap.summaries()["internal"]
    assert summary["producers"][0]["run_id"] == "tap-run" and summary["producers"][0]["records"] == 12
    _until(lambda: not tap.reading)  # nobody asked for two seconds
    assert tap.summaries()["internal"]["state"] == "idle"
