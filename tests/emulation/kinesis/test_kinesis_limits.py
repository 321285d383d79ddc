"""Per-shard throughput limits of the embedded engine, driven over HTTP with boto3."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulation.kinesis.kinesis_support import (
    HASH_KEY_SHARD_0,
    HASH_KEY_SHARD_1,
    SHARD_0,
    SHARD_1,
    create_stream,
    no_retries,
    push_paced,
    read_stream,
    within_one_window,
)
from tests.helpers import EngineProcess

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One engine with AWS limits for the tests below (each uses its own stream)."""
    process = EngineProcess(tmp_path_factory.mktemp("kinesis-limits"))
    process.start()
    yield process
    process.stop()


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_single_shard_accepts_about_1000_records_per_second(engine: EngineProcess) -> None:
    """3,000 records/s at one shard for 3 s: about 1,000/s land, the rest come back throttled."""
    client = no_retries(engine)
    create_stream(client, "limits-rate")

    sent, failed, codes, seconds = push_paced(client, "limits-rate", rate=3000, seconds=3)

    landed = sum(len(records) for records in read_stream(client, "limits-rate").values())
    assert sent == 9000
    assert landed == sent - failed
    assert 900 <= landed / seconds <= 1100
    assert codes and set(codes) == {"ProvisionedThroughputExceededException"}
    assert len(codes) == failed


def test_limits_off_accepts_everything(engine_factory: Callable[..., EngineProcess]) -> None:
    """With ``--kinesis-limits off`` the same push lands completely."""
    unlimited = engine_factory("--kinesis-limits", "off")
    client = no_retries(unlimited)
    create_stream(client, "limits-off")

    sent, failed, codes, _ = push_paced(client, "limits-off", rate=3000, seconds=3)

    landed = sum(len(records) for records in read_stream(client, "limits-off").values())
    assert (failed, codes) == (0, [])
    assert landed == sent == 9000


def test_put_record_over_the_limit_raises_throughput_exceeded(engine: EngineProcess) -> None:
    """Once a shard took 1,000 records this second, PutRecord fails with AWS's error."""
    client = no_retries(engine)
    streams = [f"limits-put-record-{n}" for n in range(5)]
    for stream in streams:
        create_stream(client, stream)

    def run(attempt: int) -> tuple[str, list[int], ClientError | None]:
        stream = streams[attempt]
        batch = [{"Data": b"x", "PartitionKey": f"k{i}"} for i in range(500)]
        failed = [client.put_records(StreamName=stream, Records=batch)["FailedRecordCount"] for _ in range(2)]
        try:
            client.put_record(StreamName=stream, Data=b"one too many", PartitionKey="k")
        except ClientError as exc:
            return stream, failed, exc
        return stream, failed, None

    stream, failed, refused = within_one_window(run)
    assert failed == [0, 0]
    assert refused is not None, "the 1,001st record of the second was accepted"
    assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert refused.response["Error"]["Message"] == (
        f"Rate exceeded for shard {SHARD_0} in stream {stream} under account 123456789012."
    )


def test_write_bytes_are_limited_to_one_mib_per_second(engine: EngineProcess) -> None:
    """Two 600 KB records in one call: the first fits the shard's 1 MiB/s, the second is throttled."""
    client = no_retries(engine)
    create_stream(client, "limits-bytes")
    big = b"b" * 600_000

    answer = client.put_records(
        StreamName="limits-bytes",
        Records=[{"Data": big, "PartitionKey": "a"}, {"Data": big, "PartitionKey": "b"}],
    )

    assert answer["FailedRecordCount"] == 1
    assert "SequenceNumber" in answer["Records"][0]
    assert answer["Records"][1]["ErrorCode"] == "ProvisionedThroughputExceededException"


def test_failed_entries_keep_their_place_in_the_answer(engine: EngineProcess) -> None:
    """With one shard full and the other free, the answer lists entries in request order."""
    client = no_retries(engine)
    streams = [f"limits-order-{n}" for n in range(5)]
    for name in streams:
        create_stream(client, name, shards=2)
    fill = [{"Data": b"f", "PartitionKey": "f", "ExplicitHashKey": HASH_KEY_SHARD_0}] * 500
    mixed = [
        {
            "Data": f"entry-{i}".encode(),
            "PartitionKey": f"p{i}",
            "ExplicitHashKey": HASH_KEY_SHARD_0 if i % 2 else HASH_KEY_SHARD_1,
        }
        for i in range(10)
    ]

    def run(attempt: int) -> tuple[str, list[int], dict[str, Any]]:
        stream = streams[attempt]
        filled = [client.put_records(StreamName=stream, Records=fill)["FailedRecordCount"] for _ in range(2)]
        return stream, filled, client.put_records(StreamName=stream, Records=mixed)

    stream, filled, answer = within_one_window(run)
    assert filled == [0, 0]

    assert answer["FailedRecordCount"] == 5
    for i, entry in enumerate(answer["Records"]):
        if i % 2:
            assert entry["ErrorCode"] == "ProvisionedThroughputExceededException"
            assert entry["ErrorMessage"] == (
                f"Rate exceeded for shard {SHARD_0} in stream {stream} under account 123456789012."
            )
            assert "SequenceNumber" not in entry
        else:
            assert entry["ShardId"] == SHARD_1
    second_shard = read_stream(client, stream)[SHARD_1]
    assert [r["Data"] for r in second_shard] == [f"entry-{i}".encode() for i in range(0, 10, 2)]
    assert [r["SequenceNumber"] for r in second_shard] == [
        answer["Records"][i]["SequenceNumber"] for i in range(0, 10, 2)
    ]


