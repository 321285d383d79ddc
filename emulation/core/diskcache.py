"""Where the engine and the core keep what they derive from installed files (botocore's
parsed models, compiled regular expressions): ``$XDG_CACHE_HOME/nexuskit/`` (else
``~/.cache/nexuskit/``). Each cache is keyed by the versions it depends on, a file that
cannot be read is derived again, one that cannot be written is skipped, and
``NEXUSKIT_MODEL_CACHE=0`` turns them all off.
"""

from __future__ import annotations

import logging
import marshal
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: set to 0 to derive everything every time (no cache on disk)
CACHE_ENV = "NEXUSKIT_MODEL_CACHE"


def enabled() -> bool:
    return os.environ.get(CACHE_ENV, "1") != "0"


def cache_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nexuskit"


def interpreter_tag() -> str:
    """The exact interpreter (``cpython-311-3.11.7``): what it compiles is its own."""
    return f"{sys.implementation.cache_tag}-{'.'.join(map(str, sys.version_info[:3]))}"


def write_atomically(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` whole (readers see the old file or the new one);
    a folder or disk that refuses it is logged and skipped."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("cache: cannot write %s: %s", path, exc)


class KeptCompilations:
    """What processes compile, kept by key for the next ones.

    Only what two processes compiled is kept: an entry compiled for the first time waits in
    a second file (``.seen``, the newest ``limit`` entries) until another process compiles
    it again. What only one process ever compiles (patterns made from the requests it
    served: resource ids, policy ARNs) never reaches the kept file that every start reads.
    :meth:`load` reads the kept file; :meth:`add` records what was compiled anew (kept in
    memory for this process's lookups until :meth:`release`); :meth:`save` merges both
    files. A file that cannot be read counts as empty; a temporary file a killed writer
    left behind is removed by the next save."""

    def __init__(self, path: Callable[[], Path], limit: int, longest: int = 20_000) -> None:
        self._path = path
        self.limit = limit
        #: texts longer than this are compiled every time (kept files stay small)
        self.longest = longest
        self.kept: dict[Any, Any] = {}
        self._new: dict[Any, Any] = {}
        self._released = False
        self._lock = threading.Lock()

    def path(self) -> Path:
        return self._path()

    def seen_path(self) -> Path:
        path = self.path()
        return path.with_name(path.name + ".seen")

    def load(self) -> None:
        self.kept.update(_read_marshal(self.path()))

    def get(self, key: Any) -> Any:
        return self.kept.get(key)

    def forget(self, key: Any) -> None:
        self.kept.pop(key, None)

    def add(self, key: Any, value: Any, length: int) -> None:
        """Record ``value``, compiled anew from a text of ``length`` characters."""
        if length <= self.longest and len(self._new) < self.limit:
            self._new[key] = value
            if not self._released:
                self.kept[key] = value

    def is_new(self, key: Any) -> bool:
        return key in self._new

    def save(self) -> int:
        """Merge what was compiled since the last save into the files; returns how many
        entries moved from seen to kept."""
        with self._lock:
            if not self._new:
                return 0
            fresh, self._new = self._new, {}
        path, seen_path = self.path(), self.seen_path()
        kept, seen = _read_marshal(path), _read_marshal(seen_path)
        promoted = 0
        for key, value in fresh.items():
            if key in kept:
                continue
            if seen.pop(key, None) is not None and len(kept) < self.limit:
                kept[key] = value
                promoted += 1
            else:
                seen[key] = value
        for key in list(seen)[: max(0, len(seen) - self.limit)]:  # the oldest first
            del seen[key]
        if promoted:
            write_atomically(path, marshal.dumps(kept))
        write_atomically(seen_path, marshal.dumps(seen))
        _remove_stale_temporaries(path.parent)
        return promoted

    def release(self) -> None:
        """The start is over: drop the kept entries from memory, and keep no more."""
        self._released = True
        self.kept.clear()


def _remove_stale_temporaries(folder: Path, age_s: float = 600.0) -> None:
    now = time.time()
    for tmp in folder.glob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > age_s:
                tmp.unlink()
        except OSError:
            continue


def _read_marshal(path: Path) -> dict[Any, Any]:
    try:
        value = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}
