"""One delivery stream's worker: read the source shards, buffer, compress, put, checkpoint.

Each tick reads what is new on every shard of the source stream (parents before children)
into an in-memory buffer, and flushes it as one S3 object when it holds ``SizeInMBs`` or
its oldest record is ``IntervalInSeconds`` old, whichever comes first. The buffer only
holds copies: until an object is in the bucket, its records are still in Kinesis and the
checkpoint still points before them, so nothing is lost when the engine dies.

A failed put (the bucket was deleted, access is denied) is logged to the stream's
CloudWatch log stream and retried with backoff, as AWS retries S3 delivery; the records
stay buffered and nothing more is read meanwhile.
"""

from __future__ import annotations

import binascii
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulation.core.extension import Worker
from emulation.firehose.delivery import (
    DEFAULT_ERROR_OUTPUT_TYPE,
    S3Destination,
    decode_record_data,
    delivery_log_message,
    error_prefix,
    evaluate_prefix,
    failed_record,
    object_name,
)
from emulation.firehose.exceptions import (
    DestinationDeliveryError,
    FirehoseDeliveryError,
    SourceReadError,
)
from emulation.firehose.source import (
    START,
    after_merge_copies,
    lookup_stream,
    position_at,
    records_after,
    shards_in_read_order,
)

if TYPE_CHECKING:
    from emulation.firehose.models import FirehoseDelivery

log = logging.getLogger(__name__)

POLL_S = {"fast": 0.1, "aws": 0.25}
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = {"fast": 5.0, "aws": 30.0}
READ_LIMIT = 5_000
#: read ahead of delivery by at most this many objects' worth of records
READ_AHEAD = 2
#: error code for a record whose data is not valid base64 (ours; AWS has no such case)
INVALID_RECORD_DATA = "Kinesis.InvalidRecordData"


@dataclass(frozen=True)
class StreamKey:
    """One delivery stream; ``created`` tells a re-created stream of the same name apart."""

    account: str
    region: str
    name: str
    created: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}/{self.name}@{self.created}"


@dataclass
class Buffered:
    shard_id: str
    sequence: Any
    arrival: float
    data: bytes | None  # None: not decodable, goes to the error output
    raw: Any = None
    size: int = 0


@dataclass
class Target:
    """Where the next object goes, read from the delivery stream under the lock."""

    destination: S3Destination
    stream_arn: str
    version_id: str


@dataclass
class Delivery:
    """One object (and the error object of its failed records), retried until written."""

    target: Target
    source_created: str
    key: str | None
    body: bytes | None
    error_key: str | None
    error_body: bytes | None
    positions: dict[str, Any]
    records: int
    failed_records: int
    attempts: int = 0
    done: set[str] = field(default_factory=set)


def created_at(stream: Any) -> datetime:
    """A delivery stream's creation time (moto stores naive UTC)."""
    created: datetime = stream.create_timestamp
    return created if created.tzinfo else created.replace(tzinfo=UTC)


