"""Kinesis records on disk (``emulation.kinesis.segments``): segments survive ``kill -9``
and resharding, snapshots do not carry records, retention deletes them, memory stays
bounded, and a state dir filled by ``bulk_fill`` is served after a restart."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.emulation.kinesis.kinesis_support import SHARD_0, create_stream, no_retries, read_stream
from tests.helpers import REGION, EngineProcess

#: a 24-hour retention period lasts this many seconds in the retention tests' engines
#: long enough that the records put after the first expiry outlive the checks that follow,
#: also on a busy machine (3 s was not: the new records expired before they were counted)
RETENTION_SECONDS = 8.0


def _stored(client: Any, stream: str) -> dict[tuple[str, str], bytes]:
    return {
        (shard_id, record["SequenceNumber"]): record["Data"]
        for shard_id, records in read_stream(client, stream).items()
        for record in records
    }


def _put(client: Any, stream: str, tag: str, count: int, batch: int = 500) -> dict[tuple[str, str], bytes]:
    acknowledged: dict[tuple[str, str], bytes] = {}
    for start in range(0, count, batch):
        records = [
            {"Data": f"{tag}-{i}".encode(), "PartitionKey": f"{tag}-{i}"}
            for i in range(start, min(count, start + batch))
        ]
        answer = client.put_records(StreamName=stream, Records=records)
        assert answer["FailedRecordCount"] == 0
        for record, entry in zip(records, answer["Records"], strict=True):
            acknowledged[(entry["ShardId"], entry["SequenceNumber"])] = record["Data"]
    return acknowledged


def _records(engine: EngineProcess) -> dict[str, Any]:
    health = engine.health()
    assert health is not None
    figures: dict[str, Any] = health["extensions"]["kinesis"]["records"]
    return figures


def _logs_on_disk(engine: EngineProcess) -> list[Path]:
    root = engine.state_dir / "state" / "kinesis"
    return sorted(path for path in root.iterdir() if path.is_dir()) if root.is_dir() else []


def _rss(engine: EngineProcess) -> int:
    assert engine.proc is not None
    for line in Path(f"/proc/{engine.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_torn_segment_tail_is_cut_off(engine_factory: Callable[..., EngineProcess]) -> None:
    """A put torn by the crash (never acknowledged) is dropped; numbering continues after
    the last whole record."""
    engine = engine_factory("--snapshot-interval", "600", "--kinesis-limits", "off")
    client = no_retries(engine)
    create_stream(client, "torn")
    acknowledged = _put(client, "torn", "a", 50)
    engine.kill9()
    (log_dir,) = _logs_on_disk(engine)
    segment = sorted(log_dir.glob("*.seg"))[-1]
    with open(segment, "ab") as fh:
        fh.write(b"\x50\x00\x00\x00torn-record")

    engine.start()
    client = no_retries(engine)

    assert _stored(client, "torn") == acknowledged
    answer = client.put_record(StreamName="torn", Data=b"next", PartitionKey="k")
    assert int(answer["SequenceNumber"]) == 51


def test_records_written_after_the_last_snapshot_come_back_once(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """Snapshot, more puts (index flushed or not), kill -9: every record once, numbering on."""
    engine = engine_factory("--snapshot-interval", "600", "--kinesis-limits", "off")
    client = no_retries(engine)
    create_stream(client, "after-snap", shards=2)
    acknowledged = _put(client, "after-snap", "before", 3000)
    engine.snapshot()
    acknowledged |= _put(client, "after-snap", "flushed", 2000)
    time.sleep(1.5)  # the records worker indexes these
    acknowledged |= _put(client, "after-snap", "scanned", 2000)
    engine.kill9()

    engine.start()
    client = no_retries(engine)

    assert _stored(client, "after-snap") == acknowledged
    assert _records(engine)["restored_records"] == 7000
    later = client.put_record(StreamName="after-snap", Data=b"x", PartitionKey="k", ExplicitHashKey="0")
    assert int(later["SequenceNumber"]) == 1 + max(
        int(seq) for shard, seq in acknowledged if shard == SHARD_0
    )


def test_resharded_streams_keep_every_record_through_kill9(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """Split, merge, kill -9 without any snapshot: parents keep their records (same
    sequence numbers), children keep theirs."""
    engine = engine_factory("--snapshot-interval", "600", "--kinesis-limits", "off")
    client = no_retries(engine)
    create_stream(client, "reshard")
    acknowledged = _put(client, "reshard", "one", 300)
    parent_before = read_stream(client, "reshard")[SHARD_0]
    client.update_shard_count(StreamName="reshard", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    acknowledged |= _put(client, "reshard", "two", 300)
    client.update_shard_count(StreamName="reshard", TargetShardCount=1, ScalingType="UNIFORM_SCALING")
    acknowledged |= _put(client, "reshard", "merged", 300)
    before = _stored(client, "reshard")
    engine.kill9()

    engine.start()
    client = no_retries(engine)

    after = _stored(client, "reshard")
    assert after == before
    assert {key: after.get(key) for key in acknowledged} == acknowledged
    parent_after = read_stream(client, "reshard")[SHARD_0]
    assert [(r["SequenceNumber"], r["Data"], r["ApproximateArrivalTimestamp"]) for r in parent_after] == [
        (r["SequenceNumber"], r["Data"], r["ApproximateArrivalTimestamp"]) for r in parent_before
    ]
    assert len({shard for shard, _ in acknowledged}) == 4  # the parent, two children, the merge


def test_snapshots_refer_to_records_without_carrying_them(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """A snapshot's Kinesis file does not grow with the records retained."""
    engine = engine_factory("--snapshot-interval", "600", "--kinesis-limits", "off")
    client = no_retries(engine)
    create_stream(client, "small-snapshot", shards=2)
    _put(client, "small-snapshot", "a", 100)
    engine.snapshot()
    state = engine.state_dir / "state"
    small = max(path.stat().st_size for path in state.glob("kinesis.*.pkl"))
    _put(client, "small-snapshot", "b", 20000)
    engine.snapshot()
    large = max(path.stat().st_size for path in state.glob("kinesis.*.pkl"))
    assert large < small + 1024


