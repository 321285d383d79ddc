"""moto's Kinesis: building records cheaply, its CloudWatch metrics, shard numbers, and
where its shards keep their records.

:func:`install_record_store` makes every ``Shard`` moto creates from then on keep its
records in a mapping the engine provides (see :mod:`emulation.kinesis.segments`) instead
of an ``OrderedDict``, and patches the ``Shard`` and ``Stream`` methods that would walk or
move all of a shard's records:

* ``Shard.get_min_sequence_number``/``get_max_sequence_number``/``get_sequence_number_at``
  and ``get_records`` ask the mapping (moto lists every key or scans every record);
* ``Stream.split_shard`` leaves the parent's records where they are (moto takes them out
  and puts each one again, which lands it back in the parent, renumbered from 1 with a new
  arrival time);
* ``Stream.merge_shards`` copies both parents' records into the new shard as moto does
  (arriving now, numbered from 1), with one write per thousand records instead of one
  ``put_record`` (which lists every key) per record.

Both work out of readers' sight (:func:`_out_of_sight`): new shards appear in
``stream.shards`` complete, and a parent is never seen emptied.

Shards whose records are a plain ``dict`` (made before the store was installed) keep
moto's own behaviour.
"""

from __future__ import annotations

import copy
import datetime
import itertools
from collections.abc import Callable, Mapping
from typing import Any

#: builds one record: (partition key, data, sequence number, explicit hash key) -> Record
RecordBuilder = Callable[[str, Any, int, Any], Any]

_new_records: Callable[[], Any] | None = None
_adopt_records: Callable[[Mapping[int, Any]], Any] | None = None
_patched = False


def _untracked(cls: type) -> Any:
    """An instance of a moto model that moto does not track.

    moto's ``BaseModel.__new__`` appends every instance to a class-level list (for its
    ``/moto-api`` dashboard) that is only emptied by a reset: records built by the put path
    and read back from disk would otherwise stay in memory for good."""
    return object.__new__(cls)


def record_builder() -> RecordBuilder:
    """A maker of moto ``Record`` objects for one put call.

    The first record is built by moto's constructor; the others copy its attributes (one
    arrival time per call, as AWS shows), which spares two datetime conversions per record.
    """
    from moto.kinesis.models import Record

    template: dict[str, Any] | None = None

    def build(partition_key: str, data: Any, sequence_number: int, explicit_hash_key: Any) -> Any:
        nonlocal template
        record = _untracked(Record)
        if template is None:
            Record.__init__(record, partition_key, data, sequence_number, explicit_hash_key)
            template = record.__dict__
            return record
        record.__dict__ = dict(
            template,
            partition_key=partition_key,
            data=data,
            sequence_number=sequence_number,
            explicit_hash_key=explicit_hash_key,
        )
        return record

    return build


#: builds a record read back from disk: (partition key, data, sequence number, explicit hash
#: key, arrival as a naive UTC datetime, arrival as a Unix time) -> Record
StoredRecordMaker = Callable[[str, Any, int, Any, datetime.datetime, float], Any]


def stored_record_maker() -> StoredRecordMaker:
    """A maker of moto ``Record`` objects with given attributes (no constructor run)."""
    from moto.kinesis.models import Record

    new = object.__new__  # see _untracked

    def make(
        partition_key: str,
        data: Any,
        sequence_number: int,
        explicit_hash_key: Any,
        created_at_datetime: datetime.datetime,
        created_at: float,
    ) -> Any:
        record = new(Record)
        record.__dict__ = {
            "partition_key": partition_key,
            "data": data,
            "sequence_number": sequence_number,
            "explicit_hash_key": explicit_hash_key,
            "created_at_datetime": created_at_datetime,
            "created_at": created_at,
        }
        return record

    return make


def stored_record(
    partition_key: str,
    data: Any,
    sequence_number: int,
    explicit_hash_key: Any,
    created_at_datetime: datetime.datetime,
    created_at: float,
) -> Any:
    """A moto ``Record`` with these attributes (read back from disk; no constructor run)."""
    return stored_record_maker()(
        partition_key, data, sequence_number, explicit_hash_key, created_at_datetime, created_at
    )


def send_stream_metrics(backend: Any, stream_name: str, incoming_bytes: int, incoming_records: int) -> None:
    """moto's CloudWatch metrics of a put (``IncomingBytes``, ``IncomingRecords``)."""
    backend._send_stream_metrics(
        stream_name, incoming_bytes=incoming_bytes, incoming_records=incoming_records
    )


def shard_number(shard: Any) -> int:
    """The number a moto shard was created with (its id is ``shardId-<number>``)."""
    return int(shard._shard_id)


