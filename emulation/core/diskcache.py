"""Where the engine and the core keep what they derive from installed files (botocore's
parsed models, compiled regular expressions): ``$XDG_CACHE_HOME/nexuskit/`` (else
``~/.cache/nexuskit/``). Each cache is keyed by the versions it depends on, a file that
cannot be read is derived again, one that cannot be written is skipped, and
``NEXUSKIT_MODEL_CACHE=0`` turns them all off.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

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
