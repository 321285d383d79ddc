"""GetRecords answered by the engine's Kinesis data plane (not by moto), over HTTP with boto3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.emulation.kinesis.kinesis_support import SHARD_0, create_stream, no_retries
from tests.helpers import EngineProcess

EVERY_EXTENSION_BUT_KINESIS = "iam,iam-policies,s3,firehose"


def _records(count: int, prefix: str = "") -> list[dict[str, Any]]:
    return [
        {"Data": f"{prefix}{i}-".encode() + b"\x00\xff", "PartitionKey": f'pk"{prefix}{i}\u00e9'}
        for i in range(count)
    ]


def _read(client: Any, stream: str, **kwargs: Any) -> dict[str, Any]:
    iterator = client.get_shard_iterator(
        StreamName=stream, ShardId=SHARD_0, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    answer: dict[str, Any] = client.get_records(ShardIterator=iterator, **kwargs)
    return answer


def test_get_records_answers_what_moto_answers(engine_factory: Callable[..., EngineProcess]) -> None:
    """The same puts read back from the engine and from plain moto give the same records,
    sequence numbers and next iterator (arrival times are ms-precise). MillisBehindLatest is
    0 on the engine: the records of one PutRecords call share one arrival time, as in AWS;
    moto stamps each record as it stores it, so a busy machine shows a few ms there."""
    ours = no_retries(engine_factory("--kinesis-limits", "off"))
    motos = no_retries(engine_factory("--kinesis-limits", "off", "--extensions", EVERY_EXTENSION_BUT_KINESIS))
    answers = []
    for client in (ours, motos):
        create_stream(client, "reads-same")
        client.put_records(StreamName="reads-same", Records=_records(30))
        answers.append(_read(client, "reads-same", Limit=20))
    for answer in answers:
        answer.pop("ResponseMetadata")
        for record in answer["Records"]:
            stamp = record.pop("ApproximateArrivalTimestamp")
            assert stamp.microsecond % 1000 == 0
    behind = [answer.pop("MillisBehindLatest") for answer in answers]
    assert behind[0] == 0
    assert behind[1] >= 0
    assert answers[0] == answers[1]
    assert len(answers[0]["Records"]) == 20
    assert answers[0]["Records"][0]["Data"] == b"0-\x00\xff"


def test_a_drained_iterator_sees_records_put_later(engine_factory: Callable[..., EngineProcess]) -> None:
    """Reading to the end and putting more: the next iterator returns exactly the new records."""
    client = no_retries(engine_factory("--kinesis-limits", "off"))
    create_stream(client, "reads-later")
    client.put_records(StreamName="reads-later", Records=_records(5, "a"))
    first = _read(client, "reads-later")
    empty = client.get_records(ShardIterator=first["NextShardIterator"])
    client.put_records(StreamName="reads-later", Records=_records(3, "b"))
    later = client.get_records(ShardIterator=empty["NextShardIterator"])

    assert [r["Data"] for r in first["Records"]] == [f"a{i}-".encode() + b"\x00\xff" for i in range(5)]
    assert empty["Records"] == []
    assert [r["Data"] for r in later["Records"]] == [f"b{i}-".encode() + b"\x00\xff" for i in range(3)]
    assert int(later["Records"][0]["SequenceNumber"]) > int(first["Records"][-1]["SequenceNumber"])


def test_get_records_without_limit_returns_at_most_10000(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """As in AWS, a GetRecords call returns 10,000 records at most; the rest come next."""
    client = no_retries(engine_factory("--kinesis-limits", "off"))
    create_stream(client, "reads-many")
    for batch in range(21):
        client.put_records(StreamName="reads-many", Records=_records(500, f"{batch}-"))
    first = _read(client, "reads-many")
    rest = client.get_records(ShardIterator=first["NextShardIterator"])

    assert len(first["Records"]) == 10000
    assert len(rest["Records"]) == 500
    assert first["MillisBehindLatest"] >= 0


def test_unknown_shard_iterator_is_answered_by_moto(engine_factory: Callable[..., EngineProcess]) -> None:
    """An iterator naming a stream that does not exist gets moto's ResourceNotFoundException."""
    import base64

    client = no_retries(engine_factory("--kinesis-limits", "off"))
    iterator = base64.encodebytes(b"reads-nope:shardId-000000000000:0").decode()
    try:
        client.get_records(ShardIterator=iterator)
    except client.exceptions.ResourceNotFoundException:
        return
    raise AssertionError("GetRecords on a missing stream was answered")