# -- where shards keep their records -----------------------------------------------------------
def install_record_store(
    new_records: Callable[[], Any] | None, adopt_records: Callable[[Mapping[int, Any]], Any] | None = None
) -> None:
    """Every ``Shard`` created from now on keeps its records in ``new_records()`` (None:
    moto's ``OrderedDict`` again); ``adopt_records`` turns a plain dict of records into
    such a mapping (for shards restored from snapshots older than the store)."""
    global _new_records, _adopt_records
    _new_records = new_records
    _adopt_records = adopt_records
    # when moto's Kinesis is imported (before any shard is made or restored): the engine
    # imports it on the first Kinesis request, not at start (~10 ms with CloudWatch's models)
    from emulation.core.imports import when_imported

    when_imported("moto.kinesis.models", lambda _models: _patch_once())


def adopt_records(records: Any) -> Any:
    """``records`` (a shard's plain dict) in the installed store's kind of mapping."""
    if _adopt_records is None or not isinstance(records, dict):
        return records
    return _adopt_records(records)


def _is_store(records: Any) -> bool:
    return not isinstance(records, dict) and hasattr(records, "last_sequence")


def _out_of_sight(stream: Any, parents: list[Any], change: Callable[[Any], None]) -> dict[str, Any]:
    """Run moto's split or merge (``change``) where no reader sees it: on a shadow of the
    stream whose shards are a copy, each parent there a stand-in without records (so moto
    takes out, puts again or copies nothing). Returns the shards moto added; the caller
    fills them, then shows them and closes the parents. Meanwhile other threads (a Firehose
    worker, GetRecords, ListShards) see the stream as before: never a parent emptied or a
    merged shard half-filled, which a reader would take for the end of the parent's records
    or for records put to the merged shard."""
    shards = stream.shards
    shadow = copy.copy(stream)
    shadow.shards = dict(shards)
    for parent in parents:
        stand_in = copy.copy(parent)
        stand_in.records = {}
        shadow.shards[parent.shard_id] = stand_in
    change(shadow)
    return {shard_id: shard for shard_id, shard in shadow.shards.items() if shard_id not in shards}


def _patch_once() -> None:
    global _patched
    if _patched:
        return
    from moto.kinesis.models import Shard, Stream

    original_init = Shard.__init__
    original_min = Shard.get_min_sequence_number
    original_max = Shard.get_max_sequence_number
    original_at = Shard.get_sequence_number_at
    original_get_records = Shard.get_records
    original_split = Stream.split_shard
    original_merge = Stream.merge_shards

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - moto's constructor
        original_init(self, *args, **kwargs)
        if _new_records is not None:
            self.records = _new_records()

    def get_min_sequence_number(self: Any) -> int:
        if _is_store(self.records):
            return int(self.records.first_sequence())
        return int(original_min(self))

    def get_max_sequence_number(self: Any) -> int:
        if _is_store(self.records):
            return int(self.records.last_sequence)
        return int(original_max(self))

    def get_sequence_number_at(self: Any, at_timestamp: float) -> int:
        if _is_store(self.records):
            return int(self.records.sequence_before(at_timestamp))
        return int(original_at(self, at_timestamp))

    def get_records(self: Any, last_sequence_id: str, limit: int | None) -> tuple[list[Any], int, int]:
        if not _is_store(self.records):
            return original_get_records(self, last_sequence_id, limit)  # type: ignore[no-any-return]
        last = int(last_sequence_id)
        records, newest = self.records.read_after(last, limit or 1 << 62, 1 << 62)
        if not records:
            return [], last, 0
        return records, records[-1].sequence_number, int((newest - records[-1].created_at) * 1000)

    def split_shard(self: Any, shard_to_split: str, new_starting_hash_key: str) -> None:
        shard = self.shards.get(shard_to_split)
        if shard is None or not _is_store(shard.records):
            original_split(self, shard_to_split, new_starting_hash_key)
            return
        added = _out_of_sight(
            self, [shard], lambda shadow: original_split(shadow, shard_to_split, new_starting_hash_key)
        )
        self.shards.update(added)
        shard.is_open = False

    def merge_shards(self: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
        first = self.shards.get(shard_to_merge)
        second = self.shards.get(adjacent_shard_to_merge)
        if first is None or second is None or not (_is_store(first.records) and _is_store(second.records)):
            original_merge(self, shard_to_merge, adjacent_shard_to_merge)
            return
        added = _out_of_sight(
            self,
            [first, second],
            lambda shadow: original_merge(shadow, shard_to_merge, adjacent_shard_to_merge),
        )
        for shard in added.values():
            if _is_store(shard.records):
                shard.records.append_copies(itertools.chain(first.records.values(), second.records.values()))
        self.shards.update(added)
        first.is_open = second.is_open = False

    Shard.__init__ = __init__  # type: ignore[method-assign]
    Shard.get_min_sequence_number = get_min_sequence_number  # type: ignore[method-assign]
    Shard.get_max_sequence_number = get_max_sequence_number  # type: ignore[method-assign]
    Shard.get_sequence_number_at = get_sequence_number_at  # type: ignore[method-assign]
    Shard.get_records = get_records  # type: ignore[method-assign]
    Stream.split_shard = split_shard  # type: ignore[method-assign]
    Stream.merge_shards = merge_shards  # type: ignore[method-assign]
    _patched = True