class DeliveryWorker:
    """Delivers one ``KinesisStreamAsSource`` delivery stream to its S3 destination."""

    THREAD_PREFIX = "firehose-delivery:"

    def __init__(self, owner: FirehoseDelivery, key: StreamKey, stream: Any) -> None:
        self.owner = owner
        self.key = key
        self.thread = Worker(f"{self.THREAD_PREFIX}{key.region}:{key.name}", self._step)
        self.since = created_at(stream).timestamp()
        self.source_arn = str((stream.source or {}).get("KinesisStreamARN", ""))
        self._positions: dict[str, Any] = {}
        self._source_created: str | None = None
        self._buffer: deque[Buffered] = deque()
        self._buffered_bytes = 0
        self._pending: Delivery | None = None
        self._retry_at = 0.0
        self._warned: set[str] = set()
        self.records_delivered = 0
        self.objects_written = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_delivery_at: float | None = None

    # -- the loop -------------------------------------------------------------------------
    def _step(self) -> float:
        try:
            return self._tick()
        except Exception as exc:  # a bad tick must not end delivery
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.owner.count(failures=1)
            log.exception("Firehose %s: delivery tick failed", self.key.name)
            return 1.0

    def _tick(self) -> float:
        mode = self.owner.mode
        poll = POLL_S[mode]
        if self._pending is not None and not self._retry_pending():
            return max(self._retry_at - time.time(), 0.01)
        engine = self.owner.engine
        assert engine is not None
        with engine.state_lock.shared():
            stream = self.owner.current_stream(self.key)
            if stream is None:
                return poll  # deleted: the supervisor stops this worker
            target = self._target(stream)
            if target is None:
                return 1.0
            self._read(target.destination.size_bytes * READ_AHEAD)
        now = time.time()
        size = target.destination.size_bytes
        interval = target.destination.interval(mode)
        while self._buffer and (self._buffered_bytes >= size or now - self._buffer[0].arrival >= interval):
            self._pending = self._prepare(self._take(size), target)
            if not self._retry_pending():
                return max(self._retry_at - time.time(), 0.01)
        if not self._buffer:
            return poll
        return max(0.01, min(poll, self._buffer[0].arrival + interval - now))

    def _retry_pending(self) -> bool:
        """Try the pending delivery once its backoff is over; True when it is done."""
        pending = self._pending
        if pending is None:
            return True
        if time.time() < self._retry_at:
            return False
        if self._attempt(pending):
            self._pending = None
            return True
        return self._pending is None

    # -- reading --------------------------------------------------------------------------
    def _target(self, stream: Any) -> Target | None:
        destinations = stream.destinations or [{}]
        destination = S3Destination.from_description(destinations[0])
        if destination is None:
            self._warn_once("destination", "Firehose %s: only S3 destinations are delivered")
            return None
        for feature in destination.unsupported:
            self._warn_once(feature, "Firehose %s: %s is not emulated; records pass as-is", feature)
        return Target(destination, stream.delivery_stream_arn, str(stream.version_id))

    def _read(self, cap: int) -> None:
        """Buffer new records of every shard, up to ``cap`` bytes. Call with the lock shared."""
        stream = lookup_stream(self.source_arn)
        if stream is None:
            error = SourceReadError(f"Kinesis stream {self.source_arn} does not exist.")
            if self.last_error != f"{error.error_code}: {error.message}":
                log.warning("Firehose %s: %s", self.key.name, error.message)
            self.last_error = f"{error.error_code}: {error.message}"
            return
        created = _created_at_iso(stream)
        if self._source_created != created:
            self._open_source(created)
        for shard in shards_in_read_order(stream):
            if self._buffered_bytes >= cap:
                return
            shard_id = shard.shard_id
            if shard_id not in self._positions:
                self._positions[shard_id] = _start_position(stream, shard, self.since)
                self.owner.set_checkpoints(self.key, created, {shard_id: self._positions[shard_id]})
            while self._buffered_bytes < cap:
                batch = records_after(shard.records, self._positions[shard_id], READ_LIMIT)
                if not batch:
                    break
                for sequence, record in batch:
                    self._buffer_record(shard_id, sequence, record)
                self._positions[shard_id] = batch[-1][0]

    def _open_source(self, created: str) -> None:
        """Start reading the source stream from the checkpoints (first tick or re-creation)."""
        stored_created, stored = self.owner.checkpoints_of(self.key)
        if stored_created is not None and stored_created != created:
            log.warning(
                "Firehose %s: source %s was re-created; reading the new stream from its start",
                self.key.name,
                self.source_arn,
            )
            stored = {}
            self.owner.set_checkpoints(self.key, created, {}, replace=True)
        self._positions = dict(stored)
        self._buffer.clear()
        self._buffered_bytes = 0
        self._source_created = created

    def _buffer_record(self, shard_id: str, sequence: Any, record: Any) -> None:
        arrival = float(getattr(record, "created_at", time.time()))
        try:
            data: bytes | None = decode_record_data(record.data)
        except (binascii.Error, ValueError, TypeError):
            item = Buffered(shard_id, sequence, arrival, None, record.data, len(record.data))
        else:
            assert data is not None
            item = Buffered(shard_id, sequence, arrival, data, None, len(data))
        self._buffer.append(item)
        self._buffered_bytes += item.size

    def _take(self, size: int) -> list[Buffered]:
        """The oldest records, up to ``size`` bytes (at least one)."""
        batch: list[Buffered] = []
        total = 0
        while self._buffer and (not batch or total + self._buffer[0].size <= size):
            item = self._buffer.popleft()
            batch.append(item)
            total += item.size
        self._buffered_bytes -= total
        return batch

    # -- delivering -----------------------------------------------------------------------
    def _prepare(self, batch: list[Buffered], target: Target) -> Delivery:
        destination = target.destination
        good = [item for item in batch if item.data is not None]
        bad = [item for item in batch if item.data is None]
        oldest = datetime.fromtimestamp(min(item.arrival for item in batch), UTC)
        now = datetime.now(UTC)
        key = body = error_key = error_body = None
        if good:
            newline = b"\n" if destination.append_newline else b""
            payload = b"".join((item.data or b"") + newline for item in good)
            name = object_name(self.key.name, target.version_id, now, "")
            body, extension = self.owner.compressor.compress(payload, destination.compression, name)
            key = evaluate_prefix(destination.prefix, oldest) + name
            key += destination.file_extension or extension
        if bad:
            error_body = b"".join(
                failed_record(
                    item.raw,
                    int(item.arrival * 1000),
                    INVALID_RECORD_DATA,
                    "The record data is not valid base64.",
                )
                for item in bad
            )
            error_key = error_prefix(destination, oldest, DEFAULT_ERROR_OUTPUT_TYPE)
            error_key += object_name(self.key.name, target.version_id, now, "")
        positions = {item.shard_id: item.sequence for item in batch}
        assert self._source_created is not None
        return Delivery(
            target,
            self._source_created,
            key,
            body,
            error_key,
            error_body,
            positions,
            len(good),
            len(bad),
        )

    def _attempt(self, delivery: Delivery) -> bool:
        """Put the object(s) and advance the checkpoints in one shared-lock section."""
        engine = self.owner.engine
        assert engine is not None
        delivery.attempts += 1
        rows = engine.store.s3 if engine.store is not None else None
        with engine.state_lock.shared(), rows.atomic() if rows is not None else contextlib.nullcontext():
            if self.owner.current_stream(self.key) is None:
                self._pending = None  # deleted while retrying: nowhere to deliver
                return False
            try:
                self._put_all(delivery)
            except FirehoseDeliveryError as error:
                self._failed(delivery, error)
                return False
            if delivery.source_created == self._source_created:  # else: the source was re-created
                self.owner.set_checkpoints(self.key, delivery.source_created, delivery.positions)
            engine.mark_dirty("s3")
            if rows is not None:
                # The object and the checkpoints past its records, in one transaction (the
                # checkpoints are the extension's durable_state): a crash keeps both or neither.
                try:
                    rows.flush()
                except OSError as exc:  # both stay in memory; the next flush writes them together
                    engine.storage.write_failed(exc)
        written = int(delivery.key is not None) + int(delivery.error_key is not None)
        size = len(delivery.body or b"") + len(delivery.error_body or b"")
        self.records_delivered += delivery.records
        self.objects_written += written
        self.last_delivery_at = time.time()
        self.owner.count(
            records_delivered=delivery.records,
            objects_written=written,
            bytes_written=size,
            failed_records=delivery.failed_records,
        )
        if delivery.attempts > 1:
            log.info("Firehose %s: delivered after %d attempts", self.key.name, delivery.attempts)
        return True

    def _put_all(self, delivery: Delivery) -> None:
        from moto.backends import get_backend

        destination = delivery.target.destination
        partition = destination.bucket_arn.split(":")[1] or "aws"
        try:
            s3 = get_backend("s3")[self.key.account][partition]
            s3.get_bucket(destination.bucket)  # fail before writing anything
            # The error object first: a retry never writes the data object twice.
            for name, key, body in (
                ("error", delivery.error_key, delivery.error_body),
                ("data", delivery.key, delivery.body),
            ):
                if key is not None and body is not None and name not in delivery.done:
                    _put_object(s3, destination.bucket, key, body)
                    delivery.done.add(name)
        except Exception as exc:  # any refusal is a failed attempt, retried
            raise DestinationDeliveryError.from_s3(exc) from exc

    def _failed(self, delivery: Delivery, error: FirehoseDeliveryError) -> None:
        """Log the failure (engine log and CloudWatch) and schedule a retry."""
        mode = self.owner.mode
        delay = min(FIRST_BACKOFF_S * 2 ** (delivery.attempts - 1), MAX_BACKOFF_S[mode])
        self._retry_at = time.time() + delay
        self.failures += 1
        self.last_error = f"{error.error_code}: {error.message}"
        self.owner.count(failures=1)
        destination = delivery.target.destination
        log.warning(
            "Firehose %s: delivery to %s failed (%s: %s), attempt %d; "
            "%d records stay buffered, retry in %.1f s",
            self.key.name,
            destination.bucket_arn,
            error.error_code,
            error.message,
            delivery.attempts,
            delivery.records + delivery.failed_records,
            delay,
        )
        if destination.log_group and destination.log_stream:
            message = delivery_log_message(
                delivery.target.stream_arn,
                destination.bucket_arn,
                delivery.target.version_id,
                error.error_code,
                error.message,
            )
            self._cloudwatch(destination.log_group, destination.log_stream, message)

    def _cloudwatch(self, group: str, stream: str, message: str) -> None:
        """Write one event to the stream's log stream through moto (lock held shared)."""
        from moto.backends import get_backend

        engine = self.owner.engine
        assert engine is not None
        try:
            logs = get_backend("logs")[self.key.account][self.key.region]
            event = {"timestamp": int(time.time() * 1000), "message": message}
            logs.put_log_events(group, stream, [event])
        except Exception as exc:  # logging must not stop delivery
            self._warn_once(
                f"logs:{group}:{stream}",
                "Firehose %s: cannot write to log group %s stream %s (%s); Firehose does not create them",
                group,
                stream,
                exc,
            )
            return
        engine.mark_dirty("logs")

    def _warn_once(self, topic: str, message: str, *args: Any) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            log.warning(message, self.key.name, *args)

    # -- figures --------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        pending = self._pending
        _, checkpoints = self.owner.checkpoints_of(self.key)
        return {
            "name": self.key.name,
            "account": self.key.account,
            "region": self.key.region,
            "source": self.source_arn,
            "alive": self.thread.is_alive(),
            "buffered_records": len(self._buffer) + (pending.records if pending else 0),
            "retrying": pending is not None,
            "records_delivered": self.records_delivered,
            "objects_written": self.objects_written,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_delivery_at": self.last_delivery_at,
            "checkpoints": {shard: str(seq) for shard, seq in checkpoints.items()},
        }


def _start_position(stream: Any, shard: Any, since: float) -> Any:
    """Where a shard without checkpoint is read from: the first record put after the
    delivery stream was created, and never moto's copies of a merged shard's parents."""
    at = position_at(shard.records, since)
    copied = after_merge_copies(stream, shard)
    if at is START:
        return copied
    if copied is START:
        return at
    return max(at, copied)


def _created_at_iso(stream: Any) -> str:
    created = getattr(stream, "creation_datetime", None)
    return created.isoformat() if isinstance(created, datetime) else str(created)


def _put_object(s3: Any, bucket_name: str, key: str, body: bytes) -> None:
    """What moto's PutObject handler does for a body without headers."""
    bucket = s3.get_bucket(bucket_name)
    lock_mode = lock_until = None
    if bucket.object_lock_enabled and bucket.has_default_lock:
        lock_until = bucket.default_retention()
        lock_mode = bucket.default_lock_mode
    new_key = s3.put_object(
        bucket_name, key, body, storage="STANDARD", lock_mode=lock_mode, lock_until=lock_until
    )
    new_key.set_acl(bucket.acl)
    s3.put_object_tagging(new_key, {})