def test_get_records_more_than_five_times_a_second_is_throttled(engine: EngineProcess) -> None:
    """The sixth GetRecords on a shard within a second raises ProvisionedThroughputExceededException."""
    client = no_retries(engine)
    create_stream(client, "limits-reads")
    iterator = client.get_shard_iterator(
        StreamName="limits-reads", ShardId=SHARD_0, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    for _ in range(5):
        client.get_records(ShardIterator=iterator)
    with pytest.raises(client.exceptions.ProvisionedThroughputExceededException) as excinfo:
        client.get_records(ShardIterator=iterator)

    assert _error(excinfo)[1] == f"Rate exceeded for Shard - 123456789012/limits-reads/{SHARD_0}"
    time.sleep(1.05)
    assert client.get_records(ShardIterator=iterator)["Records"] == []


def test_read_bytes_are_limited_to_two_mib_per_second(engine: EngineProcess) -> None:
    """A read that returned ~3 MiB blocks the shard's next read for about 1.5 seconds (the
    next call comes well inside that, even on a busy machine: with ~1 MiB and half a second,
    decoding the answer once took longer than the block)."""
    client = no_retries(engine)
    create_stream(client, "limits-read-bytes")
    for i in range(3):
        if i:
            time.sleep(1.05)  # writes are limited to 1 MiB/s per shard
        client.put_record(StreamName="limits-read-bytes", Data=b"r" * (MIB - 10), PartitionKey="k")
    time.sleep(1.05)  # the read calls window is independent of the write
    iterator = client.get_shard_iterator(
        StreamName="limits-read-bytes", ShardId=SHARD_0, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    assert len(client.get_records(ShardIterator=iterator)["Records"]) == 3
    with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
        client.get_records(ShardIterator=iterator)
    time.sleep(1.6)
    assert len(client.get_records(ShardIterator=iterator)["Records"]) == 3


def test_oversize_records_are_rejected_as_aws_does(engine: EngineProcess) -> None:
    """Data over 1 MiB is a ValidationException; data plus key over 1 MiB an InvalidArgumentException."""
    client = no_retries(engine)
    create_stream(client, "limits-size")

    with pytest.raises(ClientError) as too_big:
        client.put_record(StreamName="limits-size", Data=b"d" * (MIB + 1), PartitionKey="k")
    with pytest.raises(ClientError) as with_key:
        client.put_record(StreamName="limits-size", Data=b"d" * MIB, PartitionKey="k")
    with pytest.raises(ClientError) as in_batch:
        client.put_records(
            StreamName="limits-size",
            Records=[{"Data": b"ok", "PartitionKey": "k"}, {"Data": b"d" * (MIB + 1), "PartitionKey": "k"}],
        )

    assert _error(too_big) == (
        "ValidationException",
        f"1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim={MIB + 1} cap={MIB + 1}]' "
        "at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576",
    )
    assert _error(with_key)[0] == "InvalidArgumentException"
    assert _error(in_batch) == (
        "ValidationException",
        "1 validation error detected: Value at 'records.2.member.data' failed to satisfy constraint: "
        "Member must have length less than or equal to 1048576",
    )
    # A record of exactly 1 MiB (data + key) fits an idle shard; nothing above was written.
    client.put_record(StreamName="limits-size", Data=b"d" * (MIB - 1), PartitionKey="k")
    time.sleep(1.05)
    assert [len(r["Data"]) for r in read_stream(client, "limits-size")[SHARD_0]] == [MIB - 1]


def test_put_records_with_501_entries_is_rejected(engine: EngineProcess) -> None:
    """PutRecords takes at most 500 entries; 501 is a ValidationException and writes nothing."""
    client = no_retries(engine)
    create_stream(client, "limits-501")
    records: list[dict[str, Any]] = [{"Data": b"x", "PartitionKey": "k"}] * 501

    with pytest.raises(ClientError) as excinfo:
        client.put_records(StreamName="limits-501", Records=records)

    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value at 'records' failed to satisfy constraint: "
        "Member must have length less than or equal to 500",
    )
    assert read_stream(client, "limits-501")[SHARD_0] == []


def test_put_records_over_five_mib_is_rejected(engine: EngineProcess) -> None:
    """Six records of 1,000,000 bytes exceed the 5 MiB request limit: InvalidArgumentException."""
    client = no_retries(engine)
    create_stream(client, "limits-5mib", shards=6)
    records = [{"Data": b"z" * 1_000_000, "PartitionKey": f"k{i}"} for i in range(6)]

    with pytest.raises(client.exceptions.InvalidArgumentException) as excinfo:
        client.put_records(StreamName="limits-5mib", Records=records)

    assert _error(excinfo)[1] == "Records size exceeds 5 MB limit"


def test_unknown_stream_is_answered_by_moto(engine: EngineProcess, tmp_path: Path) -> None:
    """A put to a stream that does not exist fails with ResourceNotFoundException."""
    client = no_retries(engine)

    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.put_records(StreamName="limits-nope", Records=[{"Data": b"x", "PartitionKey": "k"}])
