"""Kinesis records on disk: per-shard append-only segment files, the write-ahead log.

Every moto ``Shard`` keeps its records in a :class:`ShardLog` instead of moto's
``OrderedDict`` (installed once through :func:`emulation.core.moto_compat.kinesis.install_record_store`,
so moto's own code, ours and Firehose's see the same mapping: sequence number -> moto
``Record``). A log is a folder ``<root>/<log id>/`` of segment files:

* ``<n>.seg``: the records, appended in sequence order, each framed as
  ``length | crc32 | sequence | arrival (µs) | key length | hash-key length`` (28 bytes,
  little-endian) followed by the partition key, the explicit hash key and the base64 data
  as they were put. A put writes its records with one ``os.write`` before it is answered
  (no fsync: ``kill -9`` keeps what the OS has), so the segments *are* the write-ahead
  log: nothing else carries record data. A failed write is cut back (``ftruncate``) and
  raised, so the client gets an error and the log no torn record.
* ``<n>.idx``: the segment's index, in chunks ``magic | count | crc32`` followed by the
  column of sequence numbers, of offsets and of arrival times (8 bytes each). Chunks are
  appended about once a second for the records not yet indexed, and a segment is fully
  indexed when it is sealed. Opening a log loads the index columns with
  ``array.frombytes`` and scans only the records written after the last chunk (verifying
  each one's CRC; a torn tail is cut off), so a restart with a million records takes tens
  of milliseconds.

``root`` is ``<state_dir>/state/kinesis`` when the engine persists its state, and a
temporary folder (removed when the process exits) with ``--no-persist``: records never live
in memory only, so memory stays bounded either way.

In memory a log holds three ``array('q')`` columns (sequence numbers, offsets in their
segment, arrival times in µs: 24 bytes per record) and a cache of its newest records as
moto ``Record`` objects. The caches of all logs share one budget (``--memory-budget``): the
logs least recently written give theirs up first. Older records are read from their segment
on demand, a range at a time (GetRecords reads up to 10,000 records with one ``pread``;
lookups one by one, as Firehose does, read ahead 64 KiB).

Retention: records older than their stream's retention period are no longer returned
(:meth:`ShardLog.expire`), and a segment whose records have all expired is deleted. Segments
are sealed at 16 MiB or once their first record is an eighth of the retention period old
(at most an hour), so whole segments go. The newest segment is always kept, so sequence
numbers continue after every record expired.

Snapshots pickle a log as its id (:meth:`ShardLog.__reduce__`): their cost does not grow
with the records retained. Restoring opens the folder again, which holds every record
written until the engine stopped, including those after the snapshot. Folders no restored
shard refers to are deleted at start (:meth:`RecordStore.collect`), and those of deleted
streams once no durable snapshot refers to them (the extension's records worker).

:func:`bulk_fill` writes a stream's records straight into a state dir, without an engine
(``python -m emulation.seed`` uses it).
"""

from __future__ import annotations

import atexit
import bisect
import contextlib
import datetime
import logging
import os
import re
import secrets
import shutil
import struct
import tempfile
import threading
import time
import weakref
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from emulation.core import moto_compat

log = logging.getLogger(__name__)

MIB = 1024 * 1024
#: a segment is sealed once it holds this much
SEGMENT_BYTES = 16 * MIB
#: ... or once its first record is this old (or an eighth of the retention period, if shorter)
SEGMENT_MAX_AGE_MICROS = 3600 * 1_000_000
#: a lookup that misses the cache reads this much ahead from the segment
READ_AHEAD_BYTES = 64 * 1024
#: estimated bytes of memory of one cached ``Record`` besides its key and data
RECORD_OVERHEAD = 480

#: length, crc32 (of what follows it), sequence number, arrival (µs), key bytes, hash-key bytes
_HEAD = struct.Struct("<IIqqHH")
_PRE = struct.Struct("<II")
_REST = struct.Struct("<qqHH")
_SEQ_TIME = struct.Struct("<qq")
HEAD_SIZE = _HEAD.size
_NO_HASH_KEY = 0xFFFF
_IDX_HEAD = struct.Struct("<4sII")
_IDX_MAGIC = b"KIX1"
_SEGMENT_FILE = re.compile(r"(\d{8})\.seg")
_LOG_ID = re.compile(r"[0-9a-f]{16}")
_EPOCH = datetime.datetime(1970, 1, 1)


class _Segment:
    """One segment file: records ``first .. first + count`` of its log's columns."""

    __slots__ = ("count", "fd", "first", "flushed", "number", "sealed", "size")

    def __init__(self, number: int, first: int) -> None:
        self.number = number
        self.first = first
        self.count = 0
        self.size = 0
        #: records of this segment in its index file
        self.flushed = 0
        #: open for appending (the newest segment only)
        self.fd: int | None = None
        #: written no more
        self.sealed = False