def test_deleted_streams_and_reset_delete_their_segments(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """A deleted stream's segments go once a snapshot without it is durable; a reset wipes all."""
    engine = engine_factory("--snapshot-interval", "0.2", "--kinesis-limits", "off")
    client = no_retries(engine)
    create_stream(client, "doomed")
    create_stream(client, "kept")
    _put(client, "doomed", "a", 100)
    _put(client, "kept", "a", 100)
    assert len(_logs_on_disk(engine)) == 2

    client.delete_stream(StreamName="doomed")
    assert _wait_for(lambda: len(_logs_on_disk(engine)) == 1)
    assert len(_stored(client, "kept")) == 100

    engine.reset()
    assert _logs_on_disk(engine) == []
    engine.kill9()
    engine.start()
    assert no_retries(engine).list_streams()["StreamNames"] == []


@pytest.fixture
def short_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    """Engines started in the test enforce 24 hours of retention as RETENTION_SECONDS."""
    monkeypatch.setenv("NEXUSKIT_KINESIS_RETENTION_SCALE", str(RETENTION_SECONDS / 86400))


def test_records_past_the_retention_period_expire(
    short_retention: None, engine_factory: Callable[..., EngineProcess]
) -> None:
    """Expired records are no longer returned, their segments are deleted, and sequence
    numbers continue after them (across a restart too)."""
    engine = engine_factory("--snapshot-interval", "600", "--kinesis-limits", "off")
    client = no_retries(engine)
    create_stream(client, "retained")
    old = _put(client, "retained", "old", 1000)
    (log_dir,) = _logs_on_disk(engine)
    old_segments = set(log_dir.glob("*.seg"))
    time.sleep(RETENTION_SECONDS + 0.5)
    new = _put(client, "retained", "new", 100)

    assert _stored(client, "retained") == new
    assert _wait_for(lambda: not old_segments & set(log_dir.glob("*.seg")))
    assert _records(engine)["records"] == 100
    iterator = client.get_shard_iterator(
        StreamName="retained", ShardId=SHARD_0, ShardIteratorType="TRIM_HORIZON"
    )
    first = client.get_records(ShardIterator=iterator["ShardIterator"], Limit=1)["Records"][0]
    assert first["Data"] == b"new-0"

    engine.kill9()
    engine.start()
    client = no_retries(engine)
    answer = client.put_record(StreamName="retained", Data=b"later", PartitionKey="k")
    assert int(answer["SequenceNumber"]) == len(old) + len(new) + 1
    time.sleep(RETENTION_SECONDS + 0.5)
    assert _stored(client, "retained") == {}
    answer = client.put_record(StreamName="retained", Data=b"last", PartitionKey="k")
    assert int(answer["SequenceNumber"]) == len(old) + len(new) + 2


def test_memory_per_retained_record_is_bounded(engine_factory: Callable[..., EngineProcess]) -> None:
    """200,000 retained records of 130 bytes cost the engine well under 400 bytes of RSS each
    (records live on disk; the cache of the newest ones is bounded by --memory-budget)."""
    engine = engine_factory("--snapshot-interval", "1", "--kinesis-limits", "off", "--memory-budget", "16")
    client = no_retries(engine)
    create_stream(client, "memory", shards=4)
    payload = b"p" * 130
    for call in range(20):  # warm up: the put path, the cache, the snapshot loop
        client.put_records(
            StreamName="memory",
            Records=[{"Data": payload, "PartitionKey": f"w{call}-{i}"} for i in range(500)],
        )
    time.sleep(1.5)
    before = _rss(engine)
    count = 200_000
    for call in range(count // 500):
        answer = client.put_records(
            StreamName="memory",
            Records=[{"Data": payload, "PartitionKey": f"{call}-{i}"} for i in range(500)],
        )
        assert answer["FailedRecordCount"] == 0
    time.sleep(1.5)
    grown = _rss(engine) - before
    assert _records(engine)["records"] == count + 10_000
    assert grown / count < 400, f"{grown / count:.0f} B of RSS per retained record"


def test_a_bulk_filled_state_dir_is_served_after_a_restart(
    tmp_path: Path, engine_factory: Callable[..., EngineProcess]
) -> None:
    """``bulk_fill`` then a snapshot, in a process of their own: the engine serves every record."""
    state_dir = tmp_path / "filled"
    script = f"""
        from pathlib import Path
        from emulation.core.persistence import StateStore
        from emulation.kinesis.segments import bulk_fill
        state_dir = Path({str(state_dir)!r})
        bulk_fill(state_dir, account="123456789012", region={REGION!r}, stream="bulk", shards=4,
                  records=20000, size=130)
        store = StateStore(state_dir)
        store.write(store.serialize(None, {{}}), store.generation + 1)
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=True, cwd=Path.cwd(), timeout=120)

    engine = engine_factory("--kinesis-limits", "off", state_dir=state_dir)
    client = no_retries(engine)

    shards = read_stream(client, "bulk")
    assert len(shards) == 4
    assert sum(len(records) for records in shards.values()) == 20000
    datas = set()
    for records in shards.values():
        assert [int(record["SequenceNumber"]) for record in records] == list(range(1, len(records) + 1))
        datas.update(record["Data"] for record in records)
    assert len(datas) == 20000 and all(len(data) == 130 for data in datas)
    assert _records(engine)["scanned_records"] == 0  # indexes were read, not rebuilt
    answer = client.put_record(StreamName="bulk", Data=b"x", PartitionKey="pk-0")
    assert int(answer["SequenceNumber"]) == len(shards[answer["ShardId"]]) + 1
