"""Give memory a service no longer needs back to the system once it has started.

A service's start (imports, settings, the app, its first AWS clients) leaves garbage in the
C heap: glibc keeps freed pages of its arenas mapped, so the pod's RSS stays at its
start-up peak. :func:`release_free_memory` collects Python's garbage and then asks glibc to
return its free pages (``malloc_trim``; elsewhere it is a no-op); :func:`released_after_start`,
around an app's running life, does it once, a few seconds after the app has started (after
its first probes and background starts).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)
#: seconds after the app's start: its background work (bootstrap, first probes) has run
AFTER_START_S = 5.0
_libc: list[ctypes.CDLL | None] = []


def _malloc_trim() -> bool:
    if not _libc:
        try:
            _libc.append(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"))
        except OSError:
            _libc.append(None)
    libc = _libc[0]
    if libc is None or not hasattr(libc, "malloc_trim"):
        return False
    libc.malloc_trim(0)
    return True


def release_free_memory() -> None:
    """Collect garbage, then return the C heap's free pages to the system (glibc only)."""
    gc.collect()
    _malloc_trim()


@contextmanager
def released_after_start(delay: float = AFTER_START_S) -> Iterator[None]:
    """For an app's lifespan: :func:`release_free_memory` once, ``delay`` seconds after the
    app starts serving, on its running loop (a full collection of a service's heap takes tens
    of milliseconds, on the loop rather than on a thread that would get a malloc arena of its
    own); cancelled if the app stops first. Without a running loop it does nothing."""
    try:
        handle: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(delay, release_free_memory)
    except RuntimeError:
        handle = None
    try:
        yield
    finally:
        if handle is not None:
            handle.cancel()