def encode_record(sequence: int, micros: int, key: str, hash_key: Any, data: Any) -> bytes:
    """One record as a segment holds it."""
    key_bytes = key.encode("utf-8", "surrogateescape")
    hash_bytes = b"" if hash_key is None else str(hash_key).encode()
    data_bytes = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    rest = (
        _REST.pack(sequence, micros, len(key_bytes), _NO_HASH_KEY if hash_key is None else len(hash_bytes))
        + key_bytes
        + hash_bytes
        + data_bytes
    )
    return _PRE.pack(len(rest) + 8, zlib.crc32(rest)) + rest


def _micros(created_at: float) -> int:
    return round(created_at * 1_000_000)


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _pread(path: Path, fd: int | None, size: int, offset: int) -> bytes:
    own = fd is None
    handle = os.open(path, os.O_RDONLY) if fd is None else fd
    try:
        parts = []
        while size > 0:
            part = os.pread(handle, size, offset)
            if not part:
                break
            parts.append(part)
            size -= len(part)
            offset += len(part)
        return b"".join(parts)
    finally:
        if own:
            os.close(handle)


class _RecordMaker:
    """Builds moto ``Record`` objects from segment bytes (one datetime per arrival time)."""

    __slots__ = ("_make", "_micros", "_when")

    def __init__(self) -> None:
        self._make = moto_compat.stored_record_maker()
        self._micros = -1
        self._when = _EPOCH

    def decode(self, buffer: bytes, position: int) -> Any:
        length, _crc, sequence, micros, key_length, hash_length = _HEAD.unpack_from(buffer, position)
        at = position + HEAD_SIZE
        key = buffer[at : at + key_length].decode("utf-8", "surrogateescape")
        at += key_length
        hash_key = None
        if hash_length != _NO_HASH_KEY:
            hash_key = buffer[at : at + hash_length].decode()
            at += hash_length
        data = buffer[at : position + length].decode("utf-8", "surrogateescape")
        if micros != self._micros:
            self._micros = micros
            self._when = _EPOCH + datetime.timedelta(microseconds=micros)
        return self._make(key, data, sequence, hash_key, self._when, micros / 1_000_000)


def _record_size(record: Any) -> int:
    data = record.data
    return RECORD_OVERHEAD + len(data) + len(record.partition_key)


