"""The journal of Kinesis stream layouts: ``state/kinesis-journal.<generation>.log``.

Records are not journaled: a put writes them to its shards' segment files before it is
answered (see :mod:`emulation.kinesis.segments`), and the segments are found again at
restart through the snapshot, which refers to each shard's log by its id. What a snapshot
may not hold yet is the stream itself: one created (or resharded) after the last snapshot.
So the first put to a stream in a journal file (and the first after a reshard) is preceded
by a ``stream`` line with the stream's shard layout and each shard's log id, one ``write``
on an ``O_APPEND`` descriptor, no fsync (a process killed with ``kill -9`` keeps what the
OS already has).

Generations follow the engine's snapshots. Journal ``G`` holds the layouts described after
snapshot ``G`` was frozen; taking snapshot ``G+1`` switches to journal ``G+1`` (in the same
frozen moment), and once ``G+1`` is durable, journals before it are deleted. After a
crash, every journal from the restored snapshot's generation on is replayed: streams and
shards the snapshot lacks are recreated with their logs.

Journals of older engines also hold ``put`` lines (the records themselves): they are
replayed once, into the shards' logs, with their original sequence numbers (records the
snapshot already holds are skipped).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from emulation.kinesis.models import (
    PendingRecords,
    ReplayCounts,
    append_replayed,
    describe_stream_layout,
    ensure_stream,
    replay_puts,
)

log = logging.getLogger(__name__)

_FILE = re.compile(r"kinesis-journal\.(\d+)\.log")
_DUMPS = json.JSONEncoder(separators=(",", ":")).encode


class PutJournal:
    """Append-only journal files of stream layouts, one per snapshot generation."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.generation = 0
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._described: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        self.closed = False
        self.bytes_written = 0
        self.lines_written = 0
        self.errors = 0
        self.replay = ReplayCounts()

    def path(self, generation: int) -> Path:
        return self.root / f"kinesis-journal.{generation}.log"

    def files(self) -> list[tuple[int, Path]]:
        """Every journal file on disk, oldest generation first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.iterdir():
            match = _FILE.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def size(self) -> int:
        total = 0
        for _, path in self.files():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                continue
        return total

    # -- writing ----------------------------------------------------------------------------
    def open(self, generation: int) -> None:
        """Append to journal ``generation`` from now on (creating it if needed)."""
        with self._lock:
            self._open(generation)

    def _open(self, generation: int) -> None:
        if self._fd is not None and generation == self.generation:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path(generation), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = fd
        self.generation = generation
        self._described.clear()
        self.closed = False

    def describe(self, account: str, region: str, stream: Any) -> None:
        """Journal the stream's layout unless this journal file already has it (called
        before records go to its shards); raises OSError if it is not written."""
        key = (account, region, stream.stream_name)
        layout = (id(stream), stream.creation_datetime, len(stream.shards))
        if self._described.get(key) == layout:
            return
        with self._lock:
            if self._fd is None:
                if self.closed:
                    # The engine is stopping: its final snapshot takes the stream.
                    return
                self._open(self.generation)
            if self._described.get(key) == layout:
                return
            line = _DUMPS({"stream": describe_stream_layout(stream), "account": account, "region": region})
            blob = (line + "\n").encode("utf-8")
            try:
                _write_all(self._fd, blob)  # type: ignore[arg-type]
            except OSError:
                self.errors += 1
                raise
            self._described[key] = layout
            self.bytes_written += len(blob)
            self.lines_written += 1

    def rotate(self, generation: int) -> None:
        """Snapshot ``generation`` is being frozen: later puts go to a new journal."""
        with self._lock:
            if self.closed:
                return
            self._open(generation)

    def prune(self, durable: int) -> None:
        """Snapshot ``durable`` is on disk: journals before it are no longer needed."""
        with self._lock:
            for generation, path in self.files():
                if generation < durable and not (self._fd is not None and generation == self.generation):
                    path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.closed = True

    def wipe(self) -> None:
        """The engine was reset: drop every journal and start an empty one."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            for _, path in self.files():
                path.unlink(missing_ok=True)
            self._described.clear()
            if not self.closed:
                self._open(self.generation)

    # -- replay -----------------------------------------------------------------------------
    def replay_from(self, generation: int) -> ReplayCounts:
        """Recreate the streams journaled from ``generation`` on (and write the records of
        an older engine's ``put`` lines to their shards)."""
        counts = ReplayCounts()
        pending: PendingRecords = {}
        for file_generation, path in self.files():
            if file_generation < generation:
                continue
            try:
                blob = path.read_bytes()
            except OSError as exc:
                log.error("journal %s unreadable (%s); its streams are lost", path.name, exc)
                continue
            for number, line in enumerate(blob.split(b"\n"), 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    if "stream" in entry:
                        ensure_stream(entry["account"], entry["region"], entry["stream"])
                    elif "put" in entry:
                        replay_puts(
                            entry["account"],
                            entry["region"],
                            entry["put"],
                            float(entry["arrived"]),
                            entry["records"],
                            counts,
                            pending,
                        )
                except (ValueError, KeyError, TypeError) as exc:
                    # A torn last line was never acknowledged; anything else is reported.
                    log.warning("journal %s line %d skipped: %s", path.name, number, exc)
        append_replayed(pending, counts)
        if counts.replayed or counts.lost:
            log.info(
                "kinesis journal replayed %d records of an older engine (%d already in the "
                "snapshot, %d lost)",
                counts.replayed,
                counts.present,
                counts.lost,
            )
        self.replay = counts
        return counts


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        written = os.write(fd, view)
        view = view[written:]
