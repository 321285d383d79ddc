"""Delivery proof: did every record a run sent land in bronze, exactly once?

The run record says which ids the run sent (:mod:`nexuskit.producers.runs`). The bronze
bucket holds what Firehose delivered: GZIP objects of concatenated JSON lines, under the
root (internal stream) and ``client/`` (client stream). Every object written since the
run started is read (Firehose's ``processing-failed/`` error output is not a delivery),
each line's ``id`` and ``run_id`` are taken (from the JSON, or for a malformed line from
its text, which keeps them at the front), and the ids of the run are counted.

``wait`` keeps polling (new objects only) until nothing is missing or the time is up:
Firehose buffers before it writes.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from nexuskit.producers.records import id_prefix
from nexuskit.producers.runs import from_ranges

log = logging.getLogger(__name__)

ERROR_OUTPUT_MARK = "processing-failed/"
#: objects older than the run's start minus this are not read (clock differences)
START_SLACK_S = 120.0
_ID = re.compile(rb'"id"\s*:\s*"([^"]+)"')
_RUN_ID = re.compile(rb'"run_id"\s*:\s*"([^"]+)"')


@dataclass
class VerifyReport:
    run_id: str
    status: str
    sent: int
    delivered: int
    missing: int
    duplicated: int
    unexpected: int
    objects_read: int
    locations: dict[str, int]
    waited_s: float
    missing_sample: list[str] = field(default_factory=list)
    duplicated_sample: list[str] = field(default_factory=list)

    @property
    def exactly_once(self) -> bool:
        return self.missing == 0 and self.duplicated == 0

    def as_dict(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        doc["waited_s"] = round(self.waited_s, 3)
        doc["exactly_once"] = self.exactly_once
        return doc


def expected_ids(run: dict[str, Any]) -> set[str]:
    """Every id the run handed to Kinesis and did not give up."""
    failed = set(from_ranges(run.get("failed_seqs") or []))
    prefix = id_prefix(str(run["run_id"]))
    made = int(run.get("made") or 0)
    return {f"{prefix}{seq:012x}" for seq in range(made) if seq not in failed}


def _lines(body: bytes) -> Iterator[bytes]:
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    yield from body.splitlines()


def _identity(line: bytes) -> tuple[str | None, str | None]:
    try:
        doc = json.loads(line)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        record_id, run_id = doc.get("id"), doc.get("run_id")
        return (
            record_id if isinstance(record_id, str) else None,
            run_id if isinstance(run_id, str) else None,
        )
    found_id, found_run = _ID.search(line), _RUN_ID.search(line)
    return (
        found_id.group(1).decode("utf-8", "replace") if found_id else None,
        found_run.group(1).decode("utf-8", "replace") if found_run else None,
    )


def _since(run: dict[str, Any]) -> float:
    try:
        return (
            datetime.fromisoformat(str(run["started_at"]).replace("Z", "+00:00")).timestamp() - START_SLACK_S
        )
    except (KeyError, ValueError):
        return 0.0


class BronzeScan:
    """Reads bronze objects once each and counts one run's ids."""

    def __init__(self, s3: Any, bucket: str, run_id: str, since: float) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.run_id = run_id
        self.since = since
        self.seen: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.locations: Counter[str] = Counter()
        self.read = 0

    def poll(self) -> int:
        """Read the objects not read yet; how many were read."""
        read = 0
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                key = str(item["Key"])
                if key in self.seen or ERROR_OUTPUT_MARK in key:
                    continue
                modified = item.get("LastModified")
                if isinstance(modified, datetime) and modified.timestamp() < self.since:
                    self.seen.add(key)
                    continue
                try:
                    body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                except ClientError as exc:
                    log.warning("cannot read s3://%s/%s: %s", self.bucket, key, exc)
                    continue
                self.seen.add(key)
                read += 1
                self.read += 1
                location = key.split("/", 1)[0] + "/" if not key[:1].isdigit() else "(root)"
                try:
                    lines = list(_lines(body))
                except (OSError, EOFError) as exc:
                    log.warning("s3://%s/%s is not GZIP: %s", self.bucket, key, exc)
                    continue
                for line in lines:
                    record_id, run_id = _identity(line)
                    if run_id == self.run_id and record_id is not None:
                        self.counts[record_id] += 1
                        self.locations[location] += 1
        return read


def verify_run(
    s3: Any,
    bucket: str,
    run: dict[str, Any],
    *,
    wait: float = 0.0,
    poll_interval: float = 1.0,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> VerifyReport:
    """Count the run's ids in bronze (polling up to ``wait`` seconds for stragglers)."""
    run_id = str(run["run_id"])
    expected = expected_ids(run)
    scan = BronzeScan(s3, bucket, run_id, _since(run))
    started = monotonic()
    while True:
        scan.poll()
        missing = expected - set(scan.counts)
        if not missing or monotonic() - started >= wait:
            break
        sleep(min(poll_interval, max(0.0, wait - (monotonic() - started))))
    duplicated = sorted(record_id for record_id, n in scan.counts.items() if n > 1 and record_id in expected)
    unexpected = [record_id for record_id in scan.counts if record_id not in expected]
    return VerifyReport(
        run_id=run_id,
        status=str(run.get("status", "unknown")),
        sent=len(expected),
        delivered=len(expected) - len(missing),
        missing=len(missing),
        duplicated=len(duplicated),
        unexpected=len(unexpected),
        objects_read=scan.read,
        locations=dict(scan.locations),
        waited_s=monotonic() - started,
        missing_sample=sorted(missing)[:10],
        duplicated_sample=duplicated[:10],
    )
