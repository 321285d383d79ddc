"""Files that hold keys, tokens or state: written whole, readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str, *, private_folder: bool = False) -> None:
    """Replace ``path`` atomically with a file only its owner reads (0600).

    ``private_folder`` also creates the folder and makes it 0700 (a folder of tokens).
    """
    if private_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
