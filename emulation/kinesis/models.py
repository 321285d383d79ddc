"""Per-shard throughput limits and the write path into moto's Kinesis shards.

Limits (AWS, provisioned mode, per shard): writes 1 MiB/s and 1,000 records/s; reads
5 GetRecords calls/s and 2 MiB/s. A record is at most 1 MiB (data + partition key); a
PutRecords call at most 500 records and 5 MiB.

Write limits are token buckets whose tokens come back exactly one second after they were
spent (a sliding one-second window): any burst up to a second's worth is accepted at
once, as AWS does, and a producer that keeps pushing gets exactly the limit per second
over time. A plain refilling bucket would also admit a full extra second's worth at the
start of every overload, which is not what AWS shows. Reads combine a five-calls window
with a byte allowance that a large read overdraws: a call that returned 10 MiB makes the
next five seconds of calls fail, as the GetRecords documentation says.

Accepted records are written into moto's shards here, not through moto's PutRecords, so
their sequence numbers are known before the answer. A shard's records are a
:class:`~emulation.kinesis.segments.ShardLog` (segment files on disk): a put writes its
records to the segments of the shards it goes to (one ``write`` each) before it is
answered, after the stream's shard layout was journaled if no journal line since the last
snapshot describes it (see :mod:`emulation.kinesis.journal`). Sequence numbers follow
moto's scheme (per shard, the last one plus one), records are routed like AWS does (MD5 of
the partition key, or the ExplicitHashKey, against the hash ranges of the open shards), and
moto's side effects of a put (Lambda event source mappings, CloudWatch
``IncomingBytes``/``IncomingRecords``) are kept.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import logging
import re
import threading
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulation.core import moto_compat
from emulation.kinesis.exceptions import (
    InvalidArgumentException,
    ProvisionedThroughputExceededException,
    SerializationException,
    ValidationException,
    write_throttle_message,
)
from emulation.kinesis.segments import ShardLog, current_store, records_of, retention_micros

log = logging.getLogger(__name__)

MIB = 1024 * 1024
WINDOW_SECONDS = 1.0
WRITE_RECORDS_PER_SECOND = 1000
WRITE_BYTES_PER_SECOND = MIB
READ_CALLS_PER_SECOND = 5
READ_BYTES_PER_SECOND = 2 * MIB
MAX_RECORD_BYTES = MIB
MAX_PARTITION_KEY_CHARS = 256
MAX_PUT_RECORDS_ENTRIES = 500
MAX_PUT_RECORDS_BYTES = 5 * MIB
MAX_GET_RECORDS_LIMIT = 10000
MAX_GET_RECORDS_BYTES = 10 * MIB
HASH_KEY_LIMIT = 2**128

_EXPLICIT_HASH_KEY = re.compile(r"0|[1-9]\d{0,38}")
_THROTTLED = "ProvisionedThroughputExceededException"

#: bytes of segment one GetRecords call reads at most (10 MiB of data, as base64, plus framing)
MAX_GET_RECORDS_READ = 2 * MAX_GET_RECORDS_BYTES
#: a shard's key for the read limits: (account, region, stream name, shard id)
ReadKey = tuple[str, str, str, str]


# -- limits ---------------------------------------------------------------------------------
class WriteWindow:
    """What one shard accepted in the last second (records and bytes)."""

    __slots__ = ("_spent", "bytes", "records")

    def __init__(self) -> None:
        self._spent: deque[tuple[float, int, int]] = deque()
        self.records = 0
        self.bytes = 0

    def expire(self, now: float) -> None:
        """Give back the tokens spent one second ago or earlier."""
        spent = self._spent
        horizon = now - WINDOW_SECONDS
        while spent and spent[0][0] <= horizon:
            _, records, size = spent.popleft()
            self.records -= records
            self.bytes -= size

    def spend(self, now: float, records: int, size: int) -> None:
        self._spent.append((now, records, size))
        self.records += records
        self.bytes += size


class ReadAllowance:
    """GetRecords on one shard: five calls in any second, and 2 MiB/s of data.

    A call is admitted while fewer than five calls fell in the last second and no read
    debt is left; the bytes a call returned are charged afterwards and paid back at
    2 MiB/s, so a 10 MiB answer blocks the shard's reads for the next five seconds.
    """

    __slots__ = ("_calls", "_debt", "_debt_at")

    def __init__(self) -> None:
        self._calls: deque[float] = deque()
        self._debt = 0.0
        self._debt_at = 0.0

    def _pay_back(self, now: float) -> None:
        if self._debt > 0:
            self._debt = max(0.0, self._debt - (now - self._debt_at) * READ_BYTES_PER_SECOND)
        self._debt_at = now

    def admit(self, now: float) -> bool:
        calls = self._calls
        horizon = now - WINDOW_SECONDS
        while calls and calls[0] <= horizon:
            calls.popleft()
        self._pay_back(now)
        if len(calls) >= READ_CALLS_PER_SECOND or self._debt > 0:
            return False
        calls.append(now)
        return True

    def charge(self, now: float, size: int) -> None:
        self._pay_back(now)
        self._debt += size


# -- routing --------------------------------------------------------------------------------
class ShardRouter:
    """The open shards of one moto stream, sorted by hash range, for routing records."""

    __slots__ = ("ends", "layout", "shard_ids", "shards", "starts", "stream")

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.layout = len(stream.shards)
        shards = sorted(
            (shard for shard in stream.shards.values() if shard.is_open),
            key=lambda shard: int(shard.starting_hash),
        )
        self.shards: list[Any] = shards
        self.shard_ids: list[str] = [shard.shard_id for shard in shards]
        self.starts = [int(shard.starting_hash) for shard in shards]
        self.ends = [int(shard.ending_hash) for shard in shards]

    def is_current(self, stream: Any) -> bool:
        # moto only ever adds shards (split/merge close the parents), so the number of
        # shards changes whenever the open set does.
        return stream is self.stream and len(stream.shards) == self.layout

    def route(self, hash_key: int) -> int:
        """Index of the open shard whose range holds ``hash_key`` (-1 if none does)."""
        if len(self.starts) == 1:
            return 0 if self.starts[0] <= hash_key <= self.ends[0] else -1
        index = bisect_right(self.starts, hash_key) - 1
        if index < 0 or hash_key > self.ends[index]:
            return -1
        return index


def partition_hash(partition_key: str) -> int:
    """The 128-bit hash key AWS derives from a partition key (MD5, big-endian)."""
    digest = hashlib.md5(partition_key.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest, "big")


def decoded_length(data: str) -> int:
    """Bytes that a base64 string decodes to; SerializationException when it is not base64.

    Checked strictly (alphabet and padding; missing padding is tolerated, as AWS's decoder
    does): a record whose ``Data`` is not base64 would otherwise be stored and then break
    every GetRecords over it for the whole retention period.
    """
    size = len(data)
    if not size:
        return 0
    try:
        return len(binascii.a2b_base64(data + "=" * (-size % 4), strict_mode=True))
    except (binascii.Error, ValueError) as exc:
        raise SerializationException("Base64 encoded data is invalid") from exc


def stored_length(data: str) -> int:
    """Bytes of a record already stored (checked by :func:`decoded_length` when it was put)."""
    size = len(data)
    if size % 4 or not size:
        return decoded_length(data)
    padding = 2 if data.endswith("==") else 1 if data[-1] == "=" else 0
    return size // 4 * 3 - padding


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


# -- requests -------------------------------------------------------------------------------
@dataclass
class PutBatch:
    """The validated entries of one PutRecord(s) call, as parallel lists."""

    partition_keys: list[str]
    datas: list[str]
    hash_keys: list[str | None]
    sizes: list[int]


def read_put_entries(entries: Any, member: str) -> PutBatch:
    """Check PutRecord(s) entries against the service model and AWS's size limits.

    ``member`` is the path AWS names in messages: ``"records.{}.member."`` for PutRecords
    (formatted with the entry's number, from 1) and the empty string for PutRecord.
    """
    batch = PutBatch([], [], [], [])
    violations: list[str] = []
    total = 0
    oversize_at = 0
    for index, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise SerializationException("Start of list found where not expected")
        path = member.format(index)
        data = entry.get("Data")
        key = entry.get("PartitionKey")
        hash_key = entry.get("ExplicitHashKey")
        if data is None:
            violations.append(
                f"Value null at '{path}data' failed to satisfy constraint: Member must not be null"
            )
            data = ""
        elif not isinstance(data, str):
            raise SerializationException("Base64 encoded data is invalid")
        if key is None:
            violations.append(
                f"Value null at '{path}partitionKey' failed to satisfy constraint: Member must not be null"
            )
            key = ""
        elif not isinstance(key, str):
            raise SerializationException("NUMBER_VALUE can not be converted to a String")
        elif not 1 <= len(key) <= MAX_PARTITION_KEY_CHARS:
            bound = "less than or equal to 256" if key else "greater than or equal to 1"
            violations.append(
                f"Value '{key}' at '{path}partitionKey' failed to satisfy constraint: "
                f"Member must have length {bound}"
            )
        if hash_key is not None and (
            not isinstance(hash_key, str) or not _EXPLICIT_HASH_KEY.fullmatch(hash_key)
        ):
            violations.append(
                f"Value '{hash_key}' at '{path}explicitHashKey' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})"
            )
        size = decoded_length(data)
        if size > MAX_RECORD_BYTES:
            value = f"'java.nio.HeapByteBuffer[pos=0 lim={size} cap={size}]' " if not member else ""
            violations.append(
                f"Value {value}at '{path}data' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_RECORD_BYTES}"
            )
        size += _utf8_length(key)
        if size > MAX_RECORD_BYTES and not oversize_at:
            oversize_at = index
        total += size
        batch.datas.append(data)
        batch.partition_keys.append(key)
        batch.hash_keys.append(hash_key)
        batch.sizes.append(size)
    if violations:
        raise ValidationException.of(violations)
    for hash_key in batch.hash_keys:
        if hash_key is not None and int(hash_key) >= HASH_KEY_LIMIT:
            raise InvalidArgumentException(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                f"Specified value was {hash_key}"
            )
    if total > MAX_PUT_RECORDS_BYTES:
        raise InvalidArgumentException("Records size exceeds 5 MB limit")
    if oversize_at:
        where = f"Record {oversize_at}" if member else "Record"
        raise InvalidArgumentException(f"{where} size exceeds the 1 MB limit (data blob plus partition key)")
    return batch


def check_put_records_count(entries: Any) -> None:
    if not isinstance(entries, list):
        if entries is None:
            raise ValidationException.of(
                ["Value null at 'records' failed to satisfy constraint: Member must not be null"]
            )
        raise SerializationException("Start of structure or map found where not expected")
    if not entries:
        raise ValidationException.of(
            [
                "Value '[]' at 'records' failed to satisfy constraint: "
                "Member must have length greater than or equal to 1"
            ]
        )
    if len(entries) > MAX_PUT_RECORDS_ENTRIES:
        raise ValidationException.of(
            [
                "Value at 'records' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_PUT_RECORDS_ENTRIES}"
            ]
        )


@dataclass
class PutOutcome:
    """Per entry, in request order: ``(sequence number, shard id)``, or the message of a
    throttled entry."""

    stream: Any
    account: str
    results: list[tuple[str, str] | str]
    failed: int = 0


@dataclass
class ReadResult:
    """What one GetRecords call returns: moto's records after the iterator's position."""

    stream: Any
    shard: Any
    records: list[Any]
    #: sequence number the next iterator starts after
    last_sequence: int
    millis_behind: int
    #: bytes returned (data plus partition keys), charged against the read limits
    size: int


# -- the data plane -------------------------------------------------------------------------
class StreamNotFoundError(LookupError):
    """The stream is not in moto (moto answers the request with its own error)."""


class KinesisDataPlane:
    """Admits, writes and journals puts; admits and charges GetRecords.

    Writes are serialised by one lock (moto's ``Shard.put_record`` is not safe to call
    from several threads, and the journal must list records in sequence order). Callers
    hold the engine's state lock shared around every call that touches moto.
    """

    def __init__(
        self,
        limits: bool,
        journal: Callable[[str, str, Any], None] | None = None,
        clock: Callable[[], float] | None = None,
        retention_scale: float = 1.0,
    ) -> None:
        self.limits = limits
        #: called before records go to a stream's shards: journals its layout if needed
        self.journal = journal
        self.clock = clock or time.monotonic
        self.retention_scale = retention_scale
        self._write_lock = threading.Lock()
        #: held while records go into, or moto's own code walks, a shard's ``records``
        self.records_lock = self._write_lock
        self._read_lock = threading.Lock()
        self._writes: dict[tuple[str, str, str, str], WriteWindow] = {}
        self._reads: dict[ReadKey, ReadAllowance] = {}
        self._routers: dict[tuple[str, str, str], ShardRouter] = {}
        self.throttled_records = 0
        self.throttled_put_calls = 0
        self.throttled_reads = 0
        self.accepted_records = 0

    def reset(self) -> None:
        with self._write_lock, self._read_lock:
            self._writes.clear()
            self._reads.clear()
            self._routers.clear()

    # -- writes -----------------------------------------------------------------------------
    def put(self, account: str, region: str, params: dict[str, Any], batch: PutBatch) -> PutOutcome:
        """Admit, journal and write one PutRecord(s) call's entries (in order)."""
        backend = kinesis_backend(account, region)
        with self._write_lock:
            stream = find_stream(backend, params.get("StreamName"), params.get("StreamARN"))
            router = self._router(account, region, stream)
            outcome = self._admit_and_write(account, region, stream, router, batch)
        if outcome.failed < len(batch.sizes):
            self._after_write(backend, stream, outcome, batch)
        return outcome

    def _router(self, account: str, region: str, stream: Any) -> ShardRouter:
        key = (account, region, stream.stream_name)
        router = self._routers.get(key)
        if router is None or not router.is_current(stream):
            router = self._routers[key] = ShardRouter(stream)
        return router

    def _admit_and_write(
        self, account: str, region: str, stream: Any, router: ShardRouter, batch: PutBatch
    ) -> PutOutcome:
        shards = router.shards
        single = len(shards) == 1
        count = len(batch.sizes)
        targets = [0] * count
        for index in range(count):
            hash_key = batch.hash_keys[index]
            if single and hash_key is None:
                continue
            target = router.route(
                int(hash_key) if hash_key is not None else partition_hash(batch.partition_keys[index])
            )
            if target < 0:
                raise InvalidArgumentException(
                    f"No open shard of stream {stream.stream_name} covers the record's hash key"
                )
            targets[index] = target
        outcome = PutOutcome(stream=stream, account=account, results=[""] * count)
        now = self.clock()
        if self.limits:
            windows: dict[int, WriteWindow] = {}
            used: dict[int, list[int]] = {}
            messages: dict[int, str] = {}
            for index in range(count):
                target = targets[index]
                spent = used.get(target)
                if spent is None:
                    window = self._write_window(account, region, stream, router.shard_ids[target], now)
                    windows[target] = window
                    spent = used[target] = [window.records, window.bytes]
                size = batch.sizes[index]
                if spent[0] < WRITE_RECORDS_PER_SECOND and spent[1] + size <= WRITE_BYTES_PER_SECOND:
                    spent[0] += 1
                    spent[1] += size
                else:
                    targets[index] = -1
                    outcome.failed += 1
                    message = messages.get(target)
                    if message is None:
                        message = messages[target] = write_throttle_message(
                            router.shard_ids[target], stream.stream_name, account
                        )
                    outcome.results[index] = message
            if outcome.failed == count:
                self.throttled_records += count
                return outcome
        # Sequence numbers as moto assigns them: per shard, the last one plus one. The records
        # of one call share one arrival time, as AWS shows (see ``record_builder``).
        shard_ids = router.shard_ids
        per_shard: dict[int, list[Any]] = {}
        build_record = moto_compat.record_builder()
        for index in range(count):
            target = targets[index]
            if target < 0:
                continue
            created = per_shard.get(target)
            if created is None:
                created = per_shard[target] = []
                sequence = records_of(shards[target]).last_sequence
            else:
                sequence = created[-1].sequence_number
            record = build_record(
                batch.partition_keys[index], batch.datas[index], sequence + 1, batch.hash_keys[index]
            )
            created.append(record)
            outcome.results[index] = (str(sequence + 1), shard_ids[target])
        if self.journal is not None and per_shard:
            # Write-ahead: the stream's layout is journaled before its shards get records.
            self.journal(account, region, stream)
        retention = retention_micros(stream, self.retention_scale)
        accepted = 0
        for target, created in per_shard.items():
            log = records_of(shards[target])
            log.retention_micros = retention
            log.append(created)  # an OSError here fails the call before it is answered
            accepted += len(created)
        if self.limits:
            for target, spent in used.items():
                window = windows[target]
                window.spend(now, spent[0] - window.records, spent[1] - window.bytes)
        self.throttled_records += outcome.failed
        self.accepted_records += accepted
        return outcome

    def _write_window(self, account: str, region: str, stream: Any, shard_id: str, now: float) -> WriteWindow:
        key = (account, region, stream.stream_name, shard_id)
        window = self._writes.get(key)
        if window is None:
            window = self._writes[key] = WriteWindow()
        window.expire(now)
        return window

    def _after_write(self, backend: Any, stream: Any, outcome: PutOutcome, batch: PutBatch) -> None:
        """moto's side effects of a put: Lambda event source mappings, CloudWatch metrics."""
        accepted = [i for i, result in enumerate(outcome.results) if isinstance(result, tuple)]
        if stream.lambda_event_source_mappings:
            from moto.awslambda.utils import get_backend as lambda_backend

            for arn, mapping in list(stream.lambda_event_source_mappings.items()):
                lambdas = lambda_backend(stream.account_id, arn.split(":")[3])
                for index in accepted:
                    result = outcome.results[index]
                    assert isinstance(result, tuple)
                    sequence, shard_id = result
                    lambdas.send_kinesis_message(
                        function_name=mapping.function_arn,
                        kinesis_stream=stream.arn,
                        kinesis_data=batch.datas[index],
                        kinesis_shard_id=shard_id,
                        kinesis_partition_key=batch.partition_keys[index],
                        kinesis_sequence_number=sequence,
                    )
        try:
            moto_compat.send_stream_metrics(
                backend,
                stream.stream_name,
                incoming_bytes=sum(batch.sizes[i] for i in accepted),
                incoming_records=len(accepted),
            )
        except Exception:  # metrics are a side effect; the put stands
            log.debug("CloudWatch metrics for %s failed", stream.stream_name, exc_info=True)

    # -- reads ------------------------------------------------------------------------------
    def admit_read(self, account: str, region: str, shard_iterator: Any) -> ReadKey | None:
        """Admit one GetRecords call, or raise when the shard is over its read limits.

        Returns the shard's key (for :meth:`charge_read`), or None when the iterator is
        not one of moto's (moto answers it).
        """
        where = decode_shard_iterator(shard_iterator)
        if where is None:
            return None
        stream_name, shard_id = where
        key = (account, region, stream_name, shard_id)
        with self._read_lock:
            allowance = self._reads.get(key)
            if allowance is None:
                allowance = self._reads[key] = ReadAllowance()
            if allowance.admit(self.clock()):
                return key
            self.throttled_reads += 1
        raise ProvisionedThroughputExceededException.for_read(shard_id, stream_name, account)

    def read(self, account: str, region: str, params: dict[str, Any]) -> ReadResult | None:
        """The records one GetRecords call returns, or None to let moto answer the call
        (an iterator that is not moto's, a stream or shard moto does not have, a bad Limit).

        moto scans the shard from its first record on every call and serialises each
        record through the service model; here the start is found by bisection and the
        answer is rendered directly. Like AWS (and unlike moto), a call returns at most
        10,000 records and 10 MiB (but always at least one record when there is one).
        """
        where = decode_shard_iterator_position(params.get("ShardIterator"))
        limit = params.get("Limit", MAX_GET_RECORDS_LIMIT)
        if where is None or type(limit) is not int or not 1 <= limit <= MAX_GET_RECORDS_LIMIT:
            return None
        stream_name, shard_id, last = where
        try:
            stream = find_stream(kinesis_backend(account, region), stream_name, params.get("StreamARN"))
        except StreamNotFoundError:
            return None
        shard = stream.shards.get(shard_id)
        if shard is None:
            return None
        log = records_of(shard)
        log.retention_micros = retention_micros(stream, self.retention_scale)
        records, newest = log.read_after(last, limit, MAX_GET_RECORDS_READ)
        size = 0
        for count, record in enumerate(records):
            data = record.data
            record_size = stored_length(data if isinstance(data, str) else data.decode("ascii"))
            record_size += _utf8_length(record.partition_key)
            if count and size + record_size > MAX_GET_RECORDS_BYTES:
                del records[count:]
                break
            size += record_size
        millis = 0
        if records:
            last = records[-1].sequence_number
            millis = max(0, int((newest - records[-1].created_at) * 1000))
        return ReadResult(stream, shard, records, last, millis, size)

    def charge_read(self, key: ReadKey, size: int) -> None:
        with self._read_lock:
            allowance = self._reads.get(key)
            if allowance is not None and size:
                allowance.charge(self.clock(), size)


def decode_shard_iterator(shard_iterator: Any) -> tuple[str, str] | None:
    """(stream name, shard id) of one of moto's shard iterators."""
    if not isinstance(shard_iterator, str):
        return None
    try:
        text = base64.b64decode(shard_iterator).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    parts = text.split(":")
    if len(parts) != 3:
        return None
    return parts[0], parts[1]


def decode_shard_iterator_position(shard_iterator: Any) -> tuple[str, str, int] | None:
    """(stream name, shard id, last sequence number read) of one of moto's iterators."""
    if not isinstance(shard_iterator, str):
        return None
    try:
        stream_name, shard_id, last = base64.b64decode(shard_iterator).decode("utf-8").split(":")
        return stream_name, shard_id, int(last)
    except (binascii.Error, ValueError):
        return None


def get_records_size(body: dict[str, Any]) -> int:
    """Bytes a GetRecords answer returned (data plus partition keys), from its JSON."""
    total = 0
    for record in body.get("Records") or ():
        data = record.get("Data")
        if isinstance(data, str):
            total += stored_length(data)
        elif isinstance(data, bytes | bytearray):
            total += len(data)
        total += _utf8_length(str(record.get("PartitionKey", "")))
    return total


# -- quotas ---------------------------------------------------------------------------------
#: AWS's default quota of open shards per account: 500 in these regions, 200 elsewhere
SHARD_QUOTA_REGIONS = frozenset({"us-east-1", "us-west-2", "eu-west-1"})
#: the shards an on-demand stream opens with
ON_DEMAND_SHARDS = 4


def shard_quota(region: str) -> int:
    return 500 if region in SHARD_QUOTA_REGIONS else 200


def open_shards(account: str, region: str, exclude: str | None = None) -> int:
    """Open shards of every stream of the account in the region (but ``exclude``'s)."""
    backend = kinesis_backend(account, region)
    return sum(
        1
        for stream in list(backend.streams.values())
        if stream.stream_name != exclude
        for shard in list(stream.shards.values())
        if shard.is_open
    )


def requested_shards(operation: str, params: dict[str, Any]) -> tuple[str | None, int] | None:
    """(the stream it resizes, the open shards it asks for) of a call that opens shards."""
    if operation == "CreateStream":
        mode = (params.get("StreamModeDetails") or {}).get("StreamMode")
        count = params.get("ShardCount")
        if mode == "ON_DEMAND":
            return None, ON_DEMAND_SHARDS
        return (None, count) if isinstance(count, int) and count > 0 else None
    if operation == "UpdateShardCount":
        target = params.get("TargetShardCount")
        name = params.get("StreamName")
        return (name, target) if isinstance(target, int) and isinstance(name, str) else None
    return None


# -- moto access ----------------------------------------------------------------------------
def kinesis_backend(account: str, region: str) -> Any:
    from moto.kinesis.models import kinesis_backends

    return kinesis_backends[account][region]


def find_stream(backend: Any, name: Any, arn: Any) -> Any:
    """The moto stream a request names (by name first, then ARN, as moto looks it up)."""
    if isinstance(name, str) and name in backend.streams:
        return backend.streams[name]
    if isinstance(arn, str):
        for stream in backend.streams.values():
            if stream.arn == arn:
                return stream
    raise StreamNotFoundError(name or arn)


def tag_created_stream(account: str, region: str, name: Any, tags: Any) -> None:
    """CreateStream's ``Tags`` on the stream moto just created (moto ignores them)."""
    if not isinstance(tags, dict) or not tags:
        return
    stream = find_stream(kinesis_backend(account, region), name, None)
    stream.tags.update({str(key): str(value) for key, value in tags.items()})


# -- replay (journal -> moto)
def describe_stream_layout(stream: Any) -> dict[str, Any]:
    """What the journal needs to recreate a stream that no snapshot holds yet (each shard
    with the id of the log that holds its records)."""
    created = stream.creation_datetime
    return {
        "name": stream.stream_name,
        "arn": stream.arn,
        "mode": dict(stream.stream_mode),
        "retention": stream.retention_period_hours,
        "created": created.isoformat() if isinstance(created, datetime.datetime) else None,
        "shards": [
            [
                moto_compat.shard_number(shard),
                str(shard.starting_hash),
                str(shard.ending_hash),
                shard.parent,
                shard.adjacent_parent,
                bool(shard.is_open),
                shard.records.log_id if isinstance(shard.records, ShardLog) else None,
            ]
            for shard in stream.shards.values()
        ],
    }


def ensure_stream(account: str, region: str, layout: dict[str, Any]) -> Any:
    """The stream of a journal header, created (with its shard layout) if it is missing.

    A shard the stream lacks gets the log the header names (its records are on disk)."""
    from moto.kinesis.models import Shard

    backend = kinesis_backend(account, region)
    stream = backend.streams.get(layout["name"])
    created = stream.creation_datetime if stream is not None else None
    if (
        layout.get("created")
        and isinstance(created, datetime.datetime)
        and created.isoformat() != layout["created"]
    ):
        # deleted and created again after the snapshot: the journal's is the live one
        del backend.streams[layout["name"]]
        stream = None
    if stream is None:
        open_count = sum(1 for shard in layout["shards"] if shard[5]) or 1
        stream = backend.create_stream(
            layout["name"],
            open_count,
            stream_mode=layout.get("mode"),
            retention_period_hours=layout.get("retention"),
        )
        stream.shards = {}
        if layout.get("created"):
            stream.creation_datetime = datetime.datetime.fromisoformat(layout["created"])
        log.info("journal replay recreated stream %s (no snapshot held it)", layout["name"])
    store = current_store()
    for number, start, end, parent, adjacent, is_open, *rest in layout["shards"]:
        shard = Shard(int(number), int(start), int(end), parent=parent, adjacent_parent=adjacent)
        existing = stream.shards.get(shard.shard_id)
        if existing is None:
            shard.is_open = bool(is_open)
            log_id = rest[0] if rest else None
            if log_id and store is not None:
                shard.records = store.open(log_id)
            stream.shards[shard.shard_id] = shard
        elif not is_open:
            existing.is_open = False
    stream.shard_count = sum(1 for shard in stream.shards.values() if shard.is_open)
    return stream


@dataclass
class ReplayCounts:
    replayed: int = 0
    present: int = 0
    lost: int = 0


#: records of journal ``put`` lines (written before records went to segment files), per shard
PendingRecords = dict[Any, list[Any]]


def replay_puts(
    account: str,
    region: str,
    stream_name: str,
    arrived: float,
    rows: list[list[Any]],
    counts: ReplayCounts,
    pending: PendingRecords,
) -> None:
    """Collect the records of a journal ``put`` line of an older engine (its records were
    journaled, not written to segments); :func:`append_replayed` writes them."""
    backend = kinesis_backend(account, region)
    stream = backend.streams.get(stream_name)
    if stream is None:
        counts.lost += len(rows)
        return
    when = datetime.datetime.fromtimestamp(arrived, tz=datetime.UTC).replace(tzinfo=None)
    for shard_id, journaled_sequence, partition_key, data, hash_key in rows:
        shard = stream.shards.get(shard_id)
        if shard is None:
            counts.lost += 1
            continue
        record = moto_compat.stored_record(
            partition_key, data, int(journaled_sequence), hash_key, when, arrived
        )
        pending.setdefault(shard, []).append(record)


def append_replayed(pending: PendingRecords, counts: ReplayCounts) -> None:
    """Write the collected records to their shards with their original sequence numbers,
    in order, skipping those a shard already has."""
    for shard, records in pending.items():
        log = records_of(shard)
        records.sort(key=lambda record: record.sequence_number)
        fresh = []
        last = log.last_sequence
        for record in records:
            if record.sequence_number > last:
                fresh.append(record)
                last = record.sequence_number
            elif record.sequence_number in log:
                counts.present += 1
            else:
                counts.lost += 1
        for start in range(0, len(fresh), 1000):
            log.append(fresh[start : start + 1000])
        counts.replayed += len(fresh)
