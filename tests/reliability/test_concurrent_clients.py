"""Eight clients at once on one engine, each mixing the data-plane calls: no 5xx, nothing lost.

A real engine (IAM enforced, AWS shard limits, persistence on) over HTTP with boto3. Each
client writes S3 objects (plain and versioned overwrites), lists and reads them back, puts
Kinesis records and reads them with fresh iterators of every type, and lists and describes.
Throttling (AWS's own 400 ProvisionedThroughputExceededException) is allowed and waited out;
any other error, and any 5xx, fails the test. Afterwards every acknowledged object and record
is there.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.helpers import REGION, EngineProcess

CLIENTS = 8
ROUNDS = 25
BUCKET = "concurrent-clients"
STREAM = "concurrent-clients"


def _client_work(engine: EngineProcess, n: int, errors: Counter[str], acked: dict[str, Any]) -> None:
    target = engine.target()
    s3 = target.client("s3", max_attempts=0)
    kinesis = target.client("kinesis", max_attempts=0)
    objects: dict[str, bytes] = {}
    records = 0
    for round_ in range(ROUNDS):
        key = f"c{n}/k{round_ % 5}"
        body = f"{n}-{round_}".encode() * 50
        kind = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")[round_ % 3]
        since = {"Timestamp": datetime.now(UTC) - timedelta(seconds=2)} if kind == "AT_TIMESTAMP" else {}
        batch = [{"Data": body[:64], "PartitionKey": f"{n}-{i}"} for i in range(20)]
        calls: list[Callable[[], Any]] = [
            partial(s3.put_object, Bucket=BUCKET, Key=key, Body=body),
            partial(s3.list_objects_v2, Bucket=BUCKET, Prefix=f"c{n}/"),
            partial(s3.get_object, Bucket=BUCKET, Key=key),
            partial(kinesis.put_records, StreamName=STREAM, Records=batch),
            partial(
                kinesis.get_shard_iterator,
                StreamName=STREAM,
                ShardId="shardId-000000000000",
                ShardIteratorType=kind,
                **since,
            ),
            partial(kinesis.describe_stream_summary, StreamName=STREAM),
        ]
        for index, call in enumerate(calls):
            for _ in range(50):
                try:
                    answer = call()
                except ClientError as exc:
                    status = exc.response["ResponseMetadata"].get("HTTPStatusCode", 0)
                    code = exc.response["Error"].get("Code", "")
                    if status == 400 and code == "ProvisionedThroughputExceededException":
                        time.sleep(0.05)  # AWS's shard limits, as a real producer waits them out
                        continue
                    errors[f"{status} {code}"] += 1
                    break
                if index == 0:
                    objects[key] = body
                if index == 2:
                    answer["Body"].read()
                if index == 3:
                    records += 20 - answer["FailedRecordCount"]
                break
    acked[f"objects-{n}"] = objects
    acked[f"records-{n}"] = records


def test_eight_mixed_clients_get_no_5xx_and_lose_nothing(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "state").start()
    try:
        admin = engine.target()
        s3 = admin.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        kinesis = admin.client("kinesis")
        kinesis.create_stream(StreamName=STREAM, ShardCount=2)
        kinesis.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.1})
        errors: Counter[str] = Counter()
        acked: dict[str, Any] = {}
        threads = [
            threading.Thread(target=_client_work, args=(engine, n, errors, acked)) for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == Counter()
        for n in range(CLIENTS):
            for key, body in acked[f"objects-{n}"].items():
                assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
        stored = 0
        for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
            iterator = kinesis.get_shard_iterator(
                StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while True:
                page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
                stored += len(page["Records"])
                if not page["Records"]:
                    break
                iterator = page["NextShardIterator"]
        assert stored == sum(acked[f"records-{n}"] for n in range(CLIENTS))
    finally:
        engine.stop()
