"""moto's Kinesis: building records cheaply, its CloudWatch metrics and shard numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: builds one record: (partition key, data, sequence number, explicit hash key) -> Record
RecordBuilder = Callable[[str, Any, int, Any], Any]


def record_builder() -> RecordBuilder:
    """A maker of moto ``Record`` objects for one put call.

    The first record is built by moto's constructor; the others copy its attributes (one
    arrival time per call, as AWS shows), which spares two datetime conversions per record.
    """
    from moto.kinesis.models import Record

    new_record = Record.__new__
    template: dict[str, Any] | None = None

    def build(partition_key: str, data: Any, sequence_number: int, explicit_hash_key: Any) -> Any:
        nonlocal template
        if template is None:
            record = Record(partition_key, data, sequence_number, explicit_hash_key)
            template = record.__dict__
            return record
        record = new_record(Record)
        record.__dict__ = dict(
            template,
            partition_key=partition_key,
            data=data,
            sequence_number=sequence_number,
            explicit_hash_key=explicit_hash_key,
        )
        return record

    return build


def send_stream_metrics(backend: Any, stream_name: str, incoming_bytes: int, incoming_records: int) -> None:
    """moto's CloudWatch metrics of a put (``IncomingBytes``, ``IncomingRecords``)."""
    backend._send_stream_metrics(
        stream_name, incoming_bytes=incoming_bytes, incoming_records=incoming_records
    )


def shard_number(shard: Any) -> int:
    """The number a moto shard was created with (its id is ``shardId-<number>``)."""
    return int(shard._shard_id)
