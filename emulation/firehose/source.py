"""Reading a Kinesis stream straight from moto's backend, by sequence number.

moto keeps a shard's records in an ``OrderedDict`` keyed by sequence number, in the
order they were put. ``Shard.get_records`` scans from the start on every call, which
gets slower as the shard grows; here a read costs O(records returned): contiguous
integer sequence numbers are looked up directly, anything else is found by walking back
from the newest record. Request threads append while we read, so a walk that sees the
dict change is retried.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from emulation.core.moto_compat import existing_backend

#: a read position before the first record (TRIM_HORIZON)
START = None
_RETRIES = 5


def parse_stream_arn(arn: str) -> tuple[str, str, str] | None:
    """(account, region, stream name) of ``arn:aws:kinesis:<region>:<account>:stream/<name>``."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "kinesis" or not parts[5].startswith("stream/"):
        return None
    return parts[4], parts[3], parts[5][len("stream/") :]


def lookup_stream(arn: str) -> Any:
    """moto's Kinesis ``Stream`` for an ARN, or None (never creates a backend)."""
    parsed = parse_stream_arn(arn)
    if parsed is None:
        return None
    account, region, name = parsed
    backend = existing_backend("kinesis", account, region)
    if backend is None:
        return None
    return backend.streams.get(name)


def shards_in_read_order(stream: Any) -> list[Any]:
    """Parents before children: shard ids grow with every split and merge."""
    return sorted(list(stream.shards.values()), key=lambda shard: shard.shard_id)


def records_after(records: Mapping[Any, Any], position: Any, limit: int) -> list[tuple[Any, Any]]:
    """Up to ``limit`` (sequence number, record) after ``position``, oldest first."""
    for _ in range(_RETRIES):
        try:
            return _records_after(records, position, limit)
        except RuntimeError:  # a put changed the dict while we walked it
            continue
    return []


def _records_after(records: Mapping[Any, Any], position: Any, limit: int) -> list[tuple[Any, Any]]:
    if not records:
        return []
    newest = next(reversed(records))  # type: ignore[call-overload]
    if position is not START and newest <= position:
        return []
    if isinstance(newest, int) and (position is START or isinstance(position, int)):
        sequence = next(iter(records)) if position is START else position + 1
        found: list[tuple[Any, Any]] = []
        record = records.get(sequence)
        while record is not None and len(found) < limit:
            found.append((sequence, record))
            sequence += 1
            record = records.get(sequence)
        if found:
            return found  # a gap, if any, is walked on the next read
    newer: list[Any] = []
    for sequence in reversed(records):  # type: ignore[call-overload]
        if position is not START and sequence <= position:
            break
        newer.append(sequence)
    newer.reverse()
    pairs = [(sequence, records.get(sequence)) for sequence in newer[:limit]]
    return [(sequence, record) for sequence, record in pairs if record is not None]


def after_merge_copies(stream: Any, shard: Any) -> Any:
    """The position after the parents' records that moto's MergeShards copied into ``shard``.

    AWS starts a merged shard empty; moto copies both parents' records into it, so a
    reader that follows the parents would read them twice. The copies are recognised by
    their data and partition keys (first parent's records, then the adjacent parent's).
    """
    parent = stream.shards.get(shard.parent) if shard.parent else None
    adjacent = stream.shards.get(shard.adjacent_parent) if shard.adjacent_parent else None
    if parent is None or adjacent is None:
        return START
    for _ in range(_RETRIES):
        try:
            originals = [*parent.records.values(), *adjacent.records.values()]
            copies = list(itertools.islice(shard.records.items(), len(originals)))
        except RuntimeError:
            continue
        if not originals or len(copies) < len(originals):
            return START
        for (_sequence, copy), original in zip(copies, originals, strict=True):
            if copy.data != original.data or copy.partition_key != original.partition_key:
                return START
        return copies[-1][0]
    return START


def position_at(records: Mapping[Any, Any], since: float) -> Any:
    """The read position just before the first record that arrived at or after ``since``
    (AT_TIMESTAMP): a new delivery stream reads what was put after it was created."""
    for _ in range(_RETRIES):
        try:
            position = START
            for sequence in reversed(records):  # type: ignore[call-overload]
                if records[sequence].created_at < since:
                    position = sequence
                    break
            return position
        except RuntimeError:
            continue
    return START
