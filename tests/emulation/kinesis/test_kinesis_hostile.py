"""Kinesis under hostile input and concurrent load (issue: durability at scale).

Over HTTP with boto3 against a real engine: a ``Data`` that is not base64 is refused and
stored nowhere (it used to be accepted, then broke every read over it), and reads that
moto answers by walking a shard's records in Python (GetShardIterator AT_TIMESTAMP, the
GetRecords calls the engine leaves to moto) no longer fail while puts land on the shard.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulation.kinesis.kinesis_support import SHARD_0, create_stream, no_retries, read_stream
from tests.helpers import EngineProcess


def _with_body(client: Any, operation: str, rewrite: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the JSON body of ``operation`` before it is signed (what a raw HTTP caller sends)."""

    def hook(request: Any, **_: Any) -> None:
        body = json.loads(request.data)
        rewrite(body)
        request.data = json.dumps(body).encode()

    client.meta.events.register(f"before-sign.kinesis.{operation}", hook)


@pytest.mark.parametrize("data", ["!!!!", "a=bc", "YWJj\n", "é123"])
def test_data_that_is_not_base64_is_refused_and_not_stored(
    engine_factory: Callable[..., EngineProcess], data: str
) -> None:
    """PutRecord and PutRecords with a non-base64 Data get 400 SerializationException; the
    good records around them read back, and nothing else is on the shard."""
    engine = engine_factory("--kinesis-limits", "off")
    good = no_retries(engine)
    create_stream(good, "hostile-b64")
    good.put_record(StreamName="hostile-b64", Data=b"before", PartitionKey="p")

    single = no_retries(engine)
    _with_body(single, "PutRecord", lambda body: body.update(Data=data))
    with pytest.raises(ClientError) as one:
        single.put_record(StreamName="hostile-b64", Data=b"x", PartitionKey="p")
    many = no_retries(engine)
    _with_body(many, "PutRecords", lambda body: body["Records"][1].update(Data=data))
    with pytest.raises(ClientError) as batch:
        many.put_records(
            StreamName="hostile-b64",
            Records=[{"Data": b"ok", "PartitionKey": "p"}, {"Data": b"x", "PartitionKey": "p"}],
        )
    good.put_record(StreamName="hostile-b64", Data=b"after", PartitionKey="p")

    for refused in (one.value, batch.value):
        assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert refused.response["Error"]["Code"] == "SerializationException"
    records = read_stream(good, "hostile-b64")[SHARD_0]
    assert [r["Data"] for r in records] == [b"before", b"after"]


def test_reads_moto_answers_do_not_fail_under_concurrent_puts(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """Two writers put 200-record batches while a reader takes AT_TIMESTAMP, TRIM_HORIZON,
    LATEST and AT_SEQUENCE_NUMBER iterators and reads with them (with and without a Limit
    the engine answers itself): every call succeeds, and every acknowledged record reads back."""
    engine = engine_factory("--kinesis-limits", "off")
    reader = no_retries(engine)
    create_stream(reader, "hostile-load")
    first = reader.put_record(StreamName="hostile-load", Data=b"first", PartitionKey="p")["SequenceNumber"]
    errors: Counter[str] = Counter()
    acknowledged = [1]
    done = threading.Event()

    def write() -> None:
        writer = no_retries(engine)
        for batch in range(60):
            records = [{"Data": f"{batch}-{i}".encode(), "PartitionKey": f"k{i}"} for i in range(200)]
            try:
                answer = writer.put_records(StreamName="hostile-load", Records=records)
                acknowledged.append(200 - answer["FailedRecordCount"])
            except ClientError as exc:
                errors[f"PutRecords {exc.response['Error']['Code']}"] += 1

    writers = [threading.Thread(target=write) for _ in range(2)]
    for thread in writers:
        thread.start()
    threading.Thread(target=lambda: ([t.join() for t in writers], done.set())).start()
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("AT_TIMESTAMP", {"Timestamp": datetime.now(UTC) - timedelta(seconds=1)}),
        ("TRIM_HORIZON", {}),
        ("LATEST", {}),
        ("AT_SEQUENCE_NUMBER", {"StartingSequenceNumber": first}),
    ]
    rounds = 0
    while not done.is_set() or rounds < 4:
        kind, extra = kinds[rounds % len(kinds)]
        rounds += 1
        try:
            iterator = reader.get_shard_iterator(
                StreamName="hostile-load", ShardId=SHARD_0, ShardIteratorType=kind, **extra
            )["ShardIterator"]
            reader.get_records(ShardIterator=iterator, Limit=100)
            reader.get_records(ShardIterator=iterator)
            reader.describe_stream(StreamName="hostile-load")
        except ClientError as exc:
            errors[f"{kind} {exc.response['Error']['Code']}"] += 1
    assert errors == Counter()
    assert len(read_stream(reader, "hostile-load")[SHARD_0]) == sum(acknowledged)


def test_the_account_shard_quota_is_enforced_as_aws_does(
    engine_factory: Callable[..., EngineProcess],
) -> None:
    """us-west-2's default quota is 500 open shards per account: a CreateStream or an
    UpdateShardCount past it gets 400 LimitExceededException with AWS's figures, and creates
    nothing; up to it, streams are made as usual."""
    client = no_retries(engine_factory())
    create_stream(client, "quota-big", shards=498)
    with pytest.raises(ClientError) as created:
        client.create_stream(StreamName="quota-over", ShardCount=3)
    error = created.value.response["Error"]
    assert created.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "LimitExceededException"
    assert "Current shard count for the account: 498. Limit: 500." in error["Message"]
    assert "quota-over" not in client.list_streams()["StreamNames"]

    with pytest.raises(ClientError) as on_demand:  # on-demand streams open with 4 shards
        client.create_stream(StreamName="quota-od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert on_demand.value.response["Error"]["Code"] == "LimitExceededException"

    create_stream(client, "quota-fits", shards=2)  # exactly 500
    with pytest.raises(ClientError) as grown:
        client.update_shard_count(StreamName="quota-fits", TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    assert grown.value.response["Error"]["Code"] == "LimitExceededException"
    assert (
        "additional shards that would have resulted from this request: 1."
        in grown.value.response["Error"]["Message"]
    )
