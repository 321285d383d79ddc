"""Test support for the producers: a fake Kinesis client, stacks, bronze helpers."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from nexuskit.producers.credentials import PlatformCredentials

REGION = "us-west-2"


def platform() -> PlatformCredentials:
    """An identity for producers whose client is a fake (nothing is called over HTTP)."""
    return PlatformCredentials(AwsTarget(REGION, "AKIAFAKE", "secret", endpoint_url="http://127.0.0.1:9"))


@dataclass
class FakeKinesis:
    """PutRecords in memory, with an optional sliding one-second limit (like a shard's).

    ``accepted`` holds (monotonic time, data) of every accepted record; ``always`` makes
    every entry fail with that error code; ``deny`` makes every call fail with it.
    """

    limit_per_s: int | None = None
    always: str | None = None
    deny: str | None = None
    accepted: list[tuple[float, bytes]] = field(default_factory=list)
    calls: int = 0
    _window: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            self.calls += 1
            if self.deny:
                raise ClientError(
                    {"Error": {"Code": self.deny, "Message": f"not allowed on {StreamName}"}}, "PutRecords"
                )
            now = time.monotonic()
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            results: list[dict[str, Any]] = []
            failed = 0
            for entry in Records:
                full = self.limit_per_s is not None and len(self._window) >= self.limit_per_s
                if self.always or full:
                    failed += 1
                    code = self.always or "ProvisionedThroughputExceededException"
                    results.append({"ErrorCode": code, "ErrorMessage": "Rate exceeded"})
                    continue
                self._window.append(now)
                self.accepted.append((now, entry["Data"]))
                results.append({"SequenceNumber": str(len(self.accepted)), "ShardId": "shardId-000000000000"})
            return {"FailedRecordCount": failed, "Records": results}
