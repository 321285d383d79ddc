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
import threading
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
    """What a process compiles, kept by key: read from one ``marshal`` file when installed,
    added to in memory (at most ``limit`` entries), merged into the file by :meth:`save`,
    dropped from memory by :meth:`release`. A file that cannot be read counts as empty."""

    def __init__(self, path: Callable[[], Path], limit: int) -> None:
        self._path = path
        self.limit = limit
        self.kept: dict[Any, Any] = {}
        self._new: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def path(self) -> Path:
        return self._path()

    def load(self) -> None:
        self.kept.update(_read_marshal(self.path()))

    def get(self, key: Any) -> Any:
        return self.kept.get(key)

    def forget(self, key: Any) -> None:
        self.kept.pop(key, None)

    def add(self, key: Any, value: Any) -> None:
        if len(self.kept) < self.limit:
            self.kept[key] = value
            self._new[key] = value

    def is_new(self, key: Any) -> bool:
        return key in self._new

    def save(self) -> int:
        """Add what was compiled since the last save to the file; returns how many."""
        with self._lock:
            if not self._new:
                return 0
            fresh, self._new = self._new, {}
        path = self.path()
        merged = _read_marshal(path)
        for key, value in fresh.items():
            if len(merged) >= self.limit:
                break
            merged[key] = value
        write_atomically(path, marshal.dumps(merged))
        return len(fresh)

    def release(self) -> None:
        self.kept.clear()


def _read_marshal(path: Path) -> dict[Any, Any]:
    try:
        value = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}
