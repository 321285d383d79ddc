"""Shard logs in process: moto's own Kinesis code on records kept on disk (the seam in
``emulation.core.moto_compat.kinesis``), and what a log does with its files."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulation.core import moto_compat
from emulation.kinesis import segments
from emulation.kinesis.segments import RecordStore, ShardLog


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    """A record store installed for the test (moto's plain dicts again afterwards)."""
    previous = segments.current_store()
    installed = segments.install(RecordStore(tmp_path / "kinesis", 1 << 20))
    yield installed
    if previous is not None:
        segments.install(previous)
    else:
        moto_compat.install_record_store(None)
        segments._current = None


def _backend() -> Any:
    from moto.kinesis.models import KinesisBackend

    return KinesisBackend("us-east-1", "123456789012")


def _put(stream: Any, shard_id: str, count: int, tag: str) -> None:
    log = stream.shards[shard_id].records
    build = moto_compat.record_builder()
    log.append([build(f"{tag}{i}", f"{tag}-{i}", log.last_sequence + 1 + i, None) for i in range(count)])


def test_new_shards_keep_their_records_in_a_log(store: RecordStore) -> None:
    stream = _backend().create_stream("s", 2)
    assert all(isinstance(shard.records, ShardLog) for shard in stream.shards.values())
    _put(stream, "shardId-000000000000", 5, "a")
    shard = stream.shards["shardId-000000000000"]
    assert list(shard.records) == [1, 2, 3, 4, 5]
    assert list(reversed(shard.records)) == [5, 4, 3, 2, 1]
    assert [record.data for record in shard.records.values()] == [f"a-{i}" for i in range(5)]
    assert shard.get_min_sequence_number() == 1 and shard.get_max_sequence_number() == 5
    assert shard.put_record("k", "bW9yZQ==", None) == "6"  # moto's own put: numbered on


def test_moto_reads_a_log_through_its_iterators(store: RecordStore) -> None:
    backend = _backend()
    stream = backend.create_stream("s", 1)
    _put(stream, "shardId-000000000000", 30, "r")
    iterator = backend.get_shard_iterator(
        None, "s", "shardId-000000000000", "AFTER_SEQUENCE_NUMBER", 10, None
    )
    _next, records, millis = backend.get_records(None, iterator, 5)
    assert [record.sequence_number for record in records] == [11, 12, 13, 14, 15]
    assert millis >= 0
    latest = backend.get_shard_iterator(None, "s", "shardId-000000000000", "LATEST", 0, None)
    assert backend.get_records(None, latest, None)[1] == []
    first = stream.shards["shardId-000000000000"].records[1]
    assert stream.shards["shardId-000000000000"].get_sequence_number_at(first.created_at + 1) == 30
    assert stream.shards["shardId-000000000000"].get_sequence_number_at(first.created_at) == 0


def test_a_split_parent_keeps_its_records_and_a_merge_copies_them(store: RecordStore) -> None:
    """moto's split would take the parent's records out and put them again (renumbered,
    arriving now); the seam leaves them. Merging copies both parents' records, as moto does."""
    stream = _backend().create_stream("s", 1)
    _put(stream, "shardId-000000000000", 10, "p")
    before = [
        (r.sequence_number, r.data, r.created_at)
        for r in stream.shards["shardId-000000000000"].records.values()
    ]
    stream.split_shard("shardId-000000000000", str(2**127))
    parent = stream.shards["shardId-000000000000"]
    assert [(r.sequence_number, r.data, r.created_at) for r in parent.records.values()] == before
    assert len(stream.shards["shardId-000000000001"].records) == 0
    _put(stream, "shardId-000000000001", 3, "x")
    _put(stream, "shardId-000000000002", 2, "y")
    stream.merge_shards("shardId-000000000001", "shardId-000000000002")
    merged = stream.shards["shardId-000000000003"].records
    assert [r.data for r in merged.values()] == ["x-0", "x-1", "x-2", "y-0", "y-1"]
    assert list(merged) == [1, 2, 3, 4, 5]


def test_split_and_merge_happen_out_of_readers_sight(
    store: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What another thread (a Firehose worker, GetRecords) sees while moto splits or merges:
    the stream as before, never a parent emptied (a reader would take it for the end of the
    parent's records) nor a merged shard without all its copies (a reader would deliver the
    copies again); afterwards the new shards, complete, and the parents closed."""
    from emulation.core.moto_compat import kinesis as seam

    stream = _backend().create_stream("s", 1)
    _put(stream, "shardId-000000000000", 10, "p")
    seen: list[dict[str, tuple[int, bool]]] = []

    def look() -> None:
        seen.append({sid: (len(shard.records), shard.is_open) for sid, shard in stream.shards.items()})

    make_log = seam._new_records
    assert make_log is not None

    def new_log() -> Any:  # moto is building a new shard: look at the stream now
        look()
        return make_log()

    copy = ShardLog.append_copies

    def append_copies(log: ShardLog, records: Any) -> None:  # the copies are going in
        look()
        copy(log, records)

    monkeypatch.setattr(seam, "_new_records", new_log)
    monkeypatch.setattr(ShardLog, "append_copies", append_copies)
    stream.split_shard("shardId-000000000000", str(2**127))
    assert seen and all(view == {"shardId-000000000000": (10, True)} for view in seen)
    assert stream.shards["shardId-000000000000"].is_open is False
    assert sorted(stream.shards) == [f"shardId-00000000000{i}" for i in range(3)]

    _put(stream, "shardId-000000000001", 3, "x")
    _put(stream, "shardId-000000000002", 2, "y")
    seen.clear()
    stream.merge_shards("shardId-000000000001", "shardId-000000000002")
    before = {
        "shardId-000000000000": (10, False),
        "shardId-000000000001": (3, True),
        "shardId-000000000002": (2, True),
    }
    assert len(seen) == 2 and all(view == before for view in seen)
    merged = stream.shards["shardId-000000000003"]
    assert len(merged.records) == 5 and merged.is_open
    assert (
        not stream.shards["shardId-000000000001"].is_open
        and not stream.shards["shardId-000000000002"].is_open
    )


def test_records_are_not_tracked_by_moto(store: RecordStore) -> None:
    """moto's BaseModel keeps every instance it makes in a class list; records built for
    puts and read back from disk must not pile up there."""
    from moto.kinesis.models import Record

    stream = _backend().create_stream("s", 1)
    tracked = len(Record.instances_tracked)
    _put(stream, "shardId-000000000000", 100, "t")
    store.cache_budget = 0  # reads come from disk
    assert len(list(stream.shards["shardId-000000000000"].records.values())) == 100
    assert len(Record.instances_tracked) == tracked


def test_a_log_pickles_as_its_id_and_reopens_from_its_files(store: RecordStore, tmp_path: Path) -> None:
    stream = _backend().create_stream("s", 1)
    _put(stream, "shardId-000000000000", 2000, "z")
    log = stream.shards["shardId-000000000000"].records
    assert len(pickle.dumps(log)) < 100
    assert pickle.loads(pickle.dumps(log)) is log
    log.flush_index()
    reopened = RecordStore(tmp_path / "kinesis").open(log.log_id)
    assert list(reopened) == list(log)
    assert [(r.data, r.created_at_datetime) for r in reopened.values()] == [
        (r.data, r.created_at_datetime) for r in log.values()
    ]
    assert reopened.scanned == 0  # read from the index


def test_retention_hides_records_and_deletes_whole_segments(store: RecordStore) -> None:
    stream = _backend().create_stream("s", 1)
    log = stream.shards["shardId-000000000000"].records
    build = moto_compat.record_builder()
    log.retention_micros = 10_000_000  # segments roll every 1.25 s of arrival time
    for batch in range(4):
        records = [build("k", f"{batch}-{i}", batch * 10 + i + 1, None) for i in range(10)]
        for record in records:
            record.created_at = 1_000.0 + batch * 2
        log.append(records)
    assert log.figures()[1] == 4
    assert log.expire(now=1_000.0 + 6 + 10 - 0.5) == 30  # only the last batch is younger
    assert list(log) == list(range(31, 41)) and 30 not in log and log[31].data == "3-0"
    assert log.figures()[1] == 1
    assert log.expire(now=10_000.0) == 10
    assert len(log) == 0 and log.last_sequence == 40
    assert log.figures()[1] == 1  # the newest segment stays: numbering continues
