"""Acknowledged Kinesis records survive ``kill -9``: the segment files they were written to
before the answer, and the journal of stream layouts a snapshot does not hold yet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.emulation.kinesis.kinesis_support import (
    HASH_KEY_SHARD_0,
    HASH_KEY_SHARD_1,
    SHARD_0,
    SHARD_1,
    create_stream,
    no_retries,
    read_stream,
)
from tests.helpers import EngineProcess

Acknowledged = dict[tuple[str, str], bytes]  # (shard id, sequence number) -> data


def _put_mixed(client: Any, stream: str, tag: str) -> Acknowledged:
    """20 PutRecord and 4 PutRecords of 100 calls over both shards; what got a 200."""
    acknowledged: Acknowledged = {}
    for i in range(20):
        data = f"{tag}-single-{i}".encode()
        answer = client.put_record(StreamName=stream, Data=data, PartitionKey=f"{tag}-{i}")
        acknowledged[(answer["ShardId"], answer["SequenceNumber"])] = data
    for call in range(4):
        records = [
            {"Data": f"{tag}-batch-{call}-{i}".encode(), "PartitionKey": f"{tag}-{call}-{i}"}
            for i in range(100)
        ]
        answer = client.put_records(StreamName=stream, Records=records)
        assert answer["FailedRecordCount"] == 0
        for record, entry in zip(records, answer["Records"], strict=True):
            acknowledged[(entry["ShardId"], entry["SequenceNumber"])] = record["Data"]
    return acknowledged


def _stored(client: Any, stream: str) -> list[tuple[tuple[str, str], bytes]]:
    return [
        ((shard_id, record["SequenceNumber"]), record["Data"])
        for shard_id, records in read_stream(client, stream).items()
        for record in records
    ]


def _journal(engine: EngineProcess) -> dict[str, Any]:
    health = engine.health()
    assert health is not None
    figures: dict[str, Any] = health["extensions"]["kinesis"]["journal"]
    return figures


def _records(engine: EngineProcess) -> dict[str, Any]:
    health = engine.health()
    assert health is not None
    figures: dict[str, Any] = health["extensions"]["kinesis"]["records"]
    return figures


def test_acknowledged_puts_survive_kill9_without_any_snapshot(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """No snapshot at all, kill -9 after the last 200: stream and records come back unchanged."""
    engine = engine_factory("--snapshot-interval", "600")
    client = no_retries(engine)
    create_stream(client, "journal-crash", shards=2)
    acknowledged = _put_mixed(client, "journal-crash", "a")

    engine.kill9()
    engine.start()

    stored = _stored(no_retries(engine), "journal-crash")
    assert len(stored) == len(acknowledged) == 420
    assert dict(stored) == acknowledged
    assert _records(engine)["restored_records"] == 420


def test_puts_after_a_snapshot_are_replayed_without_duplicates(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """Records before a snapshot come from it, later ones from the journal; none twice."""
    engine = engine_factory()
    client = no_retries(engine)
    create_stream(client, "journal-mixed", shards=2)
    acknowledged = _put_mixed(client, "journal-mixed", "before")
    engine.snapshot()
    acknowledged |= _put_mixed(client, "journal-mixed", "after")

    engine.kill9()
    engine.start()

    stored = _stored(no_retries(engine), "journal-mixed")
    assert len(stored) == len(acknowledged) == 840
    assert dict(stored) == acknowledged


def test_sequence_numbers_continue_after_replay(engine_factory: Callable[..., EngineProcess]) -> None:
    """A put after the restart gets a higher sequence number than every replayed record."""
    engine = engine_factory("--snapshot-interval", "600")
    client = no_retries(engine)
    create_stream(client, "journal-next", shards=2)
    acknowledged = _put_mixed(client, "journal-next", "a")
    engine.kill9()
    engine.start()
    client = no_retries(engine)

    for shard_id, hash_key in ((SHARD_0, HASH_KEY_SHARD_0), (SHARD_1, HASH_KEY_SHARD_1)):
        answer = client.put_record(
            StreamName="journal-next", Data=b"later", PartitionKey="later", ExplicitHashKey=hash_key
        )
        before = [int(seq) for shard, seq in acknowledged if shard == shard_id]
        assert answer["ShardId"] == shard_id
        assert int(answer["SequenceNumber"]) == max(before) + 1


def test_snapshot_retires_older_journals(engine_factory: Callable[..., EngineProcess]) -> None:
    """The journal describes a stream at its first put (no record data) and is emptied once
    a snapshot holds the stream."""
    engine = engine_factory("--snapshot-interval", "600")
    client = no_retries(engine)
    create_stream(client, "journal-size")
    client.put_record(StreamName="journal-size", Data=b"x" * 1000, PartitionKey="k")
    described = _journal(engine)["bytes"]
    assert 0 < described < 1000
    client.put_record(StreamName="journal-size", Data=b"y" * 1000, PartitionKey="k")
    assert _journal(engine)["bytes"] == described

    engine.snapshot()

    assert _journal(engine)["bytes"] == 0
    assert _journal(engine)["files"] == 1


def test_reset_drops_journaled_puts(engine_factory: Callable[..., EngineProcess]) -> None:
    """After a reset and a crash, the records put before the reset do not come back."""
    engine = engine_factory("--snapshot-interval", "600")
    client = no_retries(engine)
    create_stream(client, "journal-reset")
    client.put_record(StreamName="journal-reset", Data=b"gone", PartitionKey="k")
    assert engine.admin_request("POST", "/_nexus/reset") == (200, {"reset": "done"})

    engine.kill9()
    engine.start()

    assert no_retries(engine).list_streams()["StreamNames"] == []


def test_a_torn_last_line_is_skipped(engine_factory: Callable[..., EngineProcess]) -> None:
    """A crash in the middle of a journal write (never acknowledged) does not stop the restart."""
    engine = engine_factory("--snapshot-interval", "600")
    client = no_retries(engine)
    create_stream(client, "journal-torn")
    answer = client.put_record(StreamName="journal-torn", Data=b"kept", PartitionKey="k")
    engine.kill9()
    journals = sorted((engine.state_dir / "state").glob("kinesis-journal.*.log"))
    with open(journals[-1], "ab") as journal:
        journal.write(b'{"put":"journal-torn","account":"1234')

    engine.start()

    stored = _stored(no_retries(engine), "journal-torn")
    assert stored == [((SHARD_0, answer["SequenceNumber"]), b"kept")]


def test_records_put_after_a_reshard_survive(engine_factory: Callable[..., EngineProcess]) -> None:
    """Puts to the children of a shard split after the last snapshot are replayed into them."""
    engine = engine_factory("--snapshot-interval", "600")
    client = no_retries(engine)
    create_stream(client, "journal-split")
    client.put_record(StreamName="journal-split", Data=b"parent", PartitionKey="k")
    engine.snapshot()
    client.split_shard(StreamName="journal-split", ShardToSplit=SHARD_0, NewStartingHashKey=str(2**127))
    acknowledged: Acknowledged = {}
    for i, hash_key in enumerate(["1", str(2**127 + 5)] * 3):
        data = f"child-{i}".encode()
        answer = client.put_record(
            StreamName="journal-split", Data=data, PartitionKey="k", ExplicitHashKey=hash_key
        )
        acknowledged[(answer["ShardId"], answer["SequenceNumber"])] = data

    engine.kill9()
    engine.start()

    stored = dict(_stored(no_retries(engine), "journal-split"))
    assert {key: stored.get(key) for key in acknowledged} == acknowledged
    assert {shard for shard, _ in acknowledged} == {"shardId-000000000001", "shardId-000000000002"}


def test_concurrent_producers_get_unique_durable_sequence_numbers(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """Four producers at once: every acknowledged record is stored once, before and after a crash."""
    from concurrent.futures import ThreadPoolExecutor

    engine = engine_factory("--snapshot-interval", "0.2")
    create_stream(no_retries(engine), "journal-threads", shards=2)

    def produce(tag: str) -> Acknowledged:
        return _put_mixed(no_retries(engine), "journal-threads", tag)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(produce, ["t0", "t1", "t2", "t3"]))
    acknowledged: Acknowledged = {}
    for result in results:
        assert not acknowledged.keys() & result.keys()
        acknowledged |= result
    assert len(acknowledged) == 4 * 420

    engine.kill9()
    engine.start()

    stored = _stored(no_retries(engine), "journal-threads")
    assert len(stored) == len(acknowledged)
    assert dict(stored) == acknowledged
