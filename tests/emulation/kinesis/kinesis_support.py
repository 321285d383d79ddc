"""Helpers shared by the Kinesis extension tests (reading streams back, pacing puts)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

SHARD_0 = "shardId-000000000000"
SHARD_1 = "shardId-000000000001"
#: ExplicitHashKeys that land in the first and the second shard of a two-shard stream
HASH_KEY_SHARD_0 = "0"
HASH_KEY_SHARD_1 = str(2**127 + 1)


def no_retries(engine: Any) -> Any:
    """A Kinesis client that surfaces throttling instead of retrying it."""
    return engine.target().client("kinesis", max_attempts=0)


def create_stream(client: Any, name: str, shards: int = 1) -> None:
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})


def read_stream(client: Any, name: str) -> dict[str, list[dict[str, Any]]]:
    """Every record of every shard, in shard order (waiting out read throttling)."""
    shards = client.list_shards(StreamName=name)["Shards"]
    out: dict[str, list[dict[str, Any]]] = {}
    for shard in shards:
        shard_id = shard["ShardId"]
        iterator = client.get_shard_iterator(
            StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        while True:
            try:
                page = client.get_records(ShardIterator=iterator, Limit=10000)
            except client.exceptions.ProvisionedThroughputExceededException:
                time.sleep(0.25)  # the shard's read limits: wait as a consumer would
                continue
            records.extend(page["Records"])
            if not page["Records"]:
                break
            iterator = page["NextShardIterator"]
        out[shard_id] = records
    return out


def push_paced(
    client: Any, stream: str, rate: float, seconds: float, batch: int = 100
) -> tuple[int, int, list[str], float]:
    """PutRecords batches at ``rate`` records/s for ``seconds``.

    Returns (entries sent, entries reported failed, the failed entries' ErrorCodes,
    seconds the push took).
    """
    interval = batch / rate
    calls = round(seconds * rate / batch)
    sent = failed = 0
    codes: list[str] = []
    started = time.monotonic()
    for call in range(calls):
        delay = started + call * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        records = [{"Data": f"{call}-{i}".encode(), "PartitionKey": f"pk-{call}-{i}"} for i in range(batch)]
        answer = client.put_records(StreamName=stream, Records=records)
        sent += batch
        failed += answer["FailedRecordCount"]
        codes.extend(entry["ErrorCode"] for entry in answer["Records"] if "ErrorCode" in entry)
    return sent, failed, codes, time.monotonic() - started


def within_one_window(run: Callable[[int], T], tries: int = 5) -> T:
    """``run(attempt)`` fills a shard's one-second write window and then observes what the
    shard does with more; returns what the first run that took under a second observed.

    A shard's limits hold per second: on a loaded machine a run can outlast its window, and
    then the shard rightly accepts again and the run proves nothing. Such a run is repeated
    (each attempt uses its own stream); none of its observations is asserted.
    """
    for attempt in range(tries):
        started = time.monotonic()
        observed = run(attempt)
        if time.monotonic() - started < 1.0:
            return observed
    raise AssertionError(f"none of {tries} runs filled and probed a shard within one second")
