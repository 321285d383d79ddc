"""Refuse writes the state dir cannot hold, instead of acknowledging and losing them.

Most services' changes are acknowledged before the snapshot that persists them (Kinesis's
puts and every S3 change are written before their answer: the Kinesis journal, S3's rows).
On a full disk that meant S3 answered 200 to writes no snapshot could ever store.
:class:`StorageGuard` closes that gap from both sides:

* **before**: a mutating request is refused when the state dir's file system has less free
  space than its body plus a reserve (``--disk-reserve-mb``, default 64 MiB) plus the size of
  the current snapshot's service files (the next snapshot writes them again before the
  current ones go). ``statvfs`` is asked at most every 0.25 s; the bodies acknowledged and
  not yet written by a snapshot are counted against what it said.
* **after**: a snapshot that fails with an ``OSError`` (ENOSPC, EIO, EDQUOT, a read-only
  file system) marks the engine degraded until a snapshot succeeds again (the snapshot loop
  retries about once a second); so does an S3 change whose row cannot be written, and the
  request that made it gets the 503 instead of its answer (:meth:`write_failed`).

While degraded every mutating call gets a 503 ``ServiceUnavailable`` in its protocol's shape
(SDKs back off and retry it), reads are served, ``/_nexus/health`` says ``degraded`` with the
reason, and writes resume by themselves once space returns.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from werkzeug.wrappers import Response

from emulation.core import faults
from emulation.core.request import AwsRequest

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_RESERVE_MB = 64
STATVFS_EVERY = 0.25


class StorageGuard:
    """Whether the engine may acknowledge a write now (see module doc)."""

    def __init__(
        self,
        root: Path | None,
        reserve_bytes: int = DEFAULT_RESERVE_MB * MIB,
        clock: Callable[[], float] = time.monotonic,
        snapshot_bytes: Callable[[], int] = lambda: 0,
    ) -> None:
        self.root = root
        self.reserve = reserve_bytes
        self.snapshot_bytes = snapshot_bytes
        self.clock = clock
        self._lock = threading.Lock()
        self._free: int | None = None
        self._asked_at = float("-inf")
        #: bodies acknowledged but not yet on disk (the next snapshot writes them)
        self.pending = 0
        self.snapshot_error: str | None = None
        self.low_space: str | None = None
        self.refused = 0

    # -- state ----------------------------------------------------------------------------
    @property
    def degraded(self) -> str | None:
        """Why writes are refused now, or None."""
        return self.snapshot_error or self.low_space

    def snapshot_failed(self, exc: OSError) -> None:
        name = errno.errorcode.get(exc.errno or 0, "EIO")
        reason = f"the last snapshot could not be written ({name}: {exc.strerror or exc})"
        if self.snapshot_error != reason:
            log.error("state dir: %s; refusing writes until a snapshot succeeds", reason)
        self.snapshot_error = reason

    def write_failed(self, exc: OSError, what: str = "an S3 change") -> None:
        """A change could not be written before its answer (S3's rows, Kinesis records; the
        request that made it is refused): degraded, like a failed snapshot, until a snapshot
        succeeds (it writes S3's pending rows first)."""
        name = errno.errorcode.get(exc.errno or 0, "EIO")
        reason = f"{what} could not be persisted ({name}: {exc.strerror or exc})"
        if self.snapshot_error != reason:
            log.error("state dir: %s; refusing writes until a snapshot succeeds", reason)
        self.snapshot_error = reason

    def snapshot_written(self, captured: int = 0) -> None:
        """A snapshot is on disk; ``captured`` is :attr:`pending` when its state was frozen."""
        if self.snapshot_error:
            log.warning("state dir: a snapshot succeeded again; writes are accepted")
        self.snapshot_error = None
        with self._lock:
            self.pending = max(0, self.pending - captured)
            self._asked_at = float("-inf")  # what it wrote is in statvfs now

    # -- requests -------------------------------------------------------------------------
    def _free_bytes(self) -> int | None:
        """Free bytes of the state dir's file system minus the bodies not yet on disk."""
        assert self.root is not None
        now = self.clock()
        if now - self._asked_at >= STATVFS_EVERY:
            try:
                stats = os.statvfs(self.root)
            except OSError:
                return None
            self._free = stats.f_bavail * stats.f_frsize
            self._asked_at = now
        return None if self._free is None else self._free - self.pending

    def admit(self, size: int) -> str | None:
        """None when a write of ``size`` bytes may be acknowledged, else why not."""
        if self.root is None:
            return None
        with self._lock:
            free = self._free_bytes()
            if free is not None:
                # the next snapshot writes the services' files again before the current
                # generation's go: keep that much free besides the reserve
                reserve = self.reserve + self.snapshot_bytes()
                if free < size + reserve:
                    if self.low_space is None:
                        log.error("state dir %s: %d bytes free; refusing writes", self.root, free)
                    self.low_space = (
                        f"{max(free, 0) // MIB} MiB free on the state dir's file system ({self.root}), "
                        f"below the {reserve / MIB:.0f} MiB reserve (room for the next snapshot) "
                        "plus the request"
                    )
                elif self.low_space is not None and free >= size + 2 * reserve:
                    log.warning("state dir %s: space is back (%d MiB free)", self.root, free // MIB)
                    self.low_space = None
            reason = self.degraded
            if reason is None:
                self.pending += size
            else:
                self.refused += 1
            return reason

    def refusal(self, request: AwsRequest, s3: bool) -> Response | None:
        """A 503 for a mutating request the state dir cannot take, else None."""
        if request.is_read_only():
            return None
        reason = self.admit(len(request.body))
        if reason is None:
            return None
        code = "ServiceUnavailableException" if request.target else "ServiceUnavailable"
        return faults.error(
            request, s3, 503, code, f"The engine cannot persist writes now: {reason}. Retry later."
        )

    def health(self) -> dict[str, object]:
        return {
            "degraded": self.degraded,
            "reserve_mb": self.reserve // MIB,
            "refused_writes": self.refused,
        }