class ShardLog:
    """The records of one shard (see module doc): an ordered mapping sequence -> ``Record``.

    Appends happen in sequence order (``log[sequence] = record`` or :meth:`append`);
    records are never changed or removed, except by retention. Every method is safe to
    call from any thread.
    """

    def __init__(self, store: RecordStore, log_id: str) -> None:
        self.store = store
        self.log_id = log_id
        self.path = store.root / log_id
        self._lock = threading.Lock()
        self._seqs = array("q")
        self._offsets = array("q")
        self._times = array("q")
        self._segments: list[_Segment] = []
        #: first record still visible (older ones expired)
        self._start = 0
        #: records deleted from the front of the columns so far (absolute index = index + this)
        self._dropped = 0
        #: the highest sequence number ever written (kept when records expire)
        self._last = 0
        #: the stream's retention period (None: keep everything); set by the data plane
        self.retention_micros: int | None = None
        self._window: tuple[int, list[Any]] | None = None
        # the cache (guarded by the store's cache lock): the newest records, for indexes
        # ``len - (len(_cache) - _cache_lo)`` to ``len``
        self._cache: list[Any] = []
        self._cache_sizes = array("q")
        self._cache_lo = 0
        self._cache_bytes = 0
        self.dropped = False
        #: records found by scanning segments past their index when the log was opened
        self.scanned = 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (open_log, (self.log_id,))

    def __repr__(self) -> str:
        return f"ShardLog({self.log_id}, {len(self)} records)"

    def __del__(self) -> None:
        for segment in getattr(self, "_segments", ()):
            if segment.fd is not None:
                with contextlib.suppress(OSError):
                    os.close(segment.fd)
                segment.fd = None

    # -- opening --------------------------------------------------------------------------
    def load(self) -> None:
        """Read the segments on disk (their indexes, then whatever follows them)."""
        if not self.path.is_dir():
            return
        numbers = sorted(
            int(match.group(1))
            for match in (_SEGMENT_FILE.fullmatch(name) for name in os.listdir(self.path))
            if match
        )
        for number in numbers:
            segment = _Segment(number, len(self._seqs))
            self._load_segment(segment)
            if segment.count == 0:
                self._segment_path(number).unlink(missing_ok=True)
                self._index_path(number).unlink(missing_ok=True)
                continue
            self._segments.append(segment)
        for segment in self._segments[:-1]:
            segment.sealed = True
        if self._seqs:
            self._last = self._seqs[-1]

    def _segment_path(self, number: int) -> Path:
        return self.path / f"{number:08d}.seg"

    def _index_path(self, number: int) -> Path:
        return self.path / f"{number:08d}.idx"

    def _load_segment(self, segment: _Segment) -> None:
        seg_path = self._segment_path(segment.number)
        size = seg_path.stat().st_size
        seqs, offsets, times = array("q"), array("q"), array("q")
        try:
            blob = self._index_path(segment.number).read_bytes()
        except FileNotFoundError:
            blob = b""
        position = 0
        while position + _IDX_HEAD.size <= len(blob):
            magic, count, crc = _IDX_HEAD.unpack_from(blob, position)
            start = position + _IDX_HEAD.size
            end = start + 24 * count
            if magic != _IDX_MAGIC or end > len(blob) or zlib.crc32(blob[start:end]) != crc:
                break
            seqs.frombytes(blob[start : start + 8 * count])
            offsets.frombytes(blob[start + 8 * count : start + 16 * count])
            times.frombytes(blob[start + 16 * count : end])
            position = end
        clean = position == len(blob)
        # The indexed records that lie in the file, in order, are kept; the last of them is
        # read again (and its CRC checked) by the scan of what follows it.
        keep = bisect.bisect_left(offsets, size)
        clean = clean and keep == len(offsets)
        previous = self._seqs[-1] if self._seqs else 0
        # (chunks are CRC-checked: only their place among the other segments is checked)
        if keep and (seqs[0] <= previous or seqs[keep - 1] < seqs[0] or offsets[keep - 1] < offsets[0]):
            keep, clean = 0, False
        scan_from = offsets[keep - 1] if keep else 0
        kept = max(0, keep - 1)
        del seqs[kept:], offsets[kept:], times[kept:]
        last = seqs[-1] if seqs else previous
        with open(seg_path, "rb") as fh:
            fh.seek(scan_from)
            tail = fh.read()
        view = memoryview(tail)
        at = scanned = 0
        while at + HEAD_SIZE <= len(tail):
            length, crc = _PRE.unpack_from(tail, at)
            if length < HEAD_SIZE or at + length > len(tail) or zlib.crc32(view[at + 8 : at + length]) != crc:
                break
            sequence, micros = _SEQ_TIME.unpack_from(tail, at + 8)
            if sequence <= last:
                break
            seqs.append(sequence)
            offsets.append(scan_from + at)
            times.append(micros)
            last = sequence
            at += length
            scanned += 1
        view.release()
        end = scan_from + at
        if end < size:
            log.warning(
                "kinesis segment %s/%s: %d torn bytes cut off", self.log_id, seg_path.name, size - end
            )
            os.truncate(seg_path, end)
        segment.size = end
        segment.count = len(seqs)
        self._seqs.extend(seqs)
        self._offsets.extend(offsets)
        self._times.extend(times)
        if keep and not scanned:  # the last indexed record is not whole
            clean = False
        self.scanned += scanned - (1 if keep and scanned else 0)
        if clean:
            segment.flushed = keep
        else:  # written again, whole, by the next flush
            self._index_path(segment.number).unlink(missing_ok=True)
            segment.flushed = 0

    # -- the mapping ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._seqs) - self._start

    def __bool__(self) -> bool:
        return len(self._seqs) > self._start

    def _find(self, sequence: Any) -> int:
        """Index of ``sequence`` among the visible records, or -1. Call with the lock held."""
        if type(sequence) is not int:
            if not isinstance(sequence, int):
                return -1
            sequence = int(sequence)
        seqs = self._seqs
        end = len(seqs)
        start = self._start
        if start >= end:
            return -1
        # contiguous sequence numbers (the usual case) need no search
        guess: int = start + sequence - seqs[start]
        if start <= guess < end and seqs[guess] == sequence:
            return guess
        index: int = bisect.bisect_left(seqs, sequence, start, end)
        return index if index < end and seqs[index] == sequence else -1

    def __contains__(self, sequence: object) -> bool:
        with self._lock:
            return self._find(sequence) >= 0

    def __getitem__(self, sequence: int) -> Any:
        with self._lock:
            index = self._find(sequence)
            if index < 0:
                raise KeyError(sequence)
            return self._record_at(index)

    def get(self, sequence: int, default: Any = None) -> Any:
        with self._lock:
            index = self._find(sequence)
            return default if index < 0 else self._record_at(index)

    def __setitem__(self, sequence: int, record: Any) -> None:
        if sequence != record.sequence_number:
            raise ValueError(f"record {record.sequence_number} filed under {sequence}")
        self.append([record])

    def __delitem__(self, sequence: int) -> None:
        raise TypeError("Kinesis records are only removed by retention")

    def _sequences(self, backwards: bool) -> Iterator[int]:
        """The visible sequence numbers when the iteration started, read in chunks."""
        with self._lock:
            low = self._dropped + self._start
            high = self._dropped + len(self._seqs)
        at = high if backwards else low
        while low < at if backwards else at < high:
            with self._lock:
                if backwards:
                    end = min(at - self._dropped, len(self._seqs))
                    start = max(self._start, end - 1024, low - self._dropped)
                else:
                    start = max(at - self._dropped, self._start)
                    end = min(high - self._dropped, len(self._seqs), start + 1024)
                chunk = self._seqs[start:end].tolist() if start < end else []
                at = start + self._dropped if backwards else start + self._dropped + len(chunk)
            if not chunk:
                return
            yield from reversed(chunk) if backwards else chunk

    def __iter__(self) -> Iterator[int]:
        return self._sequences(False)

    def __reversed__(self) -> Iterator[int]:
        return self._sequences(True)

    def keys(self) -> _KeysView:
        return _KeysView(self)

    def values(self) -> _ValuesView:
        return _ValuesView(self)

    def items(self) -> _ItemsView:
        return _ItemsView(self)

    def copy(self) -> OrderedDict[int, Any]:
        """Every visible record in memory (for callers that need a plain dict)."""
        return OrderedDict(self.items())

    def _records(self, backwards: bool) -> Iterator[Any]:
        """The visible records when the iteration started, read a range at a time."""
        with self._lock:
            low = self._dropped + self._start
            high = self._dropped + len(self._seqs)
        at = high if backwards else low
        while low < at if backwards else at < high:
            with self._lock:
                if backwards:
                    end = min(at - self._dropped, len(self._seqs))
                    start = max(self._start, end - 64, low - self._dropped)
                    chunk = self._read_range(start, end, 1 << 62)
                    at = start + self._dropped
                else:
                    start = max(at - self._dropped, self._start)
                    end = min(high - self._dropped, len(self._seqs))
                    chunk = self._read_range(start, end, MIB)
                    at = start + self._dropped + len(chunk)
            if not chunk:
                return
            yield from reversed(chunk) if backwards else chunk

    # -- reading --------------------------------------------------------------------------
    def _segment_of(self, index: int) -> _Segment:
        segments = self._segments
        if len(segments) == 1:
            return segments[0]
        low, high = 0, len(segments) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if segments[middle].first <= index:
                low = middle
            else:
                high = middle - 1
        return segments[low]

    def _cached_from(self) -> int:
        """Index of the first cached record (call with the cache lock held)."""
        return len(self._seqs) - (len(self._cache) - self._cache_lo)

    def _record_at(self, index: int) -> Any:
        """The record at ``index`` (call with the lock held)."""
        store = self.store
        with store.cache_lock:
            cached_from = self._cached_from()
            if index >= cached_from:
                return self._cache[self._cache_lo + index - cached_from]
        absolute = index + self._dropped
        window = self._window
        if window is not None and window[0] <= absolute < window[0] + len(window[1]):
            return window[1][absolute - window[0]]
        segment = self._segment_of(index)
        end = segment.first + segment.count
        records = self._read_range(index, end, READ_AHEAD_BYTES)
        self._window = (absolute, records)
        return records[0]

    def _read_range(self, start: int, end: int, max_bytes: int) -> list[Any]:
        """Records ``start .. end`` (at least one, then up to ``max_bytes`` of segment), from
        the cache where it has them. Call with the lock held."""
        if start >= end:
            return []
        out: list[Any] = []
        with self.store.cache_lock:
            cached_from = self._cached_from()
            cached = (
                self._cache[
                    self._cache_lo + max(start, cached_from) - cached_from : self._cache_lo
                    + end
                    - cached_from
                ]
                if end > cached_from
                else []
            )
        disk_end = min(end, cached_from)
        maker = _RecordMaker()
        offsets = self._offsets
        budget = max_bytes
        index = start
        while index < disk_end:
            segment = self._segment_of(index)
            stop = min(disk_end, segment.first + segment.count)
            base = offsets[index]
            last = stop
            # bound the read by bytes (always at least one record)
            span = (offsets[stop] if stop < segment.first + segment.count else segment.size) - base
            if span > budget:
                limit_at = base + budget
                last = max(index + 1, bisect.bisect_right(offsets, limit_at, index, stop) - 1)
                span = (offsets[last] if last < segment.first + segment.count else segment.size) - base
            blob = _pread(self._segment_path(segment.number), segment.fd, span, base)
            for position in range(index, last):
                out.append(maker.decode(blob, offsets[position] - base))
            budget -= span
            index = last
            if last < stop or budget <= 0:
                return out
        out.extend(cached)
        return out

    def read_after(
        self, sequence: int, limit: int, max_bytes: int, now: float | None = None
    ) -> tuple[list[Any], float]:
        """Up to ``limit`` records after ``sequence`` (reading at most about ``max_bytes``
        of segment, but at least one record), and the arrival time of the newest record."""
        with self._lock:
            self._expire(now)
            seqs = self._seqs
            end = len(seqs)
            start = bisect.bisect_right(seqs, sequence, self._start, end)
            records = self._read_range(start, min(end, start + limit), max_bytes)
            newest = self._times[-1] / 1_000_000 if end > self._start else 0.0
        return records, newest

    # -- what moto's Shard asks -----------------------------------------------------------
    @property
    def last_sequence(self) -> int:
        """The highest sequence number written (0 for none): the next one is this plus one."""
        return self._last

    def first_sequence(self) -> int:
        """The oldest visible record's sequence number (0 for none)."""
        with self._lock:
            self._expire(None)
            return self._seqs[self._start] if len(self._seqs) > self._start else 0

    def sequence_before(self, at_timestamp: float) -> int:
        """moto's ``get_sequence_number_at``: the last record that arrived before
        ``at_timestamp`` (0 when none did, or the shard is empty)."""
        with self._lock:
            self._expire(None)
            start, end = self._start, len(self._seqs)
            at = float(at_timestamp) * 1_000_000
            if start >= end or at <= self._times[start]:
                return 0
            index = bisect.bisect_left(self._times, at, start, end)
            return self._seqs[index - 1]

    # -- writing --------------------------------------------------------------------------
    def append(self, records: list[Any]) -> None:
        """Write records (in sequence order, after every record so far) with one write.

        Raises OSError when they are not written (nothing of them is kept then)."""
        if not records:
            return
        parts = []
        keys = []
        last = self._last
        for record in records:
            sequence = record.sequence_number
            if sequence <= last:
                raise ValueError(f"sequence number {sequence} is not after {last}")
            last = sequence
            micros = _micros(record.created_at)
            parts.append(
                encode_record(sequence, micros, record.partition_key, record.explicit_hash_key, record.data)
            )
            keys.append((sequence, micros))
        with self._lock:
            if keys[0][0] <= self._last:
                raise ValueError(f"sequence number {keys[0][0]} is not after {self._last}")
            self._write(parts, keys)
            self._add_to_cache(records)

    def _write(self, parts: list[bytes], keys: list[tuple[int, int]]) -> None:
        """Append encoded records to the newest segment (call with the lock held)."""
        if self.dropped:
            raise OSError(f"the records of shard log {self.log_id} were deleted")
        blob = b"".join(parts)
        segment = self._writable_segment(len(blob), keys[0][1])
        assert segment.fd is not None
        try:
            _write_all(segment.fd, blob)
        except OSError:
            try:
                os.ftruncate(segment.fd, segment.size)
            except OSError:  # the segment may hold a torn record now: write no more to it
                self._seal(segment)
            raise
        offset = segment.size
        seqs, offsets, times = self._seqs, self._offsets, self._times
        for part, (sequence, micros) in zip(parts, keys, strict=True):
            seqs.append(sequence)
            offsets.append(offset)
            times.append(micros)
            offset += len(part)
        segment.size = offset
        segment.count += len(parts)
        self._last = keys[-1][0]

    def _writable_segment(self, size: int, micros: int) -> _Segment:
        segments = self._segments
        segment = segments[-1] if segments else None
        if segment is not None and segment.count:
            age = micros - self._times[segment.first]
            if segment.sealed or segment.size + size > SEGMENT_BYTES or age > self._max_age():
                self._seal(segment)
                segment = None
        if segment is None or segment.sealed:
            number = segments[-1].number + 1 if segments else 1
            segment = _Segment(number, len(self._seqs))
            segments.append(segment)
        if segment.fd is None:
            self.path.mkdir(parents=True, exist_ok=True)
            segment.fd = os.open(
                self._segment_path(segment.number), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600
            )
        return segment

    def _max_age(self) -> int:
        retention = self.retention_micros
        return SEGMENT_MAX_AGE_MICROS if retention is None else min(SEGMENT_MAX_AGE_MICROS, retention // 8)

    def _seal(self, segment: _Segment) -> None:
        """No more writes to ``segment``: index it whole, close it."""
        try:
            self._flush_segment(segment)
        except OSError as exc:  # indexed again (by a scan) when the log is next opened
            log.warning("kinesis index of %s/%08d not written: %s", self.log_id, segment.number, exc)
        segment.sealed = True
        if segment.fd is not None:
            os.close(segment.fd)
            segment.fd = None

    def _flush_segment(self, segment: _Segment) -> None:
        count = segment.count - segment.flushed
        if count <= 0 or self.dropped:
            return
        start = segment.first + segment.flushed
        end = segment.first + segment.count
        columns = (
            self._seqs[start:end].tobytes()
            + self._offsets[start:end].tobytes()
            + self._times[start:end].tobytes()
        )
        chunk = _IDX_HEAD.pack(_IDX_MAGIC, count, zlib.crc32(columns)) + columns
        fd = os.open(self._index_path(segment.number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            _write_all(fd, chunk)
        finally:
            os.close(fd)
        segment.flushed = segment.count

    def close_writer(self) -> None:
        """The shard is closed (split or merged): index and close its newest segment."""
        with self._lock:
            segments = self._segments
            if segments and segments[-1].fd is not None and not self.dropped:
                self._seal(segments[-1])

    def flush_index(self) -> None:
        """Index the records written since the last flush (a restart then scans less)."""
        with self._lock:
            for segment in self._segments:
                if segment.flushed < segment.count:
                    self._flush_segment(segment)

    def write_bulk(self, rows: Iterable[tuple[str, str, str | None]], micros: int) -> int:
        """Append records (partition key, base64 data, explicit hash key) that all arrived
        at ``micros``, numbered after the last one; no cache. Returns how many."""
        written = 0
        with self._lock:
            parts: list[bytes] = []
            keys: list[tuple[int, int]] = []
            size = 0
            sequence = self._last
            for key, data, hash_key in rows:
                sequence += 1
                part = encode_record(sequence, micros, key, hash_key, data)
                parts.append(part)
                keys.append((sequence, micros))
                size += len(part)
                if size >= 4 * MIB:
                    self._write(parts, keys)
                    written += len(parts)
                    parts, keys, size = [], [], 0
            if parts:
                self._write(parts, keys)
                written += len(parts)
            for segment in self._segments:
                self._flush_segment(segment)
        return written

    def append_copies(self, records: Iterable[Any]) -> None:
        """moto's MergeShards: the parents' records put again, arriving now, numbered on."""
        batch: list[Any] = []
        build = moto_compat.record_builder()
        sequence = self._last
        for record in records:
            sequence += 1
            batch.append(build(record.partition_key, record.data, sequence, record.explicit_hash_key))
            if len(batch) >= 1000:
                self.append(batch)
                batch = []
        self.append(batch)

    # -- the cache ------------------------------------------------------------------------
    def _add_to_cache(self, records: list[Any]) -> None:
        store = self.store
        with store.cache_lock:
            sizes = [_record_size(record) for record in records]
            self._cache.extend(records)
            self._cache_sizes.extend(sizes)
            added = sum(sizes)
            self._cache_bytes += added
            store.cached(self, added)

    def _evict(self, wanted: int) -> int:
        """Drop the oldest cached records worth ``wanted`` bytes (call with the cache lock)."""
        freed = 0
        lo, sizes, cached = self._cache_lo, self._cache_sizes, len(self._cache)
        while lo < cached and freed < wanted:
            freed += sizes[lo]
            lo += 1
        self._drop_cached(lo)
        return freed

    def _drop_cached(self, lo: int) -> None:
        """Forget cached records before ``lo`` (call with the cache lock)."""
        freed = sum(self._cache_sizes[self._cache_lo : lo])
        self._cache_lo = lo
        self._cache_bytes -= freed
        self.store.cache_bytes -= freed
        if lo >= len(self._cache):
            self._cache.clear()
            del self._cache_sizes[:]
            self._cache_lo = 0
        elif lo > 4096 and lo * 2 > len(self._cache):
            del self._cache[:lo]
            del self._cache_sizes[:lo]
            self._cache_lo = 0

    # -- retention ------------------------------------------------------------------------
    def expire(self, now: float | None = None) -> int:
        """Hide the records older than the retention period and delete the segments that
        hold nothing else (never the newest). Returns how many records were hidden."""
        with self._lock:
            return self._expire(now)

    def _expire(self, now: float | None) -> int:
        retention = self.retention_micros
        if retention is None or self.dropped:
            return 0
        times = self._times
        end = len(times)
        start = self._start
        horizon = (time.time() if now is None else now) * 1_000_000 - retention
        if start >= end or times[start] >= horizon:
            return 0
        new_start = bisect.bisect_left(times, horizon, start, end)
        self._start = new_start
        self._window = None
        with self.store.cache_lock:
            cached_from = self._cached_from()
            if new_start > cached_from:
                self._drop_cached(self._cache_lo + min(new_start, len(times)) - cached_from)
        segments = self._segments
        gone = 0
        while len(segments) > 1 and segments[0].first + segments[0].count <= self._start:
            segment = segments.pop(0)
            self._segment_path(segment.number).unlink(missing_ok=True)
            self._index_path(segment.number).unlink(missing_ok=True)
            gone += segment.count
        if gone:
            with self.store.cache_lock:  # the cache is counted from the end: unaffected
                del self._seqs[:gone], self._offsets[:gone], self._times[:gone]
            self._start -= gone
            self._dropped += gone
            for segment in segments:
                segment.first -= gone
        return new_start - start

    # -- lifecycle ------------------------------------------------------------------------
    def drop(self) -> None:
        """Forget every record and close the files (their folder is being deleted)."""
        with self._lock:
            self.dropped = True
            for segment in self._segments:
                if segment.fd is not None:
                    os.close(segment.fd)
                    segment.fd = None
            self._segments.clear()
            self._dropped += len(self._seqs)
            del self._seqs[:], self._offsets[:], self._times[:]
            self._start = 0
            self._window = None
            with self.store.cache_lock:
                self._drop_cached(len(self._cache))

    def figures(self) -> tuple[int, int, int]:
        """(visible records, segments, bytes on disk)."""
        with self._lock:
            return len(self), len(self._segments), sum(segment.size for segment in self._segments)


class _KeysView:
    def __init__(self, log: ShardLog) -> None:
        self._log = log

    def __iter__(self) -> Iterator[int]:
        return iter(self._log)

    def __reversed__(self) -> Iterator[int]:
        return reversed(self._log)

    def __len__(self) -> int:
        return len(self._log)

    def __contains__(self, sequence: object) -> bool:
        return sequence in self._log


class _ValuesView(_KeysView):
    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return self._log._records(False)

    def __reversed__(self) -> Iterator[Any]:  # type: ignore[override]
        return self._log._records(True)


class _ItemsView(_KeysView):
    def __iter__(self) -> Iterator[tuple[int, Any]]:  # type: ignore[override]
        return ((record.sequence_number, record) for record in self._log._records(False))

    def __reversed__(self) -> Iterator[tuple[int, Any]]:  # type: ignore[override]
        return ((record.sequence_number, record) for record in self._log._records(True))


class RecordStore:
    """Every shard log under one root folder, and the cache budget they share."""

    def __init__(self, root: Path, cache_bytes: int = 64 * MIB, temporary: bool = False) -> None:
        self.root = root
        self.temporary = temporary
        self.cache_budget = cache_bytes
        self.cache_lock = threading.Lock()
        self.cache_bytes = 0
        #: logs by how recently records went into their cache (least recent first)
        self._recency: OrderedDict[str, ShardLog] = OrderedDict()
        self._logs: weakref.WeakValueDictionary[str, ShardLog] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()
        self.opened_records = 0
        self.scanned_records = 0
        self.collected = 0
        #: logs made from a plain dict of records (shards of an older engine's snapshot)
        self.adopted = 0

    @classmethod
    def temporary_store(cls, cache_bytes: int) -> RecordStore:
        """A store in a new temporary folder, removed when the process exits."""
        root = Path(tempfile.mkdtemp(prefix="nexus-kinesis-"))
        atexit.register(shutil.rmtree, root, True)
        return cls(root, cache_bytes, temporary=True)

    # -- logs -----------------------------------------------------------------------------
    def new_log(self) -> ShardLog:
        """An empty log for a new shard (its folder is made by its first write)."""
        with self._lock:
            log_id = secrets.token_hex(8)
            while log_id in self._logs or (self.root / log_id).exists():
                log_id = secrets.token_hex(8)
            shard_log = self._logs[log_id] = ShardLog(self, log_id)
        return shard_log

    def open(self, log_id: str) -> ShardLog:
        """The log ``log_id`` (read from disk the first time)."""
        if not _LOG_ID.fullmatch(log_id):
            raise ValueError(f"not a shard log id: {log_id!r}")
        with self._lock:
            found = self._logs.get(log_id)
            if found is not None and not found.dropped:
                return found
            shard_log = ShardLog(self, log_id)
            shard_log.load()
            self._logs[log_id] = shard_log
            self.opened_records += len(shard_log)
            self.scanned_records += shard_log.scanned
        return shard_log

    def adopt(self, records: Mapping[int, Any]) -> ShardLog:
        """A new log holding these records (moto's dict of a shard from before the store)."""
        shard_log = self.new_log()
        self.adopted += 1
        batch: list[Any] = []
        for record in records.values():
            batch.append(record)
            if len(batch) >= 1000:
                shard_log.append(batch)
                batch = []
        shard_log.append(batch)
        return shard_log

    def logs(self) -> list[ShardLog]:
        with self._lock:
            return list(self._logs.values())

    def ids_on_disk(self) -> set[str]:
        try:
            return {name for name in os.listdir(self.root) if _LOG_ID.fullmatch(name)}
        except FileNotFoundError:
            return set()

    def collect(self, keep: set[str], on_disk: set[str] | None = None) -> int:
        """Delete the folders of logs not in ``keep`` (of those in ``on_disk``, listed
        before ``keep`` was taken, when given). Returns how many went."""
        garbage = (self.ids_on_disk() if on_disk is None else on_disk) - keep
        for log_id in garbage:
            with self._lock:
                found = self._logs.pop(log_id, None)
            if found is not None:
                found.drop()
            shutil.rmtree(self.root / log_id, ignore_errors=True)
        if garbage:
            log.info("deleted the records of %d kinesis shard(s) no stream has any more", len(garbage))
        self.collected += len(garbage)
        return len(garbage)

    def flush(self) -> None:
        for shard_log in self.logs():
            try:
                shard_log.flush_index()
            except OSError as exc:
                log.warning("kinesis index of %s not written: %s", shard_log.log_id, exc)

    def wipe(self) -> None:
        """The engine was reset: every log is emptied and every file deleted."""
        for shard_log in self.logs():
            shard_log.drop()
        with self._lock:
            self._logs.clear()
        with self.cache_lock:
            self._recency.clear()
            self.cache_bytes = 0
        for log_id in self.ids_on_disk():
            shutil.rmtree(self.root / log_id, ignore_errors=True)

    # -- the cache ------------------------------------------------------------------------
    def cached(self, shard_log: ShardLog, added: int) -> None:
        """``shard_log`` cached ``added`` more bytes (call with the cache lock held)."""
        self.cache_bytes += added
        recency = self._recency
        recency[shard_log.log_id] = shard_log
        recency.move_to_end(shard_log.log_id)
        while self.cache_bytes > self.cache_budget and recency:
            log_id, victim = next(iter(recency.items()))
            victim._evict(self.cache_bytes - self.cache_budget)
            if victim._cache_bytes <= 0 or not victim._cache:
                del recency[log_id]
                if victim is shard_log:
                    break

    def health(self) -> dict[str, Any]:
        records = segments = size = 0
        logs = self.logs()
        for shard_log in logs:
            count, parts, bytes_ = shard_log.figures()
            records += count
            segments += parts
            size += bytes_
        return {
            "root": "temporary" if self.temporary else str(self.root),
            "logs": len(logs),
            "records": records,
            "segments": segments,
            "bytes": size,
            "cache_bytes": self.cache_bytes,
            "cache_budget": self.cache_budget,
            "restored_records": self.opened_records,
            "scanned_records": self.scanned_records,
            "collected_logs": self.collected,
        }


# -- the store moto's shards use --------------------------------------------------------------
_current: RecordStore | None = None


def install(store: RecordStore) -> RecordStore:
    """From now on every new moto shard keeps its records in ``store``."""
    global _current
    _current = store
    moto_compat.install_record_store(store.new_log, store.adopt)
    return store


def current_store() -> RecordStore | None:
    return _current


def open_log(log_id: str) -> ShardLog:
    """A shard's log by its id (how a snapshot refers to it)."""
    if _current is None:
        raise LookupError(f"kinesis shard log {log_id}: no record store is installed")
    return _current.open(log_id)


def records_of(shard: Any) -> ShardLog:
    """The shard's log (a shard from before the store was installed gets one now)."""
    records = shard.records
    if isinstance(records, ShardLog):
        return records
    if _current is None:
        raise LookupError("no kinesis record store is installed")
    shard.records = _current.adopt(records)
    return shard.records  # type: ignore[no-any-return]


def store_for(root: Path, cache_bytes: int = 64 * MIB) -> RecordStore:
    """The installed store if it is ``root``'s, else a new one installed."""
    if _current is not None and _current.root == root:
        return _current
    return install(RecordStore(root, cache_bytes))


def retention_micros(stream: Any, scale: float = 1.0) -> int:
    """A stream's retention period in µs (``scale`` shortens it for tests)."""
    hours = getattr(stream, "retention_period_hours", None) or 24
    return int(hours * 3600 * 1_000_000 * scale)


def apply_retention(streams: Iterable[Any], scale: float, now: float | None = None) -> int:
    """Give each shard's log its stream's retention period and expire what it hides."""
    hidden = 0
    for stream in streams:
        micros = retention_micros(stream, scale)
        for shard in list(stream.shards.values()):
            records = shard.records
            if isinstance(records, ShardLog):
                records.retention_micros = micros
                hidden += records.expire(now)
                if not shard.is_open:
                    records.close_writer()
    return hidden


# -- filling a state dir without an engine ------------------------------------------------------
#: records generated (and written) at a time by :func:`bulk_fill`
_FILL_CHUNK = 1 << 16


def bulk_fill(
    state_dir: Path,
    *,
    account: str,
    region: str,
    stream: str,
    shards: int = 4,
    records: int,
    size: int = 130,
) -> None:
    """Create ``stream`` (if missing) with ``shards`` shards in moto's backend of this
    process, and put ``records`` records of ``size`` bytes into it without an engine.

    Records are routed by the MD5 of their partition keys (``pk-<n>``), as AWS routes them,
    all arrive now, and are written to the shards' segment files directly, whole segments
    fully indexed, under ``<state_dir>/state/kinesis``: exactly what an engine that had
    accepted them would leave. A snapshot written next in the same process (``store =
    StateStore(state_dir); store.write(store.serialize(None, {}), store.generation + 1)``)
    refers to them, and an engine started on the state dir serves them. The stream's layout
    is also journaled (as the engine does before a first put), so the records come back
    even without that snapshot. No engine may run on the state dir meanwhile.
    """
    import binascii

    from emulation.core.persistence import StateStore
    from emulation.kinesis.journal import PutJournal
    from emulation.kinesis.models import ShardRouter, kinesis_backend, partition_hash

    store_for(state_dir / "state" / "kinesis")
    backend = kinesis_backend(account, region)
    target = backend.streams.get(stream)
    if target is None:
        target = backend.create_stream(stream, shards)
    journal = PutJournal(state_dir / "state")
    journal.open(StateStore(state_dir).generation)
    journal.describe(account, region, target)
    journal.close()
    router = ShardRouter(target)
    logs = [records_of(shard) for shard in router.shards]
    routed = len(logs) > 1
    micros = round(time.time() * 1_000_000)
    for start in range(0, records, _FILL_CHUNK):
        per_shard: list[list[tuple[str, str, str | None]]] = [[] for _ in logs]
        for number in range(start, min(records, start + _FILL_CHUNK)):
            key = f"pk-{number}"
            index = router.route(partition_hash(key)) if routed else 0
            raw = (b"%012d" % number).ljust(size, b"x")[:size]
            per_shard[index].append((key, binascii.b2a_base64(raw, newline=False).decode("ascii"), None))
        for shard_log, rows in zip(logs, per_shard, strict=True):
            shard_log.write_bulk(rows, micros)
